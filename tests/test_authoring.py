"""genlab.authoring: the build of a chapter source (authoring/NN_topic/topic.py) into two notebooks.

Sources are real Python: code cells write ``genlab.fw``, which the build rewrites token by token;
control characters and unpaired math delimiters are rejected with file and line; cell ids are
derived from content, so inserting a cell changes no other id. (The whole-course checks, built
notebooks equal to the stored ones, live in test_notebooks_in_sync.py.)
"""
import json
from pathlib import Path

import nbformat
import pytest

from genlab import authoring

ROOT = Path(__file__).resolve().parents[1]


def build(tmp_path, text, framework="torch"):
    src = tmp_path / "t.py"
    src.write_text(text, encoding="utf-8")
    return authoring.build_notebook(authoring.parse(src), framework, src)


def rejects(tmp_path, text, *needles):
    src = tmp_path / "t.py"
    src.write_text(text, encoding="utf-8")
    with pytest.raises(authoring.AuthoringError) as err:
        authoring.build_chapter(src, tmp_path / "out")
    for needle in needles:
        assert needle in str(err.value), str(err.value)
    return str(err.value)


# --- genlab.fw -> genlab.torch / genlab.tf ---------------------------------------------------------

def test_fw_is_rewritten_per_framework(tmp_path):
    text = ("# %%\nimport genlab.fw as _fw\nfrom genlab.fw import grad_of, to_tensor as T\n"
            "from genlab.fw.reference import train_vae\nw = genlab.fw.get_weights(net)\n")
    for fw in ("torch", "tf"):
        src = build(tmp_path, text, fw).cells[0].source
        assert src == (f"import genlab.{fw} as _fw\nfrom genlab.{fw} import grad_of, to_tensor as T\n"
                       f"from genlab.{fw}.reference import train_vae\nw = genlab.{fw}.get_weights(net)")


def test_fw_rewrite_is_token_exact():
    code = "a = genlab.fwd\nb = my_genlab.fw\nc = x.genlab.fw\nd = genlab.fw.x  # genlab.fw\ne = 'genlab.fw'"
    assert authoring.rewrite_fw(code, "tf") == (
        "a = genlab.fwd\nb = my_genlab.fw\nc = x.genlab.fw\nd = genlab.tf.x  # genlab.fw\ne = 'genlab.fw'")


def test_fw_left_in_a_string_or_comment_is_rejected(tmp_path):
    rejects(tmp_path, "# %%\nx = 1\nname = 'genlab.fw'\n", "t.py:3:", "does not rewrite")
    rejects(tmp_path, "# %%\nx = 1  # uses genlab.fw\n", "t.py:2:")
    rejects(tmp_path, "# %%\nx = 1\ny = a.genlab.fw\n", "t.py:3:")


def test_from_genlab_import_fw_is_rejected(tmp_path):
    rejects(tmp_path, "# %%\n\nfrom genlab import fw\n", "t.py:3:", "dotted name")


def test_placeholders_are_for_markdown_only(tmp_path):
    nb = build(tmp_path, "# %% [markdown]\n# **{{framework}}**: `genlab.{{fw}}.MLP`\n", "tf")
    assert nb.cells[0].source == "**TensorFlow**: `genlab.tf.MLP`"
    rejects(tmp_path, "# %%\nx = 1\ny = {{fw}}.float64\n", "t.py:3:", "{{fw}} in a code cell")


def test_code_cells_must_be_python(tmp_path):
    rejects(tmp_path, "# %% [markdown]\n# hi\n\n# %%\nx = 1\ny = (\n", "t.py:")
    rejects(tmp_path, "# %%\nx = 1\nif x\n", "t.py:3:")


def test_built_notebooks_name_a_real_framework_only():
    for path in sorted((ROOT / "solutions").glob("*/*.ipynb")) + sorted((ROOT / "chapters").glob("*/*.ipynb")):
        text = path.read_text(encoding="utf-8")
        assert "genlab.fw" not in text and "{{" not in text, path
        fw = "torch" if path.stem.endswith("_pytorch") else "tf"
        other = "genlab.tf" if fw == "torch" else "genlab.torch"
        assert f"genlab.{fw}" in text and other not in text, path


def test_editor_stand_in_cannot_be_imported():
    with pytest.raises(ImportError, match="genlab release"):
        import genlab.fw  # noqa: F401


# --- characters and maths ------------------------------------------------------------------------

@pytest.mark.parametrize("char, hint", [("\b", "backspace"), ("\f", "form feed"), ("\x07", "bell"),
                                         ("\r", "carriage return"), ("\x1b", "control character")])
def test_control_characters_are_rejected(tmp_path, char, hint):
    rejects(tmp_path, f"# %% [markdown]\n# fine\n# weighting by ${char}eta$\n", "t.py:3:", hint)
    rejects(tmp_path, f"# %%\nx = 1\ns = '{char}'\n", "t.py:3:")


