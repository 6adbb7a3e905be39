"""Grading round trips for the evaluation chapter, shared by test_grading_evaluation_pytorch.py and _tensorflow.py.

Same structure as vae_grading.py: the solution gets full marks, the untouched release gets 0
autograded points without crashing, and a submission with three plausible wrong answers loses
exactly the points of the tests meant to catch them (the HTML feedback shows no hidden test).
"""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from nbcells import ROOT, load, run
from test_evaluation_exercises import MUTANTS

from genlab.grading.grade import grade_notebook

CHAPTER = "09_evaluation"
MAX_SCORE = 14
# Three wrong answers per notebook and the test cells that must fail because of them.
WRONG = {
    "pytorch": ([("eval_frechet_distance", "missing factor 2"),
                 ("eval_inception_score", "mean of exp instead of exp of mean"),
                 ("eval_psnr", "natural log")],
                {"eval_frechet_distance_test", "eval_inception_score_test", "eval_psnr_test"}),
    "tensorflow": ([("eval_kid_unbiased", "quadratic kernel"),
                    ("eval_knn_precision_recall", "strict < instead of <="),
                    ("eval_ssim", "uniform window")],
                   {"eval_kid_unbiased_test", "eval_knn_precision_recall_test", "eval_ssim_test"}),
}


def _paths(framework):
    name = f"evaluation_{framework}.ipynb"
    return ROOT / "solutions" / CHAPTER / name, ROOT / "chapters" / CHAPTER / name


def _wrong_sources(framework):
    _, exercises, _ = load(_paths(framework)[0])
    by_id = {ex.grade_id: ex.solution for ex in exercises}
    out = {}
    for grade_id, name in WRONG[framework][0]:
        edits = next(m[2] for m in MUTANTS if m[0] == grade_id and m[1] == name)
        src = out.get(grade_id, by_id[grade_id])
        for old, new in (edits[framework] if isinstance(edits, dict) else edits):
            src = src.replace(old, new)
        out[grade_id] = src
    return exercises, out


def student_submission(framework, tmp_path, replace=None):
    """The released notebook with every exercise answered: the reference answer, or ``replace[grade_id]``."""
    solution, release = _paths(framework)
    answers = {ex.grade_id: ex.solution for ex in load(solution)[1]}
    answers.update(replace or {})
    nb = json.loads(release.read_text())
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution"):
            cell["source"] = re.sub(r"(?m)^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n", "", answers[meta["grade_id"]])
    out = tmp_path / "submitted" / "alice" / CHAPTER / release.name
    out.parent.mkdir(parents=True)
    out.write_text(json.dumps(nb, indent=1))
    return out


@pytest.mark.slow
def test_solution_gets_full_marks(framework):
    result = grade_notebook(_paths(framework)[0])
    assert result.max_score == MAX_SCORE and len(result.tests) == 6
    assert result.score == result.max_score, [t for t in result.tests if t.error]


@pytest.mark.slow
def test_untouched_release_gets_zero(framework):
    proc = subprocess.run([sys.executable, "-m", "genlab.cli", "grade", "--json", str(_paths(framework)[1])],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["assignment"] == CHAPTER and result["notebook"] == f"evaluation_{framework}"
    assert result["score"] == 0 and result["max_score"] == MAX_SCORE
    assert all(t["error"] and "NotImplementedError" in t["error"] for t in result["tests"])


@pytest.mark.slow
def test_wrong_answers_lose_exactly_their_points(framework, tmp_path):
    exercises, wrong = _wrong_sources(framework)
    expected_failures = WRONG[framework][1]
    # the in-process run agrees on which tests fail (keeps this table honest)
    assert {k for k, v in run(framework, exercises, wrong).items() if v} == expected_failures
    submission = student_submission(framework, tmp_path, wrong)
    result = grade_notebook(submission, feedback_dir=tmp_path / "feedback")
    failed = {t.grade_id for t in result.tests if t.score < t.max_score}
    assert failed == expected_failures
    for t in result.tests:
        assert t.score == (0 if t.grade_id in expected_failures else t.max_score)
        assert (t.error is None) == (t.grade_id not in expected_failures)
    lost = sum(t.max_score for t in result.tests if t.grade_id in expected_failures)
    assert result.score == result.max_score - lost
    html = (tmp_path / "feedback" / f"evaluation_{framework}.html").read_text()
    assert "default_rng(2909)" not in html and "_oracle" not in html, "feedback reveals hidden tests"
    assert "frechet_distance" in html
