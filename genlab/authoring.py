"""Build a chapter's two nbgrader source notebooks from one annotated Python file.

A chapter is written once, in ``authoring/NN_topic/topic.py`` (the "percent" cell format),
and built into ``solutions/NN_topic/topic_pytorch.ipynb`` and ``topic_tensorflow.ipynb``.
Shared cells (the maths, the test vectors, the hidden tests) are therefore the same text in
both notebooks; framework-specific cells are tagged. ``make release`` builds the solutions
and then lets nbgrader generate the student copies in ``chapters/``.

Cell headers (one line each)::

    # %% [markdown]                      markdown, both notebooks
    # %%                                 code, both notebooks
    # %% only=torch                      code for the PyTorch notebook only (or only=tf)
    # %% solution id=vae_kl              nbgrader solution cell (### BEGIN/END SOLUTION inside)
    # %% test id=vae_kl_test points=2    nbgrader autograded test cell (locked)
    # %% [markdown] only=tf              tags combine

Markdown lines are written as comments (``# text``; a lone ``#`` is a blank line). In shared
cells ``{{fw}}`` becomes ``torch`` or ``tf`` and ``{{framework}}`` ``PyTorch`` or
``TensorFlow``, so one test cell can import ``genlab.{{fw}}`` helpers in both notebooks.
"""
from __future__ import annotations

import hashlib
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

FRAMEWORKS = {"torch": "pytorch", "tf": "tensorflow"}
DISPLAY = {"torch": "PyTorch", "tf": "TensorFlow"}
KERNELSPEC = {"name": "genlab", "display_name": "Python 3 (genlab)", "language": "python"}
_ID = re.compile(r"^[a-z][a-z0-9_]*$")


class AuthoringError(ValueError):
    """A chapter source that cannot be built; the message names file and line."""


@dataclass
class Cell:
    kind: str  # "markdown" | "code"
    lines: list[str] = field(default_factory=list)
    only: str | None = None
    role: str | None = None  # None | "solution" | "test"
    grade_id: str | None = None
    points: float | None = None
    line: int = 0

    def source(self) -> str:
        text = "\n".join(self.lines).strip("\n")
        if self.kind == "markdown":
            out = []
            for ln in text.split("\n"):
                if ln == "#":
                    out.append("")
                elif ln.startswith("# "):
                    out.append(ln[2:])
                else:
                    raise AuthoringError(f"line {self.line}: markdown lines must start with '# ': {ln!r}")
            text = "\n".join(out)
        return text


def parse(path: Path) -> list[Cell]:
    """Split a chapter source into cells and check their headers."""
    cells: list[Cell] = []
    current: Cell | None = None
    for lineno, raw in enumerate(Path(path).read_text(encoding="utf-8").split("\n"), start=1):
        if raw.startswith("# %%"):
            current = _header(raw[4:].strip(), lineno, path)
            cells.append(current)
        elif current is None:
            if raw.strip():
                raise AuthoringError(f"{path}:{lineno}: text before the first '# %%' cell header")
        else:
            current.lines.append(raw)
    return cells


def _header(spec: str, lineno: int, path: Path) -> Cell:
    kind = "code"
    if spec.startswith("[markdown]"):
        kind, spec = "markdown", spec[len("[markdown]"):].strip()
    cell = Cell(kind=kind, line=lineno)
    for token in shlex.split(spec):
        key, _, value = token.partition("=")
        if key in ("solution", "test") and not value:
            cell.role = key
        elif key == "only" and value in FRAMEWORKS:
            cell.only = value
        elif key == "id" and _ID.match(value):
            cell.grade_id = value
        elif key == "points":
            cell.points = float(value)
        else:
            raise AuthoringError(f"{path}:{lineno}: bad cell header token {token!r}")
    if cell.role and (cell.kind != "code" or not cell.grade_id):
        raise AuthoringError(f"{path}:{lineno}: a {cell.role} cell must be code and have id=...")
    if cell.role == "test" and not (cell.points and cell.points > 0):
        raise AuthoringError(f"{path}:{lineno}: a test cell needs points=N > 0")
    if cell.role != "test" and cell.points is not None:
        raise AuthoringError(f"{path}:{lineno}: only test cells carry points")
    return cell


def _nbgrader_meta(cell: Cell) -> dict | None:
    if cell.role == "solution":
        return {"grade": False, "grade_id": cell.grade_id, "locked": False, "schema_version": 3,
                "solution": True, "task": False}
    if cell.role == "test":
        points = int(cell.points) if float(cell.points).is_integer() else cell.points
        return {"grade": True, "grade_id": cell.grade_id, "locked": True, "points": points,
                "schema_version": 3, "solution": False, "task": False}
    return None


def build_notebook(cells: list[Cell], framework: str, path: Path | str = "<source>") -> nbformat.NotebookNode:
    """The nbgrader source notebook of one framework ("torch" or "tf")."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": dict(KERNELSPEC),
                   "language_info": {"name": "python", "version": "3.11"},
                   "genlab": {"framework": FRAMEWORKS[framework]}}
    seen: set[str] = set()
    for index, cell in enumerate(c for c in cells if c.only in (None, framework)):
        src = cell.source().replace("{{fw}}", framework).replace("{{framework}}", DISPLAY[framework])
        if not src.strip():
            continue
        if cell.role == "solution" and ("### BEGIN SOLUTION" not in src or "### END SOLUTION" not in src):
            raise AuthoringError(f"{path}:{cell.line}: solution cell without ### BEGIN/END SOLUTION")
        if cell.kind == "markdown":
            node = nbformat.v4.new_markdown_cell(src)
        else:
            node = nbformat.v4.new_code_cell(src)
        meta = _nbgrader_meta(cell)
        if meta:
            if cell.grade_id in seen:
                raise AuthoringError(f"{path}:{cell.line}: duplicate id {cell.grade_id!r} in the {framework} notebook")
            seen.add(cell.grade_id)
            node.metadata["nbgrader"] = meta
            node.id = cell.grade_id
        else:
            node.id = f"c{index:03d}-" + hashlib.sha1(src.encode()).hexdigest()[:8]
        nb.cells.append(node)
    nbformat.validate(nb)
    return nb


def notebook_text(nb: nbformat.NotebookNode) -> str:
    """The exact bytes we store: nbformat's JSON with a final newline."""
    return nbformat.writes(nb) + "\n"


def build_chapter(source: Path, out_dir: Path) -> list[Path]:
    """Write ``<topic>_pytorch.ipynb`` and ``<topic>_tensorflow.ipynb`` for one chapter source."""
    source, out_dir = Path(source), Path(out_dir)
    cells = parse(source)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for fw, suffix in FRAMEWORKS.items():
        target = out_dir / f"{source.stem}_{suffix}.ipynb"
        target.write_text(notebook_text(build_notebook(cells, fw, source)), encoding="utf-8")
        written.append(target)
    return written


def chapter_sources(root: Path) -> list[Path]:
    """Every ``authoring/NN_topic/topic.py`` under ``root``."""
    return sorted(p for p in (Path(root) / "authoring").glob("[0-9][0-9]_*/*.py") if not p.name.startswith("_"))


def build_all(root: Path) -> list[Path]:
    root = Path(root)
    out = []
    for src in chapter_sources(root):
        out += build_chapter(src, root / "solutions" / src.parent.name)
    return out
