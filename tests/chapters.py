"""The chapters as the tests see them: each chapter's manifest (authoring/NN_topic/chapter.yaml,
its ``tests`` section) for what is chapter-specific, the built notebooks for everything else.

One module per kind of test iterates over :data:`CHAPTERS`: test_chapter_exercises.py (every test
cell judged in-process against the reference, the release's stubs and each wrong answer) and
test_chapter_grading.py (one sandboxed grading per notebook). A new chapter needs no test module
of its own for these, only its manifest.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from nbcells import ROOT, load, mutate

FRAMEWORKS = ("pytorch", "tensorflow")


@dataclass(frozen=True)
class Mutant:
    exercise: str
    name: str
    edits: object  # [[old, new], ...] or {framework: [[old, new], ...]}

    def id(self) -> str:
        return f"{self.exercise}: {self.name}"


@dataclass(frozen=True)
class Chapter:
    folder: str                    # "02_vae"
    topic: str                     # "vae": vae_pytorch.ipynb / vae_tensorflow.ipynb
    mutants: tuple[Mutant, ...]
    depends: dict                  # test id -> exercises / "exercise: mutant name" that may also fail it
    graded: dict                   # framework -> {"wrong": [[exercise, name]], "fails": [...], "may_fail": [...]}
    hidden_markers: tuple
    shown: str
    forbidden: tuple = field(default=())

    def solution(self, framework: str) -> Path:
        return ROOT / "solutions" / self.folder / f"{self.topic}_{framework}.ipynb"

    def release(self, framework: str) -> Path:
        return ROOT / "chapters" / self.folder / f"{self.topic}_{framework}.ipynb"

    def exercises(self, framework: str):
        return load(self.solution(framework))[1]

    def mutant(self, exercise: str, name: str) -> Mutant:
        return next(m for m in self.mutants if m.exercise == exercise and m.name == name)

    def wrong_sources(self, framework: str) -> dict[str, str]:
        """The graded submission's wrong answers: {exercise: source}."""
        solutions = {ex.grade_id: ex.solution for ex in self.exercises(framework)}
        out = {}
        for exercise, name in self.graded[framework]["wrong"]:
            out[exercise] = mutate(solutions[exercise], self.mutant(exercise, name).edits, framework, name)
        return out

    def student_submission(self, framework: str, tmp_path: Path, replace: dict | None = None) -> Path:
        """The released notebook with every exercise answered: the reference answer, or ``replace[grade_id]``."""
        answers = {ex.grade_id: ex.solution for ex in self.exercises(framework)}
        answers.update(replace or {})
        nb = json.loads(self.release(framework).read_text())
        for cell in nb["cells"]:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("solution"):
                cell["source"] = re.sub(r"(?m)^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n", "", answers[meta["grade_id"]])
        out = tmp_path / "submitted" / "alice" / self.folder / self.release(framework).name
        out.parent.mkdir(parents=True)
        out.write_text(json.dumps(nb, indent=1))
        return out


def _load(folder: Path) -> Chapter:
    manifest = yaml.safe_load((folder / "chapter.yaml").read_text(encoding="utf-8"))
    tests = manifest["tests"]
    topic = next(p.stem for p in folder.glob("*.py") if not p.name.startswith("_"))
    return Chapter(folder=folder.name, topic=topic,
                   mutants=tuple(Mutant(m["exercise"], m["name"], m["edits"]) for m in tests["mutants"]),
                   depends={k: set(v) for k, v in (tests.get("depends") or {}).items()},
                   graded=tests["graded_submission"], hidden_markers=tuple(tests["hidden_markers"]),
                   shown=tests["shown"], forbidden=tuple((manifest.get("grading") or {}).get("forbidden") or ()))


CHAPTERS = [_load(p) for p in sorted((ROOT / "authoring").glob("[0-9][0-9]_*")) if (p / "chapter.yaml").is_file()]
BY_NAME = {c.folder: c for c in CHAPTERS}
