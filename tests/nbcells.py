"""Read a chapter's nbgrader cells and run its test cells in-process (no kernel, no grader).

Used to check, quickly and for many plausible wrong answers, that each hidden test catches what its
docstring promises. The whole-notebook grading round trips live in the test_grading_* files.
"""
from __future__ import annotations

import json
import traceback
from dataclasses import dataclass
from pathlib import Path

from genlab.grading import judge

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


HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"


def visible_part(test: str) -> str:
    """A test cell's visible checks alone: its text before ``### BEGIN HIDDEN TESTS`` (what the student sees)."""
    head, found, _ = test.partition(HIDDEN_BEGIN)
    assert found, "a test cell without hidden tests"
    return head


def run(framework: str, exercises: list[Exercise], replace: dict[str, str] | None = None,
        visible_only: bool = False, only: set[str] | None = None) -> dict[str, str | None]:
    """Define every solution (``replace`` swaps in other sources by grade_id), then judge every test
    cell the way the grader does (genlab.grading.judge: the test runs on the trusted side, the
    solutions' namespace stands in for the kernel). ``visible_only`` judges only the visible part of
    each test cell (:func:`visible_part`); ``only`` limits the run to those test grade_ids.

    Returns {test grade_id: None if it passed, else the error's last line}.
    """
    ns: dict = {"__name__": "__main__"}
    exec(PRELUDE[framework], ns)
    for ex in exercises:
        exec((replace or {}).get(ex.grade_id, ex.solution), ns)
    names = judge.defined_names(ex.solution for ex in exercises)
    results = {}
    for ex in exercises:
        if only is not None and ex.test_id not in only:
            continue
        try:
            judge.run_in_process(visible_part(ex.test) if visible_only else ex.test, ns, names)
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
    ({test id: exercises, or single wrong answers as "grade_id: name", that may also fail it})."""
    source = next(ex.solution for ex in exercises if ex.grade_id == grade_id)
    results = run(framework, exercises, {grade_id: mutate(source, edits, framework, name)})
    own = f"{grade_id}_test"
    assert results[own] is not None, f"{framework}: the test of {grade_id} passes the wrong answer {name!r}"
    for test_id, error in results.items():
        allowed = (depends or {}).get(test_id, ())
        if test_id != own and grade_id not in allowed and f"{grade_id}: {name}" not in allowed:
            assert error is None, f"{framework}: wrong {grade_id} ({name}) also failed {test_id}: {error}"


def visible_catches(framework: str, exercises: list[Exercise], grade_id: str, name: str, edits) -> str | None:
    """The error the VISIBLE part of ``grade_id``'s test raises on the wrong answer, or None if it passes."""
    source = next(ex.solution for ex in exercises if ex.grade_id == grade_id)
    own = f"{grade_id}_test"
    return run(framework, exercises, {grade_id: mutate(source, edits, framework, name)}, visible_only=True, only={own})[own]
