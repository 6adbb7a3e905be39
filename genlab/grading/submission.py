"""Checks on a submitted notebook and where its source lives in the course, done before
anything runs (no nbgrader, no kernel): every failure here is a :class:`BadSubmission`."""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .errors import BadSubmission

DEFAULT_SOURCE_DIRECTORY = "source"  # nbgrader's default, when the course config does not say


@dataclass(frozen=True)
class Submission:
    path: Path          # the submitted .ipynb (resolved)
    assignment: str     # its parent folder's name, e.g. "02_vae"
    notebook: str       # its file stem, e.g. "vae_pytorch"


@dataclass(frozen=True)
class Course:
    root: Path
    config_file: Path
    source_directory: str
    ignore: tuple[str, ...]

    def source_notebook(self, assignment: str, notebook: str) -> Path:
        return self.root / self.source_directory / assignment / f"{notebook}.ipynb"


def load_course(root: Path | str | None = None) -> Course:
    """The course at ``root`` (default: :func:`genlab.paths.course_root`), with the
    ``source_directory`` and ``ignore`` settings of its ``nbgrader_config.py``."""
    if root is None:
        from genlab.paths import course_root

        try:
            root = course_root()
        except FileNotFoundError as e:
            raise BadSubmission(str(e)) from None
    root = Path(root).resolve()
    config_file = root / "nbgrader_config.py"
    if not root.is_dir() or not config_file.is_file():
        raise BadSubmission(f"not a course (no nbgrader_config.py): {root}")
    from traitlets.config.loader import PyFileConfigLoader

    try:
        cfg = PyFileConfigLoader(config_file.name, path=str(root)).load_config()
    except Exception as e:  # the instructor's file; say which
        raise BadSubmission(f"cannot read {config_file}: {type(e).__name__}: {e}") from None
    cd = cfg.get("CourseDirectory", {})
    source = cd.get("source_directory", DEFAULT_SOURCE_DIRECTORY) or DEFAULT_SOURCE_DIRECTORY
    ignore = tuple(cd.get("ignore", (".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback")))
    return Course(root=root, config_file=config_file, source_directory=str(source), ignore=ignore)


def identify(path: Path | str) -> Submission:
    """Assignment and notebook from the path: ``.../<assignment>/<notebook>.ipynb``."""
    path = Path(path).expanduser().resolve()
    if not path.exists():
        raise BadSubmission(f"no such file: {path}")
    if not path.is_file():
        raise BadSubmission(f"not a file: {path}")
    if path.suffix != ".ipynb":
        raise BadSubmission(f"not a notebook (expected a .ipynb file): {path}")
    return Submission(path=path, assignment=path.parent.name, notebook=path.stem)


