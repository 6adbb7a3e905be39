"""One sandboxed ``genlab grade`` run per chapter notebook (the manifest's ``graded_submission``).

A submission with the manifest's wrong answers (the reference everywhere else) loses exactly the
points of the tests meant to catch them; every other cell runs under the sandbox's limits without
an error (except the cells the manifest names: a check cell comparing with reference values, a
report of a NaN); the HTML feedback shows the student's code, no hidden test and no active content.
What the other whole-notebook runs used to prove is proven in-process, through the same judge, by
test_chapter_exercises.py.
"""
from __future__ import annotations

import json

import pytest

from chapters import BY_NAME, CHAPTERS, FRAMEWORKS
from nbcells import run

from genlab.grading.grade import grade_notebook

XDIST_SPREAD = True  # independent cases: pytest-xdist may spread them over workers (conftest.py)
CASES = [(c.folder, fw) for c in CHAPTERS for fw in FRAMEWORKS]


def _max_score(chapter, framework) -> tuple[float, int]:
    exs = chapter.exercises(framework)
    return float(sum(ex.points for ex in exs)), len(exs)


@pytest.mark.slow
@pytest.mark.parametrize("folder,framework", CASES, ids=[f"{c}-{fw}" for c, fw in CASES])
def test_graded_submission_loses_exactly_its_mistakes(folder, framework, tmp_path):
    chapter = BY_NAME[folder]
    spec = chapter.graded[framework]
    wrong = chapter.wrong_sources(framework)
    expected_failures = set(spec["fails"])
    # the in-process run agrees on which tests fail (keeps the manifest honest)
    assert {k for k, v in run(framework, chapter.exercises(framework), wrong).items() if v} == expected_failures
    submission = chapter.student_submission(framework, tmp_path, wrong)
    result = grade_notebook(submission, feedback_dir=tmp_path / "feedback")
    max_score, n_tests = _max_score(chapter, framework)
    assert result.max_score == max_score and len(result.tests) == n_tests
    failed = {t.grade_id for t in result.tests if t.score < t.max_score}
    assert failed == expected_failures, [t for t in result.tests if t.error]
    for t in result.tests:
        assert t.score == (0 if t.grade_id in expected_failures else t.max_score)
        assert (t.error is None) == (t.grade_id not in expected_failures)
    assert result.score == max_score - sum(t.max_score for t in result.tests if t.grade_id in expected_failures)
    # every other cell ran under the grader: the shipped data is visible, nothing needs the tests' state
    sources = ["".join(c["source"]) for c in json.loads(submission.read_text())["cells"]]
    allowed = spec.get("may_fail") or []
    unexpected = [e for e in result.cell_errors if not any(m in sources[e["cell"]] for m in allowed)]
    assert unexpected == [], unexpected
    html = (tmp_path / "feedback" / f"{chapter.topic}_{framework}.html").read_text()
    assert not any(m in html for m in chapter.hidden_markers), "feedback reveals hidden tests"
    assert chapter.shown in html and "Content-Security-Policy" in html and "<script" not in html.lower()
