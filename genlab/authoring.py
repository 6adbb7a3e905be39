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

The source is real Python (ruff lints it; markdown lines are comments). Code cells name the
framework's helpers ``genlab.fw`` (``from genlab.fw import grad_of, to_tensor as T``,
``import genlab.fw as _fw``) and the build rewrites that dotted name, token by token, to
``genlab.torch`` or ``genlab.tf``, so one test cell serves both notebooks; a built notebook never
mentions ``genlab.fw`` (the build rejects one that would). ``genlab/fw.py`` is a stand-in that only
editors read.

Markdown lines are written as comments (``# text``; a lone ``#`` is a blank line). In markdown
``{{fw}}`` becomes ``torch`` or ``tf`` and ``{{framework}}`` ``PyTorch`` or ``TensorFlow``.
The build also rejects control characters (a backspace where ``\\beta`` was meant) and markdown
math whose ``$`` or ``$$`` delimiters do not pair up, naming file and line.

Cell ids: graded cells carry their ``grade_id``; every other cell ``c-`` and the first 8 hex digits
of the SHA-1 of its text (``-2``, ``-3``, ... for repeats), so inserting a cell changes no other id.
"""
from __future__ import annotations

import ast
import hashlib
import io
import re
import shlex
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

FRAMEWORKS = {"torch": "pytorch", "tf": "tensorflow"}
DISPLAY = {"torch": "PyTorch", "tf": "TensorFlow"}
KERNELSPEC = {"name": "genlab", "display_name": "Python 3 (genlab)", "language": "python"}
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
FW_MODULE = ("genlab", "fw")  # the dotted name code cells use for genlab.torch / genlab.tf
_FW_LEFT = re.compile(r"\bgenlab\s*\.\s*fw\b")
_PLACEHOLDER = re.compile(r"\{\{(fw|framework)\}\}")
# every C0/C1 control character except tab and newline (a "\b" typed through an escaping layer
# lands as U+0008 and shows as "Math input error"; CRLF line ends are read as LF)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROL_NAMES = {"\b": "a backspace: did you mean a backslash, as in \\beta?",
                  "\r": "a carriage return: did you mean \\rho?",
                  "\f": "a form feed: did you mean \\frac?",
                  "\v": "a vertical tab: did you mean \\varepsilon or \\vec?",
                  "\x07": "a bell: did you mean \\alpha?",
                  "\t": "a tab: did you mean \\theta or \\tau?"}


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
    line: int = 0  # the header's line in the source file
    path: str = "<source>"

    def first_line(self) -> int:
        """The source file's line number of the first line of ``source()``."""
        skipped = next((i for i, ln in enumerate(self.lines) if ln != ""), 0)
        return self.line + 1 + skipped

    def source(self) -> str:
        text = "\n".join(self.lines).strip("\n")
        if self.kind == "markdown":
            out = []
            for offset, ln in enumerate(text.split("\n")):
                if ln == "#":
                    out.append("")
                elif ln.startswith("# "):
                    out.append(ln[2:])
                else:
                    raise AuthoringError(f"{self.path}:{self.first_line() + offset}: "
                                         f"markdown lines must start with '# ': {ln!r}")
            text = "\n".join(out)
        return text


def parse(path: Path) -> list[Cell]:
    """Split a chapter source into cells and check their headers and characters."""
    cells: list[Cell] = []
    current: Cell | None = None
    text = Path(path).read_bytes().decode("utf-8").replace("\r\n", "\n")  # a lone "\r" is an error below
    for lineno, raw in enumerate(text.split("\n"), start=1):
        bad = _CONTROL.search(raw)
        if bad is None and current is not None and current.kind == "markdown" and not raw.startswith("# %%"):
            bad = re.search("\t", raw)
        if bad:
            char = bad.group()
            what = _CONTROL_NAMES.get(char, "a control character")
            raise AuthoringError(f"{path}:{lineno}:{bad.start() + 1}: U+{ord(char):04X} is {what}")
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
    cell = Cell(kind=kind, line=lineno, path=str(path))
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


def _code_for(cell: Cell, src: str, framework: str) -> str:
    """A code cell's text for one framework: ``genlab.fw`` rewritten, then checked to be valid Python."""
    first = cell.first_line()
    found = _PLACEHOLDER.search(src)
    if found:
        line = first + src.count("\n", 0, found.start())
        raise AuthoringError(f"{cell.path}:{line}: {found.group()} in a code cell: code writes genlab.fw "
                             "(the build makes it genlab.torch / genlab.tf); {{fw}} and {{framework}} are for markdown")
    src = rewrite_fw(src, framework, cell.path, first)
    try:
        tree = ast.parse(src)
    except SyntaxError as exc:
        raise AuthoringError(f"{cell.path}:{first + (exc.lineno or 1) - 1}: {exc.msg}") from None
    for node in ast.walk(tree):  # `from genlab import fw` would import the editors' stand-in
        if isinstance(node, ast.ImportFrom) and node.module == FW_MODULE[0] and any(
                a.name == FW_MODULE[1] for a in node.names):
            raise AuthoringError(f"{cell.path}:{first + node.lineno - 1}: import genlab.fw by its dotted name "
                                 "(`import genlab.fw as _fw`), so the build can rewrite it")
    left = _FW_LEFT.search(src)
    if left:
        line = first + src.count("\n", 0, left.start())
        raise AuthoringError(f"{cell.path}:{line}: genlab.fw where the build does not rewrite it (a string, a "
                             "comment, x.genlab.fw): a notebook must name genlab.torch or genlab.tf")
    return src


def dotted_name_spans(src: str, first: str, second: str) -> list[tuple[int, int]]:
    """Character spans of ``second`` in every dotted name ``first.second`` of Python code (tokens,
    not text: strings, comments, ``x.first.second`` and ``first.secondx`` do not count)."""
    tokens = list(tokenize.generate_tokens(io.StringIO(src).readline))
    starts = [0]
    for ln in src.splitlines(keepends=True):
        starts.append(starts[-1] + len(ln))
    spans = []
    for i in range(len(tokens) - 2):
        a, dot, b = tokens[i:i + 3]
        if (a.type == tokenize.NAME and a.string == first and dot.type == tokenize.OP and dot.string == "."
                and b.type == tokenize.NAME and b.string == second
                and not (i and tokens[i - 1].type == tokenize.OP and tokens[i - 1].string == ".")):
            spans.append((starts[b.start[0] - 1] + b.start[1], starts[b.end[0] - 1] + b.end[1]))
    return spans


def replace_spans(src: str, spans: list[tuple[int, int]], text: str) -> str:
    for lo, hi in reversed(spans):
        src = src[:lo] + text + src[hi:]
    return src


def rewrite_fw(src: str, framework: str, path: str = "<source>", first_line: int = 1) -> str:
    """Rewrite the dotted name ``genlab.fw`` to ``genlab.<framework>`` in Python code, token by token.

    Only the name tokens ``genlab`` ``.`` ``fw`` (not after another ``.``) change: ``genlab.fwd``,
    ``my_genlab.fw``, ``x.genlab.fw``, strings and comments stay as they are.
    """
    try:
        spans = dotted_name_spans(src, *FW_MODULE)
    except (tokenize.TokenError, SyntaxError) as exc:
        row = exc.args[1][0] if isinstance(exc, tokenize.TokenError) else (exc.lineno or 1)
        raise AuthoringError(f"{path}:{first_line + row - 1}: {exc.args[0]}") from None
    return replace_spans(src, spans, framework)


def _check_math(text: str, path: str, first_line: int) -> None:
    """Markdown maths must pair its delimiters: ``$...$`` within a paragraph, ``$$...$$`` within the cell.

    ``\\$`` is a literal dollar; code spans and fenced code blocks are skipped.
    """
    open_at: tuple[str, int] | None = None  # (delimiter, line) of the math being read
    fenced = False
    for offset, line in enumerate(text.split("\n")):
        lineno = first_line + offset
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            continue
        if fenced:
            continue
        if not line.strip() and open_at and open_at[0] == "$":
            raise AuthoringError(f"{path}:{open_at[1]}: inline math opened with $ is not closed in its paragraph")
        line = re.sub(r"(`+).*?\1", "", line.replace("\\$", ""))  # escaped dollars, code spans
        i = 0
        while i < len(line):
            if line[i] != "$":
                i += 1
                continue
            delim = "$$" if line.startswith("$$", i) else "$"
            if open_at is None:
                open_at = (delim, lineno)
            elif open_at[0] == "$$" and delim == "$":
                pass  # a lone $ inside display maths
            else:
                delim = open_at[0]
                open_at = None
            i += len(delim)
    if open_at:
        raise AuthoringError(f"{path}:{open_at[1]}: math opened with {open_at[0]} is never closed")


def cell_id(src: str, used: set[str]) -> str:
    """``c-`` + 8 hex digits of the text's SHA-1, ``-2``, ``-3``... for repeats: unique, stable under insertion."""
    base = "c-" + hashlib.sha1(src.encode()).hexdigest()[:8]
    cid, n = base, 1
    while cid in used:
        n += 1
        cid = f"{base}-{n}"
    used.add(cid)
    return cid


def build_notebook(cells: list[Cell], framework: str, path: Path | str = "<source>") -> nbformat.NotebookNode:
    """The nbgrader source notebook of one framework ("torch" or "tf")."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": dict(KERNELSPEC),
                   "language_info": {"name": "python", "version": "3.11"},
                   "genlab": {"framework": FRAMEWORKS[framework]}}
    nb.cells = [node for _, node in built_cells(cells, framework, path)]
    nbformat.validate(nb)
    return nb


def built_cells(cells: list[Cell], framework: str, path: Path | str = "<source>") -> list[tuple[Cell, nbformat.NotebookNode]]:
    """Each notebook cell of one framework with the source cell it was built from."""
    out = []
    seen: set[str] = set()
    used: set[str] = set()
    for cell in (c for c in cells if c.only in (None, framework)):
        if cell.kind == "markdown":
            src = cell.source().replace("{{fw}}", framework).replace("{{framework}}", DISPLAY[framework])
            _check_math(src, cell.path, cell.first_line())
        else:
            src = _code_for(cell, cell.source(), framework)
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
            node.id = cell_id(src, used)
        out.append((cell, node))
    return out


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
