"""Coding drills: timed practice notebooks assembled from the chapters' autograded exercises.

``genlab drill --code [--chapter vae] [--n 3] [--framework pytorch] --out drill.ipynb`` picks
``n`` exercises (plus the exercises they call, e.g. the negative ELBO needs the KL and the
likelihood) from the released chapters (``chapters/``: exercise text, the empty solution cell,
the visible tests) and writes one notebook that starts with the chapter's set-up cell. The
notebook records what it holds in ``metadata.genlab.drill``, so ``genlab grade drill.ipynb``
can rebuild the matching instructor notebook from ``solutions/`` (:func:`drill_source`, the same
cells with the hidden tests) and grade the drill like any chapter.

Cells keep their nbgrader ``grade_id``; their cell ids get the chapter as prefix, so exercises
of different chapters can share one notebook. A drill uses one framework only.
"""
from __future__ import annotations

import copy
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

FRAMEWORKS = ("pytorch", "tensorflow")
MINUTES_PER_POINT = 5
DRILL_ASSIGNMENT = "drill"


class DrillError(ValueError):
    """A drill that cannot be assembled or rebuilt; the message says why."""


@dataclass
class Unit:
    """One exercise of one chapter notebook: its statement, solution and test cells (by index)."""

    chapter: str
    notebook: str  # file stem, e.g. vae_pytorch
    grade_id: str
    cells: list[int]  # markdown statement (if any), solution cell, test cell
    points: float
    defines: set[str]
    uses: set[str]