def test_a_tab_in_markdown_is_rejected_but_allowed_in_code(tmp_path):
    rejects(tmp_path, "# %% [markdown]\n# $\theta$\n", "t.py:2:", "tab")
    build(tmp_path, "# %%\ns = 'a\tb'\n")


@pytest.mark.parametrize("text, line", [
    ("# one $x$ and $y\n", 2),
    ("# $$\n# x = 1\n#\n# more\n", 2),
    ("# line\n# $a$ then $b\n#\n# c$\n", 3),            # inline maths does not cross a paragraph
    ("# $$a$$ and $$b\n", 2),
])
def test_unpaired_math_delimiters_are_rejected(tmp_path, text, line):
    rejects(tmp_path, "# %% [markdown]\n" + text, f"t.py:{line}:", "math")


@pytest.mark.parametrize("text", [
    "# $a$ and $$b$$ and $$\n# c \\text{ $x$ }\n# $$\n",
    "# costs \\$5 and \\$10; `echo $HOME` and ``a $ b``\n",
    "# ```\n# echo $PATH\n# ```\n# $x$\n",
    "# $a$$b$ adjacent\n",
    "# inline across lines $a\n# + b$ in one paragraph\n",
])
def test_paired_math_delimiters_pass(tmp_path, text):
    build(tmp_path, "# %% [markdown]\n" + text)


def test_errors_name_file_and_line_for_markdown_prefix(tmp_path):
    rejects(tmp_path, "# %% [markdown]\n# ok\nplain text\n", "t.py:3:")


# --- cell ids ------------------------------------------------------------------------------------

def _ids(nb):
    return [c.id for c in nb.cells]


def test_inserting_a_cell_changes_no_other_id(tmp_path):
    cells = ["# %% [markdown]\n# intro\n", "# %%\nx = 1\n", "# %% solution id=ex\ndef f():\n"
             "    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n", "# %%\ny = 2\n"]
    before = build(tmp_path, "".join(cells))
    after = build(tmp_path, "".join(cells[:1] + ["# %%\nnew = 0\n"] + cells[1:]))
    assert [i for i in _ids(after) if i in _ids(before)] == _ids(before)
    assert len(_ids(after)) == len(_ids(before)) + 1
    assert _ids(before)[2] == "ex"


def test_repeated_cells_get_unique_deterministic_ids(tmp_path):
    text = "# %%\nshow()\n# %% [markdown]\n# x\n# %%\nshow()\n# %%\nshow()\n"
    nb = build(tmp_path, text)
    ids = _ids(nb)
    assert len(set(ids)) == len(ids) == 4
    assert ids[2] == ids[0] + "-2" and ids[3] == ids[0] + "-3"
    assert ids == _ids(build(tmp_path, text))
    nbformat.validate(nb)


def test_stored_notebooks_have_unique_content_ids():
    for path in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        ids = [c["id"] for c in json.loads(path.read_text())["cells"]]
        assert len(set(ids)) == len(ids), path
        assert all(i.startswith("c-") or "nbgrader" in c["metadata"]
                   for i, c in zip(ids, json.loads(path.read_text())["cells"])), path


# --- genlab release [CHAPTER ...] ----------------------------------------------------------------

def _course(tmp_path):
    for name in ("02_vae", "03_gan"):
        (tmp_path / "authoring" / name).mkdir(parents=True)
        (tmp_path / "authoring" / name / f"{name[3:]}.py").write_text("# %% [markdown]\n# hi\n\n# %%\nx = 1\n")
    return tmp_path


def test_release_one_chapter_builds_and_generates_that_chapter_only(tmp_path, monkeypatch):
    from genlab import release

    root, generated = _course(tmp_path), []
    monkeypatch.setattr(release, "generate", lambda r, ch, out: generated.append(ch) or out / ch)
    release.release(root, ["03_gan/"])
    assert generated == ["03_gan"]
    assert sorted(p.name for p in (root / "solutions").iterdir()) == ["03_gan"]
    assert sorted(p.name for p in (root / "solutions" / "03_gan").iterdir()) == ["gan_pytorch.ipynb",
                                                                                 "gan_tensorflow.ipynb"]
    release.release(root)
    assert generated == ["03_gan", "02_vae", "03_gan"]


def test_release_rejects_an_unknown_chapter_naming_the_known_ones(tmp_path, monkeypatch, capsys):
    from genlab import release

    root = _course(tmp_path)
    monkeypatch.setattr(release, "generate", lambda *a: pytest.fail("nothing is generated"))
    with pytest.raises(ValueError, match="unknown chapter 'vae'; known: 02_vae, 03_gan"):
        release.release(root, ["02_vae", "vae"])
    assert not (root / "solutions").exists()
    monkeypatch.setattr(release, "course_root", lambda: root)
    assert release.main(["99_nope"]) == 2
    assert "known: 02_vae, 03_gan" in capsys.readouterr().err
