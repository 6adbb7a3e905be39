"""The pipeline authoring/ -> solutions/ -> chapters/ is reproducible, and notebooks are stored clean.

- solutions/NN_topic/*.ipynb are exactly what genlab.authoring builds from authoring/NN_topic/*.py;
- chapters/NN_topic/*.ipynb are exactly what nbgrader's generate_assignment makes from solutions/;
- no stored notebook carries outputs or execution counts;
- a chapter's two notebooks have the same exercises, points and (shared) test cells.
"""
import json
from pathlib import Path

import pytest

from genlab import authoring
from genlab.release import chapters_in, generate

ROOT = Path(__file__).resolve().parents[1]
SOURCES = authoring.chapter_sources(ROOT)
CHAPTERS = chapters_in(ROOT)


def test_every_chapter_has_a_source_and_both_notebooks():
    assert CHAPTERS, "no chapters under solutions/"
    assert sorted(s.parent.name for s in SOURCES) == CHAPTERS
    for src in SOURCES:
        for fw in ("pytorch", "tensorflow"):
            assert (ROOT / "solutions" / src.parent.name / f"{src.stem}_{fw}.ipynb").is_file()
            assert (ROOT / "chapters" / src.parent.name / f"{src.stem}_{fw}.ipynb").is_file()


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.parent.name)
def test_solutions_are_built_from_authoring(src, tmp_path):
    built = authoring.build_chapter(src, tmp_path)
    for path in built:
        stored = ROOT / "solutions" / src.parent.name / path.name
        assert stored.read_text() == path.read_text(), f"{stored} is stale: run `make release`"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapters_are_what_nbgrader_generates(chapter, tmp_path):
    out = generate(ROOT, chapter, tmp_path)
    made = sorted(p.name for p in out.iterdir())
    stored = sorted(p.name for p in (ROOT / "chapters" / chapter).iterdir())
    assert made == stored
    for name in made:
        assert (out / name).read_bytes() == (ROOT / "chapters" / chapter / name).read_bytes(), \
            f"chapters/{chapter}/{name} differs from the release: run `make release`, never edit chapters/ by hand"


ALL_NOTEBOOKS = sorted((ROOT / "solutions").glob("*/*.ipynb")) + sorted((ROOT / "chapters").glob("*/*.ipynb"))


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_notebooks_are_stored_clean(path):
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [] and cell.get("execution_count") is None, f"{path}: stored outputs"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_released_notebooks_hide_solutions_and_hidden_tests(chapter):
    for path in (ROOT / "chapters" / chapter).glob("*.ipynb"):
        text = path.read_text()
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "_oracle("):
            assert marker not in text, f"{path} leaks {marker!r}"


def _graded(path):
    nb = json.loads(path.read_text())
    return [(c["metadata"]["nbgrader"], "".join(c["source"])) for c in nb["cells"] if "nbgrader" in c["metadata"]]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_both_frameworks_share_exercises_points_and_tests(chapter):
    torch_nb, tf_nb = sorted((ROOT / "solutions" / chapter).glob("*_pytorch.ipynb")), \
        sorted((ROOT / "solutions" / chapter).glob("*_tensorflow.ipynb"))
    for a, b in zip(torch_nb, tf_nb):
        ga, gb = _graded(a), _graded(b)
        assert [m["grade_id"] for m, _ in ga] == [m["grade_id"] for m, _ in gb]
        tests_a = [(m["grade_id"], m["points"], s.replace("genlab.torch", "genlab.FW")) for m, s in ga if m.get("grade")]
        tests_b = [(m["grade_id"], m["points"], s.replace("genlab.tf", "genlab.FW")) for m, s in gb if m.get("grade")]
        assert tests_a == tests_b, "test cells differ between the frameworks"
        assert len(tests_a) >= 6, "a chapter needs at least 6 autograded exercises"
        for m, s in ga + gb:
            if m.get("grade"):
                assert s.lstrip().startswith('"""'), f"{m['grade_id']}: a test cell starts with a docstring"
                assert "### BEGIN HIDDEN TESTS" in s, f"{m['grade_id']}: no hidden tests"


def test_authoring_rejects_malformed_sources(tmp_path):
    cases = {
        "stray text before the first cell": "x = 1\n# %%\ny = 2\n",
        "test cell without points": "# %% test id=a_test\nassert True\n",
        "solution without markers": "# %% solution id=a\ndef f():\n    return 1\n",
        "unknown header token": "# %% colour=blue\nx = 1\n",
        "markdown line without '# '": "# %% [markdown]\nplain text\n",
    }
    for name, text in cases.items():
        src = tmp_path / "t.py"
        src.write_text(text)
        with pytest.raises(authoring.AuthoringError):
            authoring.build_chapter(src, tmp_path / "out")
