"""Grading round trips of one chapter, for each framework's test file (see vae_grading.py).

The solution gets full marks, the untouched release gets 0 autograded points without crashing, and
a submission with three plausible wrong answers loses exactly the points of the tests meant to catch
them, with HTML feedback that shows no hidden test.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass

import pytest

from nbcells import ROOT, load, mutate, run

from genlab.grading.grade import grade_notebook


@dataclass(frozen=True)
class Chapter:
    folder: str          # "02_vae"
    topic: str           # "vae" -> vae_pytorch.ipynb / vae_tensorflow.ipynb
    max_score: float
    n_tests: int
    mutants: list        # the chapter's MUTANTS table: (grade_id, name, edits)
    wrong: dict          # framework -> ([(grade_id, mutant name)], {test ids that must fail})
    hidden_markers: tuple  # strings of the hidden tests that the feedback must not show
    shown: str           # a string of the student's code that the feedback must show

    def paths(self, framework):
        name = f"{self.topic}_{framework}.ipynb"
        return ROOT / "solutions" / self.folder / name, ROOT / "chapters" / self.folder / name

    def wrong_sources(self, framework):
        _, exercises, _ = load(self.paths(framework)[0])
        out = {ex.grade_id: ex.solution for ex in exercises}
        for grade_id, name in self.wrong[framework][0]:
            edits = next(m[2] for m in self.mutants if m[0] == grade_id and m[1] == name)
            out[grade_id] = mutate(out[grade_id], edits, framework, name)
        return exercises, {g: out[g] for g, _ in self.wrong[framework][0]}

    def student_submission(self, framework, tmp_path, replace=None):
        """The released notebook with every exercise answered: the reference answer, or ``replace[grade_id]``."""
        solution, release = self.paths(framework)
        answers = {ex.grade_id: ex.solution for ex in load(solution)[1]}
        answers.update(replace or {})
        nb = json.loads(release.read_text())
        for cell in nb["cells"]:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("solution"):
                cell["source"] = re.sub(r"(?m)^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n", "", answers[meta["grade_id"]])
        out = tmp_path / "submitted" / "alice" / self.folder / release.name
        out.parent.mkdir(parents=True)
        out.write_text(json.dumps(nb, indent=1))
        return out


def roundtrip_tests(ch: Chapter):
    """The three test functions (each takes the ``framework`` fixture of the importing module)."""

    @pytest.mark.slow
    def test_solution_gets_full_marks(framework):
        result = grade_notebook(ch.paths(framework)[0])
        assert result.max_score == ch.max_score and len(result.tests) == ch.n_tests
        assert result.score == result.max_score, [t for t in result.tests if t.error]

    @pytest.mark.slow
    def test_untouched_release_gets_zero(framework):
        proc = subprocess.run([sys.executable, "-m", "genlab.cli", "grade", "--json", str(ch.paths(framework)[1])],
                              capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, proc.stderr
        result = json.loads(proc.stdout)
        assert result["assignment"] == ch.folder and result["notebook"] == f"{ch.topic}_{framework}"
        assert result["score"] == 0 and result["max_score"] == ch.max_score
        assert all(t["error"] and "NotImplementedError" in t["error"] for t in result["tests"])

    @pytest.mark.slow
    def test_wrong_answers_lose_exactly_their_points(framework, tmp_path):
        exercises, wrong = ch.wrong_sources(framework)
        expected_failures = ch.wrong[framework][1]
        # the in-process run agrees on which tests fail (keeps the table honest)
        assert {k for k, v in run(framework, exercises, wrong).items() if v} == expected_failures
        submission = ch.student_submission(framework, tmp_path, wrong)
        result = grade_notebook(submission, feedback_dir=tmp_path / "feedback")
        failed = {t.grade_id for t in result.tests if t.score < t.max_score}
        assert failed == expected_failures
        for t in result.tests:
            assert t.score == (0 if t.grade_id in expected_failures else t.max_score)
            assert (t.error is None) == (t.grade_id not in expected_failures)
        lost = sum(t.max_score for t in result.tests if t.grade_id in expected_failures)
        assert result.score == result.max_score - lost
        html = (tmp_path / "feedback" / f"{ch.topic}_{framework}.html").read_text()
        assert not any(m in html for m in ch.hidden_markers), "feedback reveals hidden tests"
        assert ch.shown in html

    return test_solution_gets_full_marks, test_untouched_release_gets_zero, test_wrong_answers_lose_exactly_their_points
