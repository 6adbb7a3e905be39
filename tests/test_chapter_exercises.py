"""Every chapter's test cells, judged in-process exactly as the grader judges them (nbcells.run:
the test runs on the trusted side of genlab.grading.judge, the solutions' namespace stands in for
the kernel), for both frameworks:

* the reference solution passes every test, and every test fails against the release's stubs (so
  the untouched release scores 0);
* each exercise has enough plausible wrong answers (the manifest's mutants), and each one fails its
  own exercise's test and no other test (except where the manifest's ``depends`` says so);
* the visible part of each test cell alone (what a learner runs) catches most of its exercise's
  wrong answers and passes the reference.
"""
from __future__ import annotations

import functools

import pytest

from chapters import BY_NAME, CHAPTERS, FRAMEWORKS
from nbcells import check_mutant, load, run, visible_catches

pytest.importorskip("torch")
pytest.importorskip("tensorflow")

MIN_EXERCISES = 6   # per notebook
MIN_MUTANTS = 4     # per exercise
VISIBLE_SHARE = 0.8  # of an exercise's wrong answers that its visible checks alone must catch

XDIST_SPREAD = True  # independent cases: pytest-xdist may spread them over workers (conftest.py)
CASES = [(c.folder, fw) for c in CHAPTERS for fw in FRAMEWORKS]
MUTANTS = [(c.folder, fw, m.exercise, m.name) for c in CHAPTERS for fw in FRAMEWORKS for m in c.mutants]
VISIBLE = [(c.folder, fw, ex) for c in CHAPTERS for fw in FRAMEWORKS for ex in dict.fromkeys(m.exercise for m in c.mutants)]


@functools.cache
def exercises(folder: str, framework: str):
    return BY_NAME[folder].exercises(framework)


@pytest.mark.parametrize("folder,framework", CASES, ids=[f"{c}-{fw}" for c, fw in CASES])
def test_reference_solutions_pass_every_test(folder, framework):
    exs = exercises(folder, framework)
    assert len(exs) >= MIN_EXERCISES
    assert run(framework, exs) == {ex.test_id: None for ex in exs}


@pytest.mark.parametrize("folder,framework", CASES, ids=[f"{c}-{fw}" for c, fw in CASES])
def test_release_stubs_fail_every_test(folder, framework):
    exs = exercises(folder, framework)
    released = load(BY_NAME[folder].release(framework))[1]
    assert [ex.grade_id for ex in released] == [ex.grade_id for ex in exs]
    results = run(framework, exs, {ex.grade_id: ex.solution for ex in released})
    assert all(error and "NotImplementedError" in error for error in results.values()), results


@pytest.mark.parametrize("folder", [c.folder for c in CHAPTERS])
def test_enough_wrong_answers_per_exercise(folder):
    chapter = BY_NAME[folder]
    counts = {ex.grade_id: 0 for ex in exercises(folder, "pytorch")}
    for m in chapter.mutants:
        assert m.exercise in counts, f"mutant {m.id()} names no exercise of {folder}"
        counts[m.exercise] += 1
    assert min(counts.values()) >= MIN_MUTANTS, counts
    assert len({m.id() for m in chapter.mutants}) == len(chapter.mutants), "mutant names must be unique"


@pytest.mark.parametrize("folder,framework,exercise,name", MUTANTS, ids=[f"{c}-{fw}-{e}: {n}" for c, fw, e, n in MUTANTS])
def test_wrong_answer_is_caught(folder, framework, exercise, name):
    chapter = BY_NAME[folder]
    check_mutant(framework, exercises(folder, framework), exercise, name, chapter.mutant(exercise, name).edits,
                 chapter.depends)


@pytest.mark.parametrize("folder,framework,exercise", VISIBLE, ids=[f"{c}-{fw}-{e}" for c, fw, e in VISIBLE])
def test_visible_tests_catch_most_wrong_answers(folder, framework, exercise):
    chapter, exs = BY_NAME[folder], exercises(folder, framework)
    assert run(framework, exs, visible_only=True, only={f"{exercise}_test"}) == {f"{exercise}_test": None}
    mine = [m for m in chapter.mutants if m.exercise == exercise]
    missed = [m.name for m in mine if visible_catches(framework, exs, exercise, m.name, m.edits) is None]
    caught = len(mine) - len(missed)
    assert caught >= VISIBLE_SHARE * len(mine), (f"{framework}: the visible tests of {exercise} catch {caught} of "
                                                 f"{len(mine)} wrong answers; they pass: {missed}")
