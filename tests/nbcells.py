"""Read a chapter's nbgrader cells and run its test cells in-process (no kernel, no grader).

Used to check, quickly and for many plausible wrong answers, that each hidden test catches what its
docstring promises. The whole-notebook grading round trips live in the test_grading_* files.
"""
from __future__ import annotations

import json
import traceback
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# what the chapters' setup cells import and their solutions use
PRELUDE = {"pytorch": "import math\nimport numpy as np\nimport torch\nimport torch.nn.functional as F\n"
                      "from genlab.torch import to_numpy\n",
           "tensorflow": "import math\nimport numpy as np\nimport tensorflow as tf\nfrom genlab.tf import to_numpy\n"}


@dataclass
class Exercise:
    grade_id: str
    solution: str  # source of the solution cell
    test_id: str
    test: str      # source of the autograded test cell
    points: float


def load(path: Path) -> tuple[str, list[Exercise], list[dict]]:
    """(framework, exercises in notebook order, all nbgrader cells) of a solution notebook."""
    nb = json.loads(Path(path).read_text())
    fw = nb["metadata"]["genlab"]["framework"]
    graded = [c for c in nb["cells"] if "nbgrader" in c.get("metadata", {})]
    solutions = {c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"]) for c in graded
                 if c["metadata"]["nbgrader"].get("solution")}
    exercises = []
    for c in graded:
        meta = c["metadata"]["nbgrader"]
        if meta.get("grade") and not meta.get("solution"):
            sid = meta["grade_id"].removesuffix("_test")
            exercises.append(Exercise(sid, solutions[sid], meta["grade_id"], "".join(c["source"]), meta["points"]))
    return fw, exercises, graded


def run(framework: str, exercises: list[Exercise], replace: dict[str, str] | None = None) -> dict[str, str | None]:
    """Define every solution (``replace`` swaps in other sources by grade_id), then run every test cell.

    Returns {test grade_id: None if it passed, else the error's last line}.
    """
    ns: dict = {"__name__": "__main__"}
    exec(PRELUDE[framework], ns)
    for ex in exercises:
        exec((replace or {}).get(ex.grade_id, ex.solution), ns)
    results = {}
    for ex in exercises:
        try:
            exec(ex.test, ns)
            results[ex.test_id] = None
        except BaseException as err:  # noqa: BLE001 - a test cell may raise anything
            results[ex.test_id] = (traceback.format_exception_only(type(err), err)[-1].strip())[:300]
    return results


def mutate(source: str, edits, framework: str, name: str) -> str:
    """Apply a wrong answer's (old, new) text edits (a list, or a dict keyed by framework) to ``source``."""
    wrong = source
    for old, new in (edits[framework] if isinstance(edits, dict) else edits):
        assert old in wrong, f"mutant {name!r} does not apply to the {framework} solution: {old!r} not found"
        wrong = wrong.replace(old, new)
    assert wrong != source, f"mutant {name!r} changes nothing"
    return wrong


def check_mutant(framework: str, exercises: list[Exercise], grade_id: str, name: str, edits,
                 depends: dict[str, set[str]] | None = None) -> None:
    """The wrong answer fails its own exercise's test and no test except those in ``depends``
    ({test id: exercises whose functions that test calls})."""
    source = next(ex.solution for ex in exercises if ex.grade_id == grade_id)
    results = run(framework, exercises, {grade_id: mutate(source, edits, framework, name)})
    own = f"{grade_id}_test"
    assert results[own] is not None, f"{framework}: the test of {grade_id} passes the wrong answer {name!r}"
    for test_id, error in results.items():
        if test_id != own and grade_id not in (depends or {}).get(test_id, ()):
            assert error is None, f"{framework}: wrong {grade_id} ({name}) also failed {test_id}: {error}"


def mutation_tests(notebooks: dict[str, Path], mutants: list, depends: dict[str, set[str]] | None = None,
                   grade_ids: list[str] | None = None, min_per_exercise: int = 4):
    """The test functions of a chapter's mutation module: a module-scoped ``chapter`` fixture over
    ``notebooks`` ({framework: solution notebook}), the reference passing every test (with exactly
    ``grade_ids`` in order when given, else at least 6 exercises), at least ``min_per_exercise`` wrong
    answers per exercise, and each wrong answer in ``mutants`` caught (see :func:`check_mutant`).

    Use: ``chapter, test_a, test_b, test_c = mutation_tests(NOTEBOOKS, MUTANTS, DEPENDS)`` at module level.
    """
    import pytest

    @pytest.fixture(scope="module", params=list(notebooks))
    def chapter(request):
        fw, exercises, _ = load(notebooks[request.param])
        return fw, exercises

    def test_reference_solutions_pass_every_test(chapter):
        fw, exercises = chapter
        if grade_ids is not None:
            assert [ex.grade_id for ex in exercises] == grade_ids
        assert len(exercises) >= 6
        assert run(fw, exercises) == {ex.test_id: None for ex in exercises}

    def test_enough_wrong_answers_per_exercise(chapter):
        counts = {ex.grade_id: 0 for ex in chapter[1]}
        for grade_id, _, _ in mutants:
            counts[grade_id] += 1
        assert min(counts.values()) >= min_per_exercise, counts

    @pytest.mark.parametrize("grade_id,name,edits", mutants, ids=[f"{m[0]}: {m[1]}" for m in mutants])
    def test_wrong_answer_is_caught(chapter, grade_id, name, edits):
        fw, exercises = chapter
        check_mutant(fw, exercises, grade_id, name, edits, depends)

    return chapter, test_reference_solutions_pass_every_test, test_enough_wrong_answers_per_exercise, test_wrong_answer_is_caught
