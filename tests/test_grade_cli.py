"""`genlab grade`: one submission, graded with nbgrader in a throwaway copy of a course.

Uses the small fixture course in tests/fixtures/grading/ (regenerate it with
tests/fixtures/grading/make_fixtures.py): 01_fixture/fixture.ipynb has test_add (2 points) and
test_mean (3 points), each with visible and hidden tests. Tests that start a kernel are marked
slow; the bad-input tests never get that far.
"""
from __future__ import annotations

import hashlib
import html
import json
import re
import shutil
import tempfile
from pathlib import Path

import nbformat
import pytest

from genlab.grading import (BadSubmission, GradeResult, KernelLauncher, grade_notebook, kernel_env,
                            resolve_kernel)
from genlab.grading.cli import grade_main
from genlab.grading.submission import identify

FIX = Path(__file__).resolve().parent / "fixtures" / "grading"
COURSE = FIX / "course"
SOURCE = COURSE / "solutions" / "01_fixture" / "fixture.ipynb"
RELEASED = COURSE / "chapters" / "01_fixture" / "fixture.ipynb"
JSON_KEYS = {"assignment", "notebook", "score", "max_score", "tests", "cell_errors"}
TEST_KEYS = {"grade_id", "score", "max_score", "error"}


def sub(case: str) -> Path:
    return FIX / "submissions" / case / "01_fixture" / "fixture.ipynb"


def run_grade(capsys, *args) -> tuple[int, str, str]:
    rc = grade_main([str(a) for a in args])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def grade_json(capsys, path, *extra) -> dict:
    rc, out, err = run_grade(capsys, path, "--json", "--course", COURSE, *extra)
    assert rc == 0, err
    data = json.loads(out)  # exactly one JSON object on stdout
    assert set(data) == JSON_KEYS and all(set(t) == TEST_KEYS for t in data["tests"])
    return data


def by_grade_id(data: dict) -> dict:
    return {t["grade_id"]: t for t in data["tests"]}


def assert_bad_input(capsys, path, fragment: str, *extra) -> str:
    rc, out, err = run_grade(capsys, path, "--course", COURSE, *extra)
    assert rc == 2, (out, err)
    assert out == ""
    assert err.startswith("genlab grade: ") and err.count("\n") == 1, err
    assert fragment in err, err
    return err