def check_notebook(path: Path) -> dict:
    """Parse and validate the notebook; returns its JSON. Refuses anything nbgrader would
    choke on or grade wrongly (silently deduplicated ids)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise BadSubmission(f"not JSON (not UTF-8 text: {e.reason}): {path}") from None
    except OSError as e:
        raise BadSubmission(f"cannot read {path}: {e.strerror}") from None
    try:
        nb = json.loads(text)
    except json.JSONDecodeError as e:
        raise BadSubmission(f"not JSON ({e.msg} at line {e.lineno}): {path}") from None
    if not isinstance(nb, dict) or "nbformat" not in nb:
        raise BadSubmission(f"not a Jupyter notebook (JSON without an nbformat field): {path}")
    if nb.get("nbformat") != 4:
        raise BadSubmission(f"not an nbformat 4 notebook (nbformat {nb.get('nbformat')!r}): {path}")
    cells = nb.get("cells") if isinstance(nb.get("cells"), list) else []
    ids = Counter(c.get("id") for c in cells if isinstance(c, dict) and c.get("id") is not None)
    dup = sorted(i for i, n in ids.items() if n > 1)
    if dup:
        raise BadSubmission(f"duplicated cell id {dup[0]!r} ({ids[dup[0]]} cells): {path}")
    import nbformat

    try:
        nbformat.validate(nbformat.from_dict(nb))
    except nbformat.ValidationError as e:
        first = str(e.message if hasattr(e, "message") else e).strip().splitlines()[0]
        raise BadSubmission(f"not a valid notebook ({first}): {path}") from None
    grade_ids = Counter(
        c["metadata"]["nbgrader"]["grade_id"] for c in cells
        if isinstance(c.get("metadata", {}).get("nbgrader"), dict) and c["metadata"]["nbgrader"].get("grade_id"))
    dup = sorted(i for i, n in grade_ids.items() if n > 1)
    if dup:
        raise BadSubmission(f"duplicated grade_id {dup[0]!r} ({grade_ids[dup[0]]} cells): {path}")
    return nb


def find_source(course: Course, sub: Submission) -> Path:
    """The instructor's source notebook for ``sub`` in ``course``."""
    chapter = course.root / course.source_directory / sub.assignment
    if not chapter.is_dir():
        raise BadSubmission(f"unknown chapter {sub.assignment!r} (no {course.source_directory}/{sub.assignment}/ "
                            f"in {course.root})")
    src = course.source_notebook(sub.assignment, sub.notebook)
    if not src.is_file():
        known = sorted(p.stem for p in chapter.glob("*.ipynb"))
        raise BadSubmission(f"unknown notebook {sub.notebook!r} in chapter {sub.assignment!r} "
                            f"(known: {', '.join(known) or 'none'})")
    return src


#: nbgrader flags a submission may not change for a cell that exists in the source notebook.
PROTECTED_FLAGS = ("grade", "solution", "locked", "task", "points")


def restore_cell_metadata(nb: dict, source: dict) -> list[str]:
    """Put back, in place, what the student may not change of the instructor's cells: the cell
    type and the nbgrader flags (grade, solution, locked, task, points) of every cell whose
    grade_id is in ``source``. nbgrader 0.9.6's ``OverwriteCells`` restores the source of locked
    cells but crashes the whole run ("Inconsistent checksums") when the flags were edited, and
    ``CheckCellMetadata`` fails on a changed cell type; after this step nbgrader restores the
    test cells as usual. Returns a note per change."""
    src = {}
    for cell in source.get("cells", []):
        md = cell.get("metadata", {}).get("nbgrader")
        if isinstance(md, dict) and md.get("grade_id"):
            src[md["grade_id"]] = cell
    notes = []
    for cell in nb.get("cells", []):
        meta = cell.get("metadata", {})
        md = meta.get("nbgrader")
        if md is None:
            continue
        if not isinstance(md, dict) or md.get("grade_id") not in src:
            # Not one of the instructor's cells (a renamed grade_id, made-up flags): a plain
            # student cell for nbgrader, which would otherwise fail on it.
            notes.append(f"{md.get('grade_id') if isinstance(md, dict) else md!r}: not in the source, "
                         "nbgrader metadata removed")
            del meta["nbgrader"]
            continue
        s = src[md["grade_id"]]
        smd = s["metadata"]["nbgrader"]
        if cell.get("cell_type") != s.get("cell_type"):
            notes.append(f"{md['grade_id']}: cell type {cell.get('cell_type')} -> {s.get('cell_type')}")
            cell["cell_type"] = s.get("cell_type")
            if cell["cell_type"] == "code":
                cell["outputs"], cell["execution_count"] = [], None
            else:
                cell.pop("outputs", None)
                cell.pop("execution_count", None)
        for k in PROTECTED_FLAGS:
            if md.get(k) != smd.get(k):
                notes.append(f"{md['grade_id']}: {k} {md.get(k)!r} -> {smd.get(k)!r}")
                if k in smd:
                    md[k] = smd[k]
                else:
                    md.pop(k, None)
    return notes