def _nbg(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _units(nb, chapter: str, notebook: str) -> list[Unit]:
    cells = nb["cells"]
    where = {_nbg(c).get("grade_id"): i for i, c in enumerate(cells) if _nbg(c).get("grade_id")}
    units = []
    for i, cell in enumerate(cells):
        meta = _nbg(cell)
        if not meta.get("solution") or cell["cell_type"] != "code":
            continue
        gid = meta["grade_id"]
        test = where.get(f"{gid}_test")
        if test is None:
            continue
        idx = ([i - 1] if i > 0 and cells[i - 1]["cell_type"] == "markdown" else []) + [i, test]
        src = "".join(cell["source"])
        units.append(Unit(chapter, notebook, gid, idx, float(_nbg(cells[test])["points"]),
                          set(re.findall(r"^def (\w+)\(", src, re.M)), set(re.findall(r"\b(\w+)\(", src))))
    for u in units:
        u.uses = {n for n in u.uses - u.defines if any(n in v.defines for v in units if v is not u)}
    return units


def _setup_cell(nb) -> int:
    for i, c in enumerate(nb["cells"]):
        if c["cell_type"] == "code" and not _nbg(c):
            return i
    raise DrillError("the chapter notebook has no set-up cell")


def _with_dependencies(chosen: list[Unit], units: list[Unit]) -> list[Unit]:
    """``chosen`` plus every exercise whose functions they call, in notebook order."""
    keep = {u.grade_id for u in chosen}
    changed = True
    while changed:
        changed = False
        for u in units:
            if u.grade_id in keep:
                for v in units:
                    if v.grade_id not in keep and u.uses & v.defines:
                        keep.add(v.grade_id)
                        changed = True
    return [u for u in units if u.grade_id in keep]


def _copy_cell(cell, chapter: str):
    c = copy.deepcopy(cell)
    c["id"] = f"{chapter}-{cell.get('id', 'cell')}"[:64]
    if c["cell_type"] == "code":
        c["outputs"], c["execution_count"] = [], None
    return c


def _read(path: Path):
    if not path.is_file():
        raise DrillError(f"missing notebook {path}")
    return nbformat.read(path, as_version=4)


def assemble(root: Path, chapters: list[str] | None = None, n: int = 3, framework: str = "pytorch",
             seed: int | None = None) -> nbformat.NotebookNode:
    """A drill notebook of ``n`` exercises (and their dependencies) drawn from ``chapters``."""
    root = Path(root)
    if framework not in FRAMEWORKS:
        raise DrillError(f"framework must be one of {FRAMEWORKS}, got {framework!r}")
    if n < 1:
        raise DrillError("a drill needs at least one exercise (--n >= 1)")
    available = sorted(p.name for p in (root / "chapters").iterdir() if p.is_dir()) if (root / "chapters").is_dir() else []
    chapters = chapters or available
    pool: list[tuple[str, str, list[Unit]]] = []
    for ch in chapters:
        for path in sorted((root / "chapters" / ch).glob(f"*_{framework}.ipynb")):
            # which exercise calls which is read from the reference solutions (the release has stubs)
            pool.append((ch, path.stem, _units(_read(root / "solutions" / ch / path.name), ch, path.stem)))
    candidates = [u for _, _, units in pool for u in units]
    if not candidates:
        raise DrillError(f"no {framework} exercises in {', '.join(chapters) or 'chapters/'} (released chapters: {', '.join(available) or 'none'})")
    rng = random.Random(seed)
    picked = rng.sample(candidates, min(n, len(candidates)))
    items = []
    for ch, stem, units in pool:
        mine = [u for u in picked if u.chapter == ch and u.notebook == stem]
        if mine:
            items.append({"chapter": ch, "notebook": stem,
                          "grade_ids": [u.grade_id for u in _with_dependencies(mine, units)]})
    return _build(root, items, framework, release=True)


def _build(root: Path, items: list[dict], framework: str, release: bool) -> nbformat.NotebookNode:
    folder = "chapters" if release else "solutions"
    out = nbformat.v4.new_notebook()
    out.metadata = {"kernelspec": {"name": "genlab", "display_name": "Python 3 (genlab)", "language": "python"},
                    "language_info": {"name": "python", "version": "3.11"},
                    "genlab": {"framework": framework, "drill": {"items": items}}}
    points = 0.0
    body = []
    seen_ids: set[str] = set()
    for item in items:
        ch, stem = item["chapter"], item["notebook"]
        if not re.fullmatch(r"[0-9]{2}_[a-z0-9_]+", str(ch)) or not re.fullmatch(r"[a-z0-9_]+", str(stem)):
            raise DrillError(f"bad drill item {item!r}")
        nb = _read(Path(root) / folder / ch / f"{stem}.ipynb")
        units = {u.grade_id: u for u in _units(nb, ch, stem)}
        setup = _copy_cell(nb["cells"][_setup_cell(nb)], ch)
        body.append(nbformat.v4.new_markdown_cell(f"## From `{ch}/{stem}`", id=f"{ch}-drill-head"[:64]))
        body.append(setup)
        for gid in item["grade_ids"]:
            if gid not in units or gid in seen_ids:
                raise DrillError(f"{ch}/{stem} has no exercise {gid!r} (or it is listed twice)")
            seen_ids.add(gid)
            points += units[gid].points
            body += [_copy_cell(nb["cells"][i], ch) for i in units[gid].cells]
    minutes = int(round(points * MINUTES_PER_POINT))
    titles = ", ".join(f"`{g}`" for it in items for g in it["grade_ids"])
    out.cells.append(nbformat.v4.new_markdown_cell(
        f"# Coding drill · 编程练习\n\n{len(seen_ids)} exercises ({points:g} points): {titles}.\n\n"
        f"Time limit: **{minutes} minutes** (about {MINUTES_PER_POINT} minutes per point). Run the next cell to start the clock, "
        "fill in every `YOUR CODE HERE`, run the visible tests, then grade the whole drill with `genlab grade <this notebook>` "
        "(the hidden tests decide).", id="drill-title"))
    out.cells.append(nbformat.v4.new_code_cell(
        f"import time\nDRILL_MINUTES = {minutes}\nDRILL_START = time.time()\n"
        "print(f\"Clock started: {DRILL_MINUTES} minutes, until {time.strftime('%H:%M', time.localtime(DRILL_START + 60 * DRILL_MINUTES))}\")",
        id="drill-clock"))
    out.cells += body
    out.cells.append(nbformat.v4.new_code_cell(
        "used = (time.time() - DRILL_START) / 60\nprint(f\"{used:.1f} of {DRILL_MINUTES} minutes used\" + (\" (over time)\" if used > DRILL_MINUTES else \"\"))",
        id="drill-stop"))
    nbformat.validate(out)
    return out


def drill_items(nb) -> list[dict] | None:
    """The drill description stored in a notebook's metadata, or None for a chapter notebook."""
    meta = nb.get("metadata", {}).get("genlab", {})
    drill = meta.get("drill") if isinstance(meta, dict) else None
    if drill is None:
        return None
    items = drill.get("items") if isinstance(drill, dict) else None
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) and isinstance(i.get("grade_ids"), list) for i in items):
        raise DrillError("metadata.genlab.drill is malformed")
    return items


def drill_source(root: Path, nb) -> nbformat.NotebookNode:
    """The instructor notebook of a drill: the same exercises taken from ``solutions/`` (hidden tests included)."""
    items = drill_items(nb)
    if items is None:
        raise DrillError("not a drill notebook (no metadata.genlab.drill)")
    framework = nb["metadata"]["genlab"].get("framework")
    if framework not in FRAMEWORKS:
        raise DrillError(f"drill framework must be one of {FRAMEWORKS}")
    return _build(Path(root), items, framework, release=False)


def write(nb, path: Path) -> Path:
    path = Path(path)
    if path.suffix != ".ipynb":
        raise DrillError(f"the drill must be written to a .ipynb file, got {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
