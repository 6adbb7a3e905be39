"""`genlab sync NOTEBOOK`: bring edits made in one framework's notebook back into the chapter source.

A notebook-first contributor opens ``solutions/NN_topic/topic_pytorch.ipynb`` (or the TensorFlow
one) in JupyterLab, runs it, edits it, saves it, and then runs ``genlab sync`` on it (as d2l's
``d2lbook activate`` does for its notebooks). Cells are matched by id (JupyterLab keeps them):

* an edited cell replaces the text of the source cell it was built from, with the build's
  substitutions undone: ``genlab.torch``/``genlab.tf`` become ``genlab.fw`` again in code, and in
  markdown the text that came from ``{{framework}}``/``{{fw}}`` keeps its placeholder (an edit that
  changes such a substituted word itself is refused: edit the source there);
* a new cell is inserted after the cell before it, tagged ``only=<framework>`` (remove the tag in
  the source if the other framework should have it too);
* a cell deleted in the notebook is reported, never deleted from the source.

A shared cell's edit changes both frameworks' notebooks: rebuild with ``genlab release CHAPTER``
and run the other notebook too. Nothing is written with ``--dry-run``.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from difflib import SequenceMatcher
from pathlib import Path

import nbformat

from genlab.authoring import (FRAMEWORKS, FW_MODULE, AuthoringError, Cell, built_cells, dotted_name_spans, parse,
                              replace_spans)

SUFFIX_TO_FW = {suffix: fw for fw, suffix in FRAMEWORKS.items()}


class SyncError(ValueError):
    """An edit that cannot be carried back into the source; the message says which cell and why."""


def unrewrite_fw(code: str, framework: str) -> str:
    """``genlab.<framework>`` back to ``genlab.fw``, token by token (the inverse of the build's rewrite)."""
    return replace_spans(code, dotted_name_spans(code, FW_MODULE[0], framework), FW_MODULE[1])


def carry_back(source: str, built: str, edited: str) -> str:
    """``source`` with the edits that turned ``built`` (= ``source`` after substitutions) into
    ``edited``; raises SyncError when an edit touches a substituted region."""
    blocks = SequenceMatcher(None, source, built, autojunk=False).get_matching_blocks()

    def to_source(pos: int) -> int | None:
        for a, b, size in blocks:
            if b <= pos <= b + size:
                return a + pos - b
        return None

    out, cursor = [], 0
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, built, edited, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        s1, s2 = to_source(i1), to_source(i2)
        if s1 is None or s2 is None or s2 - s1 != i2 - i1 or s1 < cursor:
            raise SyncError(f"the edit {built[i1:i2]!r} -> {edited[j1:j2]!r} touches text that comes from a "
                            "{{framework}}/{{fw}} placeholder")
        out += [source[cursor:s1], edited[j1:j2]]
        cursor = s2
    out.append(source[cursor:])
    return "".join(out)


def _markdown_body(cell: Cell) -> str:
    """A markdown cell's text with its placeholders (the '# ' comment prefixes removed)."""
    return cell.source()


def _as_comment_lines(text: str) -> list[str]:
    return ["#" if not ln else f"# {ln}" for ln in text.split("\n")]


def new_body(cell: Cell, built: str, edited: str, framework: str) -> list[str]:
    """The source lines of ``cell`` after the notebook's edit."""
    edited = edited.strip("\n")  # the build strips a cell's leading and trailing blank lines too
    if cell.kind == "code":
        return unrewrite_fw(edited, framework).split("\n")
    try:
        return _as_comment_lines(carry_back(_markdown_body(cell), built, edited))
    except SyncError as err:
        raise SyncError(f"{cell.path}:{cell.line}: {err}") from None


def _header(kind: str, framework: str) -> str:
    return f"# %% [markdown] only={framework}" if kind == "markdown" else f"# %% only={framework}"


def sync(notebook: Path, source: Path | None = None, dry_run: bool = False) -> list[str]:
    """Carry ``notebook``'s edits into its chapter source; returns what was done, one line each."""
    notebook = Path(notebook).resolve()
    topic, _, suffix = notebook.stem.rpartition("_")
    framework = SUFFIX_TO_FW.get(suffix)
    if framework is None:
        raise SyncError(f"{notebook.name}: not a chapter notebook (want <topic>_pytorch.ipynb or <topic>_tensorflow.ipynb)")
    if source is None:
        root = notebook.parents[2]
        source = root / "authoring" / notebook.parent.name / f"{topic}.py"
    if not source.is_file():
        raise SyncError(f"no chapter source {source} for {notebook}")
    cells = parse(source)
    built = {node.id: (cell, node) for cell, node in built_cells(cells, framework, source)}
    edited = nbformat.read(notebook, as_version=4)
    lines = source.read_text(encoding="utf-8").split("\n")
    bodies: dict[int, list[str]] = {}     # header line -> new body lines
    inserts: dict[int, list[str]] = {}    # header line of the cell they follow -> new cells' lines
    report, previous, matched = [], None, set()
    for node in edited.cells:
        text = node.source if isinstance(node.source, str) else "".join(node.source)
        hit = built.get(node.get("id"))
        if hit is not None and hit[1].cell_type == node.cell_type:
            cell, built_node = hit
            matched.add(node.id)
            previous = cell
            if text != built_node.source:
                bodies[cell.line] = new_body(cell, built_node.source, text, framework)
                report.append(f"changed {cell.kind} cell at {source.name}:{cell.line}")
            continue
        if node.cell_type not in ("markdown", "code") or not text.strip():
            continue
        text = text.strip("\n")
        body = _as_comment_lines(text) if node.cell_type == "markdown" else unrewrite_fw(text, framework).split("\n")
        after = previous.line if previous is not None else 0
        inserts.setdefault(after, []).extend([_header(node.cell_type, framework), *body, ""])
        report.append(f"new {node.cell_type} cell (only={framework}) after {source.name}:{after}")
    for node_id, (cell, _) in built.items():
        if node_id not in matched:
            report.append(f"cell at {source.name}:{cell.line} is not in the notebook: left in the source")
    if not (bodies or inserts):
        return report
    out = list(inserts.get(0, []))
    by_header = {c.line: c for c in cells}
    first = min(by_header)
    out += lines[:first - 1]
    for i, cell in enumerate(cells):
        end = cells[i + 1].line - 1 if i + 1 < len(cells) else len(lines)
        chunk = lines[cell.line - 1:end]  # header + body + trailing blank lines
        if cell.line in bodies:
            body = chunk[1:]
            blank = len(body) - len("\n".join(body).rstrip("\n").split("\n")) if "".join(body).strip() else len(body)
            chunk = [chunk[0], *bodies[cell.line], *([""] * blank)]
        out += chunk
        if cell.line in inserts:
            if out and out[-1] != "":
                out.append("")
            out += inserts[cell.line]
    text = "\n".join(out)
    if not dry_run:
        with tempfile.TemporaryDirectory(prefix="genlab-sync-") as tmp:
            check = Path(tmp) / source.name
            check.write_text(text, encoding="utf-8")
            try:
                for fw in FRAMEWORKS:
                    built_cells(parse(check), fw, check)  # the new source must still build
            except AuthoringError as err:
                raise SyncError(f"the synced source would not build: {err}") from None
        source.write_text(text, encoding="utf-8")
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="genlab sync", description=__doc__.split("\n\n")[0])
    ap.add_argument("notebook", type=Path, help="an edited solutions/NN_topic/topic_<framework>.ipynb")
    ap.add_argument("--dry-run", action="store_true", help="say what would change, write nothing")
    args = ap.parse_args(argv)
    try:
        for line in sync(args.notebook, dry_run=args.dry_run) or ["nothing to carry back"]:
            print(line)
    except (SyncError, AuthoringError, FileNotFoundError) as err:
        print(f"genlab sync: {err}", file=sys.stderr)
        return 2
    if not args.dry_run:
        print(f"now rebuild: genlab release {args.notebook.resolve().parent.name}")
    return 0