def snapshot(root: Path) -> dict:
    return {str(p.relative_to(root)): (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(root.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


def hidden_lines(path: Path) -> list[str]:
    """The lines between BEGIN/END HIDDEN TESTS in the source notebook."""
    lines, inside = [], False
    for cell in nbformat.read(path, as_version=4).cells:
        for line in cell.source.splitlines():
            if "BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "END HIDDEN TESTS" in line:
                inside = False
            elif inside and line.strip():
                lines.append(line.strip())
    return lines


def html_text(path: Path) -> str:
    """The feedback's visible text (highlighting splits code into many <span>s)."""
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8")))


@pytest.fixture
def private_tmp(tmp_path, monkeypatch) -> Path:
    """Point tempfile at an empty folder, to check that grading leaves nothing behind."""
    d = tmp_path / "tmp"
    d.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(d))
    return d


# --- bad input: exit 2 with a one-line reason, no kernel started ---------------------------

def test_missing_file(capsys, tmp_path):
    assert_bad_input(capsys, tmp_path / "01_fixture" / "fixture.ipynb", "no such file")


def test_not_json(capsys):
    assert_bad_input(capsys, sub("not_json"), "not JSON")


def test_json_but_not_a_notebook(capsys):
    assert_bad_input(capsys, sub("not_notebook"), "not a Jupyter notebook")


def test_nbformat_3_is_refused(capsys, tmp_path):
    p = tmp_path / "01_fixture" / "fixture.ipynb"
    p.parent.mkdir()
    p.write_text(json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": []}))
    assert_bad_input(capsys, p, "nbformat 4")


def test_invalid_notebook_is_refused(capsys, tmp_path):
    nb = json.loads(sub("correct").read_text())
    del nb["cells"][2]["source"]
    p = tmp_path / "01_fixture" / "fixture.ipynb"
    p.parent.mkdir()
    p.write_text(json.dumps(nb))
    assert_bad_input(capsys, p, "not a valid notebook")


def test_not_an_ipynb(capsys, tmp_path):
    p = tmp_path / "01_fixture" / "fixture.json"
    p.parent.mkdir()
    shutil.copy(sub("correct"), p)
    assert_bad_input(capsys, p, "expected a .ipynb file")


def test_unknown_chapter(capsys, tmp_path):
    p = tmp_path / "99_nope" / "fixture.ipynb"
    p.parent.mkdir()
    shutil.copy(sub("correct"), p)
    assert_bad_input(capsys, p, "unknown chapter '99_nope'")


def test_unknown_notebook(capsys, tmp_path):
    p = tmp_path / "01_fixture" / "other.ipynb"
    p.parent.mkdir()
    shutil.copy(sub("correct"), p)
    assert_bad_input(capsys, p, "unknown notebook 'other'")


def test_duplicated_cell_ids(capsys):
    assert_bad_input(capsys, sub("dup_cell_ids"), "duplicated cell id")


def test_duplicated_grade_ids(capsys):
    assert_bad_input(capsys, sub("dup_grade_ids"), "duplicated grade_id 'test_add'")


def test_unknown_kernel(capsys):
    assert_bad_input(capsys, sub("correct"), "unknown kernel", "--kernel", "no-such-kernel-4a1f")


def test_not_a_course(capsys, tmp_path):
    rc, out, err = run_grade(capsys, sub("correct"), "--course", tmp_path)
    assert rc == 2 and err.startswith("genlab grade: not a course")


def test_bad_timeout_and_help(capsys):
    assert run_grade(capsys, sub("correct"), "--timeout", "0")[0] == 2
    rc, out, _ = run_grade(capsys, "--help")
    assert rc == 0 and "--feedback" in out and "--full" in out


def test_library_raises_bad_submission():
    with pytest.raises(BadSubmission, match="not JSON"):
        grade_notebook(sub("not_json"), course_root=COURSE)


# --- pieces, without a kernel ---------------------------------------------------------------

@pytest.mark.parametrize("rel", ["chapters/02_vae/vae_pytorch.ipynb", "x/02_vae/vae_pytorch.ipynb",
                                 "submitted/alice/02_vae/vae_pytorch.ipynb"])
def test_assignment_and_notebook_come_from_the_path(tmp_path, rel):
    p = tmp_path / rel
    p.parent.mkdir(parents=True)
    p.write_text("{}")
    s = identify(p)
    assert (s.assignment, s.notebook) == ("02_vae", "vae_pytorch")


def test_quick_and_full_flags_reach_the_kernel_env(capsys, monkeypatch):
    assert kernel_env(quick=True) == {"GENLAB_QUICK": "1"}
    assert kernel_env(quick=False) == {"GENLAB_QUICK": "0"}  # explicit: the caller may have QUICK=1
    calls = []

    def fake(path, **kw):
        calls.append(kw)
        return GradeResult("01_fixture", "fixture", 0.0, 0.0, [])

    monkeypatch.setattr("genlab.grading.grade.grade_notebook", fake)
    run_grade(capsys, sub("correct"), "--json")
    run_grade(capsys, sub("correct"), "--full", "--timeout", "7", "--kernel", "python3")
    assert calls[0]["quick"] is True and calls[0]["timeout"] == 300 and calls[0]["kernel"] is None
    assert calls[1]["quick"] is False and calls[1]["timeout"] == 7 and calls[1]["kernel"] == "python3"


def test_kernel_launcher_is_the_one_place_for_a_sandbox(tmp_path):
    from jupyter_client.kernelspec import KernelSpecManager

    default = resolve_kernel()
    assert default == ("genlab" if "genlab" in KernelSpecManager().find_kernel_specs() else "python3")
    launcher = KernelLauncher.from_kernelspec(None, env=kernel_env(True), wrapper=["sandbox", "--"])
    assert launcher.command()[:2] == ["sandbox", "--"] and "{connection_file}" in launcher.command()
    name = launcher.install(tmp_path)
    spec = json.loads((tmp_path / "kernels" / name / "kernel.json").read_text())
    assert spec["argv"] == launcher.command() and spec["env"]["GENLAB_QUICK"] == "1"


def test_hide_hidden_tests_strips_the_source():
    from genlab.grading.preprocessors import HideHiddenTests

    md = {"nbgrader": {"grade": True, "solution": False, "grade_id": "t", "points": 1, "locked": True}}
    verdict = nbformat.v4.new_output("error", ename="AssertionError", evalue="f(x) is wrong",
                                     traceback=["in a hidden test", "AssertionError: f(x) is wrong"])
    cell = nbformat.v4.new_code_cell(
        "assert f(1) == 1\n### BEGIN HIDDEN TESTS\nassert f(SECRET_7) == 2\n### END HIDDEN TESTS",
        metadata=md, outputs=[verdict])
    student = nbformat.v4.new_code_cell("# BEGIN HIDDEN TESTS, says the student")
    nb = nbformat.v4.new_notebook(cells=[student, cell])
    nb, _ = HideHiddenTests().preprocess(nb, {})
    assert "SECRET_7" not in json.dumps(nb)
    assert nb.cells[1].source == "assert f(1) == 1"
    assert nb.cells[1].outputs == [verdict]  # the judge's verdict never quotes a hidden line
    assert nb.cells[0].source == "# BEGIN HIDDEN TESTS, says the student"


# --- grading runs (each starts a kernel) ----------------------------------------------------

@pytest.mark.slow
def test_correct_submission_full_marks_course_untouched(capsys, private_tmp):
    before = snapshot(COURSE)
    data = grade_json(capsys, sub("correct"))
    assert data["assignment"] == "01_fixture" and data["notebook"] == "fixture"
    assert (data["score"], data["max_score"]) == (5, 5)
    assert [(t["grade_id"], t["score"], t["max_score"], t["error"]) for t in data["tests"]] == [
        ("test_add", 2, 2, None), ("test_mean", 3, 3, None)]
    assert snapshot(COURSE) == before  # nothing written into the course
    assert list(private_tmp.iterdir()) == []  # temporary course removed


@pytest.mark.slow
def test_released_untouched_scores_zero_table(capsys):
    rc, out, err = run_grade(capsys, RELEASED, "--course", COURSE)
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0] == "01_fixture/fixture"
    rows = {ln.split()[0]: ln.split() for ln in lines[1:] if ln and not ln.startswith("-")}
    # the judge reports what the student's code raised, and says it was their code
    assert " ".join(rows["test_add"]) == "test_add 0 2 NotImplementedError: (raised by your code)"
    assert " ".join(rows["test_mean"]) == "test_mean 0 3 NotImplementedError: (raised by your code)"
    assert rows["total"] == ["total", "0", "5"]


@pytest.mark.slow
def test_partly_wrong_with_feedback_without_hidden_tests(capsys, tmp_path):
    fb = tmp_path / "feedback"
    data = grade_json(capsys, sub("partial"), "--feedback", fb)
    tests = by_grade_id(data)
    assert (data["score"], data["max_score"]) == (2, 5)
    assert tests["test_add"]["error"] is None and tests["test_add"]["score"] == 2
    # mean() rounds: the visible test passes, the hidden one fails (and stderr does not help)
    assert tests["test_mean"]["score"] == 0 and tests["test_mean"]["error"].startswith("AssertionError: hidden mean")

    page = fb / "fixture.html"
    raw, text = page.read_text(encoding="utf-8"), html_text(page)
    secrets = hidden_lines(SOURCE)
    assert len(secrets) == 6 and "# HIDDEN-TEST-SECRET-add-7f3a" in secrets
    for line in secrets:  # not in the code, not in a traceback
        assert line not in text, line
    assert "HIDDEN-TEST-SECRET" not in raw and "_HIDDEN_CASES_qz7" not in raw
    assert 'assert_close(mean([1, 2, 3]), 2, "mean([1, 2, 3])")' in text  # visible test
    assert "STUDENT-ROUNDING-MARKER" in text  # the student's code
    assert "GENLAB_QUICK=1" in text  # graded in QUICK mode


@pytest.mark.slow
def test_warnings_on_stderr_keep_full_marks():
    result = grade_notebook(sub("stderr"), course_root=COURSE, timeout=60)
    assert isinstance(result, GradeResult)
    assert (result.score, result.max_score) == (5, 5)
    assert all(t.error is None and t.score == t.max_score for t in result.tests)


@pytest.mark.slow
def test_kernel_that_dies_is_exit_2_not_a_grade(capsys, private_tmp):
    rc, out, err = run_grade(capsys, sub("exit"), "--json", "--course", COURSE, "--quiet")
    assert rc == 2 and out == ""
    assert err.startswith("genlab grade: kernel died") and err.count("\n") == 1
    assert list(private_tmp.iterdir()) == []


@pytest.mark.slow
def test_cell_timeout_scores_zero_and_the_rest_is_graded(capsys):
    # The fixture course's config sets Execute.timeout = 300; --timeout must win.
    data = grade_json(capsys, sub("loop"), "--timeout", "3")
    tests = by_grade_id(data)
    assert tests["test_add"]["score"] == 2 and tests["test_add"]["error"] is None
    assert tests["test_mean"]["score"] == 0
    assert tests["test_mean"]["error"].startswith("CellTimeoutError")
    assert data["score"] == 2


@pytest.mark.slow
def test_deleted_test_cell_scores_zero_and_edited_tests_are_restored(capsys, tmp_path):
    nb = json.loads(sub("correct").read_text())
    assert [c["metadata"]["nbgrader"]["grade_id"] for c in nb["cells"][2:6]] == [
        "add", "test_add", "mean", "test_mean"]
    nb["cells"][2]["source"] = "def add(a, b):\n    return 0  # wrong"
    nb["cells"][3]["source"] = "pass  # the student's own 'test'"  # nbgrader restores the real one
    del nb["cells"][5]  # test_mean deleted
    p = tmp_path / "01_fixture" / "fixture.ipynb"
    p.parent.mkdir()
    p.write_text(json.dumps(nb))
    data = grade_json(capsys, p)
    tests = by_grade_id(data)
    assert (data["score"], data["max_score"]) == (0, 5)
    assert tests["test_add"]["error"].startswith("AssertionError: add(1, 2) should be 3")
    assert tests["test_mean"]["score"] == 0 and tests["test_mean"]["error"].startswith("MissingCell")


# --- the sandbox (autograder/SECURITY.md) ---------------------------------------------------

def test_refuses_without_a_sandbox(capsys, monkeypatch):
    from genlab.grading import sandbox

    monkeypatch.setattr(sandbox, "probe", lambda: "bubblewrap (bwrap) is not installed (test)")
    rc, out, err = run_grade(capsys, sub("correct"), "--course", COURSE, "--quiet")
    assert rc == 1 and out == ""
    assert err.startswith("genlab grade: refusing to run student code without a sandbox: bubblewrap"), err
    assert "--unsafe" in err


def test_sandbox_command_hides_the_course_and_the_network(tmp_path):
    from genlab.grading import sandbox

    dirs = sandbox.SandboxDirs.make(tmp_path / "box", tmp_path / "course" / "autograded" / "s" / "a")
    cmd = sandbox.wrapper(dirs, sandbox.Limits(cpu_seconds=60), None, [sandbox.genlab_package_dir()])
    text = " ".join(cmd)
    for flag in ("--unshare-net", "--unshare-pid", "--unshare-user", "--die-with-parent", "--cap-drop ALL",
                 "--unsetenv NBGRADER_EXECUTION", "--unsetenv JPY_PARENT_PID", "--cpu=60", "--nproc=256"):
        assert flag in text, flag
    binds = [cmd[i + 1] for i, a in enumerate(cmd) if a in ("--bind", "--ro-bind")]
    writable = [cmd[i + 1] for i, a in enumerate(cmd) if a == "--bind"]
    assert not any(b == "/" or b.startswith(str(COURSE.parents[3])) and ".venv" not in b and not b.endswith("genlab")
                   for b in binds), binds  # nothing of the checkout but the venv and the genlab package
    assert all(b.startswith(str(tmp_path / "box")) for b in writable), writable
    assert "--as-pid-1" not in cmd and "RLIMIT_AS" not in text and "--as=" not in text


def test_instructor_cell_metadata_is_put_back():
    from genlab.grading.submission import restore_cell_metadata

    source = json.loads(SOURCE.read_text())
    nb = json.loads(sub("correct").read_text())
    test_add = next(c for c in nb["cells"] if c["id"] == "test-add")
    test_add["cell_type"] = "markdown"
    test_add.pop("outputs")
    test_add.pop("execution_count")
    test_add["metadata"]["nbgrader"].update(points=100, grade=False, solution=True, locked=False)
    mean = next(c for c in nb["cells"] if c["id"] == "mean")
    mean["metadata"]["nbgrader"]["grade_id"] = "made_up"
    notes = restore_cell_metadata(nb, source)
    assert test_add["cell_type"] == "code" and test_add["outputs"] == []
    md = test_add["metadata"]["nbgrader"]
    assert (md["points"], md["grade"], md["solution"], md["locked"]) == (2, True, False, True)
    assert "nbgrader" not in mean["metadata"] and len(notes) == 6


@pytest.mark.slow
def test_unsafe_grades_without_a_sandbox_and_says_so(capsys, monkeypatch):
    from genlab.grading import sandbox

    monkeypatch.setattr(sandbox, "probe", lambda: "no user namespaces (test)")
    rc, out, err = run_grade(capsys, sub("correct"), "--json", "--course", COURSE, "--unsafe")
    assert rc == 0, err
    assert "WARNING: NO SANDBOX (no user namespaces (test))" in err
    assert json.loads(out)["score"] == 5
