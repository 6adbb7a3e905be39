"""``genlab grade-class SUBMISSIONS --out grades.csv``: grade a whole class.

``SUBMISSIONS`` is nbgrader's ``submitted/`` folder: ``<student>/<chapter>/<notebook>.ipynb``.
Each notebook is graded with :func:`genlab.grading.grade_notebook` (sandboxed, in its own
temporary course), ``--jobs N`` at a time, with a progress bar on stderr. Results:

* ``--out grades.csv``: one row per student and notebook (:data:`COLUMNS`): score, max score,
  status (``ok``, or why there is no grade: ``bad_submission``, ``kernel_died``,
  ``kernel_unresponsive``, ``grader_failure``) and the reason. The file is rewritten after every
  notebook (atomically), so an interrupted run keeps what it graded.
* **Resumable**: a notebook whose row is already in ``--out`` for the same file contents
  (``sha256``) is skipped, unless ``--force`` or its status was ``grader_failure``.
* **Gradebook**: nbgrader's SQLite gradebook (``--db``, default ``gradebook.db`` next to the
  CSV); any SQLAlchemy URL works (``postgresql+pg8000://user@host/db``; a bare ``postgresql://``
  uses the pinned pg8000 driver when psycopg2 is not installed). Every graded notebook's test
  cells get their ``auto_score``; a notebook without a grade gets 0 in every test cell (never
  an old score).
* ``--feedback DIR``: ``DIR/<student>/<chapter>/<notebook>.html`` without hidden tests.
* ``--shard i/n`` grades the i-th of n deterministic slices (by a hash of student, chapter and
  notebook), so n machines can share a class; their CSVs concatenate to one run's.

One bad submission never stops the batch; the exit status is 0 unless the grader itself failed
on some notebook (1) or the arguments are wrong (2).
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import os
import sys
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

PROG = "genlab grade-class"
COLUMNS = ["student", "assignment", "notebook", "score", "max_score", "status", "reason", "sha256",
           "seconds", "graded_at"]
RETRY_STATUSES = {"grader_failure"}


@dataclass(frozen=True)
class Item:
    student: str
    assignment: str
    notebook: str
    path: Path

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.student, self.assignment, self.notebook)


def discover(submissions: Path) -> list[Item]:
    """Every ``<student>/<chapter>/<notebook>.ipynb`` under ``submissions``, sorted."""
    items = []
    for p in sorted(Path(submissions).glob("*/*/*.ipynb")):
        student, assignment = p.parent.parent.name, p.parent.name
        if student.startswith(".") or assignment.startswith("."):
            continue
        items.append(Item(student, assignment, p.stem, p))
    return items


def parse_shard(text: str) -> tuple[int, int]:
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected i/n, e.g. 1/4: {text!r}") from None
    if not (n >= 1 and 1 <= i <= n):
        raise argparse.ArgumentTypeError(f"need 1 <= i <= n: {text!r}")
    return i, n


def in_shard(item: Item, shard: tuple[int, int] | None) -> bool:
    if shard is None:
        return True
    i, n = shard
    h = int(hashlib.sha256("/".join(item.key).encode()).hexdigest()[:12], 16)
    return h % n == i - 1


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_rows(csv_path: Path) -> dict[tuple[str, str, str], dict]:
    if not csv_path.is_file():
        return {}
    with open(csv_path, newline="", encoding="utf-8") as f:
        return {(r["student"], r["assignment"], r["notebook"]): r for r in csv.DictReader(f)}


def write_rows(csv_path: Path, rows: dict) -> None:
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".grades-", suffix=".csv", dir=csv_path.parent)
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore")
        w.writeheader()
        for key in sorted(rows):
            w.writerow(rows[key])
    os.replace(tmp, csv_path)


def grade_one(item: Item, opts: dict) -> dict:
    """Grade one notebook; never raises (the failure is the row's status and reason)."""
    from .errors import BadSubmission, GradingError, KernelDied, KernelUnresponsive
    from .grade import grade_notebook

    row = {"student": item.student, "assignment": item.assignment, "notebook": item.notebook,
           "score": 0, "max_score": "", "status": "ok", "reason": "", "tests": []}
    t0 = time.monotonic()
    try:
        row["sha256"] = file_hash(item.path)
    except OSError as e:
        row["sha256"] = ""
        row.update(status="bad_submission", reason=f"cannot read: {e.strerror}")
        return row
    fb = opts.get("feedback")
    try:
        r = grade_notebook(item.path, course_root=opts.get("course"), quick=opts.get("quick", True),
                           timeout=opts.get("timeout", 300), kernel=opts.get("kernel"),
                           feedback_dir=(Path(fb) / item.student / item.assignment) if fb else None,
                           notebook_timeout=opts.get("notebook_timeout"), unsafe=opts.get("unsafe", False),
                           limits=opts.get("limits"))
        row.update(score=r.score, max_score=r.max_score, tests=[(t.grade_id, t.score, t.max_score) for t in r.tests])
    except KernelDied as e:
        row.update(status="kernel_died", reason=_line(e))
    except KernelUnresponsive as e:
        row.update(status="kernel_unresponsive", reason=_line(e))
    except BadSubmission as e:
        row.update(status="bad_submission", reason=_line(e))
    except GradingError as e:
        row.update(status="grader_failure", reason=_line(e))
    except Exception as e:  # noqa: BLE001 - one notebook must never stop the batch
        row.update(status="grader_failure", reason=f"{type(e).__name__}: {_line(e)}")
    row["seconds"] = f"{time.monotonic() - t0:.1f}"
    row["graded_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return row


def _line(e: BaseException) -> str:
    lines = str(e).strip().splitlines()
    return lines[0] if lines else type(e).__name__


# --- the gradebook ----------------------------------------------------------------------------

def autograded_cells(source: Path) -> list[tuple[str, float]]:
    """(grade_id, points) of the source notebook's autograded test cells."""
    import nbformat

    nb = nbformat.read(source, as_version=4)
    out = []
    for cell in nb.cells:
        md = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and md.get("grade") and not md.get("solution"):
            out.append((md["grade_id"], float(md.get("points", 0))))
    return out


def gradebook_url(url: str) -> str:
    """``postgresql://`` (or ``postgres://``) without a driver means SQLAlchemy's default,
    psycopg2, which genlab does not install: use the pinned pure-Python pg8000 instead when
    psycopg2 is missing. Any other URL (``postgresql+psycopg://``, ``sqlite:///``) is kept."""
    import importlib.util

    scheme, sep, rest = url.partition("://")
    if sep and scheme in ("postgresql", "postgres") and importlib.util.find_spec("psycopg2") is None \
            and importlib.util.find_spec("pg8000") is not None:
        return "postgresql+pg8000://" + rest
    return url


class ClassGradebook:
    """nbgrader's gradebook (any SQLAlchemy URL) with the grades of a batch."""

    def __init__(self, db_url: str, course):
        from nbgrader.api import Gradebook

        from .runner import create_gradebook

        if db_url.startswith("sqlite:///") and not Path(db_url[len("sqlite:///"):]).exists():
            Path(db_url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
            create_gradebook(db_url)
        self.gb = Gradebook(gradebook_url(db_url))
        self.course = course
        self._known: set[tuple[str, str]] = set()

    def close(self) -> None:
        self.gb.close()

    def _ensure_notebook(self, assignment: str, notebook: str) -> list[tuple[str, float]]:
        from .submission import Submission, find_source

        src = find_source(self.course, Submission(Path("."), assignment, notebook))
        cells = autograded_cells(src)
        if (assignment, notebook) not in self._known:
            gb = self.gb
            gb.update_or_create_assignment(assignment)
            gb.update_or_create_notebook(notebook, assignment)
            for gid, points in cells:
                gb.update_or_create_grade_cell(gid, notebook, assignment, max_score=points, cell_type="code")
            self._known.add((assignment, notebook))
        return cells

    def record(self, row: dict) -> None:
        try:
            cells = self._ensure_notebook(row["assignment"], row["notebook"])
        except Exception:  # unknown chapter/notebook: nothing to record in the gradebook
            return
        gb = self.gb
        gb.update_or_create_student(row["student"])
        with warnings.catch_warnings():
            # nbgrader 0.9.6's add_submission trips SQLAlchemy's autoflush warnings (harmless)
            warnings.simplefilter("ignore")
            self._record(gb, row, cells)

    def _record(self, gb, row: dict, cells: list) -> None:
        from nbgrader.api import MissingEntry

        try:
            gb.find_submission(row["assignment"], row["student"])
        except MissingEntry:
            gb.add_submission(row["assignment"], row["student"])
        scores = {gid: s for gid, s, _ in row.get("tests", [])} if row["status"] == "ok" else {}
        for gid, _points in cells:
            try:
                grade = gb.find_grade(gid, row["notebook"], row["assignment"], row["student"])
            except MissingEntry:
                # a notebook added to the assignment after this submission was created
                gb.add_submission(row["assignment"], row["student"])
                grade = gb.find_grade(gid, row["notebook"], row["assignment"], row["student"])
            grade.auto_score = float(scores.get(gid, 0.0))  # 0, never a stale score
            grade.needs_manual_grade = False
        gb.db.commit()


# --- the command --------------------------------------------------------------------------------

def parser() -> argparse.ArgumentParser:
    from .cli import _positive_int, add_safety_options
    from .grade import DEFAULT_TIMEOUT

    ap = argparse.ArgumentParser(prog=PROG, description="Grade every submitted notebook of a class "
                                 "(nbgrader's submitted/<student>/<chapter>/<notebook>.ipynb).")
    ap.add_argument("submissions", help="the submitted/ folder")
    ap.add_argument("--out", required=True, metavar="CSV", help="grades CSV (read to resume, rewritten as it goes)")
    ap.add_argument("--feedback", metavar="DIR", help="HTML feedback to DIR/<student>/<chapter>/<notebook>.html")
    ap.add_argument("--jobs", type=_positive_int, default=1, metavar="N", help="notebooks graded at a time")
    ap.add_argument("--force", action="store_true", help="grade again what the CSV already has")
    ap.add_argument("--db", metavar="URL", help="gradebook SQLAlchemy URL (default: sqlite gradebook.db next "
                    "to the CSV; postgresql://... for PostgreSQL)")
    ap.add_argument("--no-db", action="store_true", help="write no gradebook")
    ap.add_argument("--shard", type=parse_shard, metavar="i/n", help="grade only the i-th of n slices")
    ap.add_argument("--course", metavar="ROOT", help="the course root (default: this checkout)")
    ap.add_argument("--timeout", type=_positive_int, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                    help=f"per-cell timeout (default {DEFAULT_TIMEOUT})")
    ap.add_argument("--kernel", metavar="NAME", help="Jupyter kernel (default: genlab, else python3)")
    ap.add_argument("--full", action="store_true", help="full mode (GENLAB_QUICK=0)")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    add_safety_options(ap)
    return ap


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = parser().parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    from .cli import limits_from
    from .errors import GradingError
    from .runner import skip_slow_optional_imports
    from .submission import load_course

    skip_slow_optional_imports()
    subs = Path(args.submissions)
    if not subs.is_dir():
        print(f"{PROG}: not a folder: {subs}", file=sys.stderr)
        return 2
    try:
        course = load_course(args.course)
    except GradingError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 2
    out = Path(args.out)
    rows = read_rows(out)
    items = [it for it in discover(subs) if in_shard(it, args.shard)]
    todo = []
    for it in items:
        old = rows.get(it.key)
        if (not args.force and old is not None and old.get("status") not in RETRY_STATUSES
                and old.get("sha256") == _safe_hash(it.path)):
            continue
        todo.append(it)
    skipped = len(items) - len(todo)
    opts = {"course": str(course.root), "quick": not args.full, "timeout": args.timeout, "kernel": args.kernel,
            "feedback": args.feedback, "notebook_timeout": args.notebook_timeout, "unsafe": args.unsafe,
            "limits": class_limits(limits_from(args), args.jobs)}
    gradebook = None
    if not args.no_db:
        url = args.db or "sqlite:///" + str((out.parent / "gradebook.db").resolve())
        gradebook = ClassGradebook(url, course)
    print(f"{PROG}: {len(items)} notebooks, {len(todo)} to grade, {skipped} already graded "
          f"({args.jobs} at a time)", file=sys.stderr)
    failures = 0
    bar = _progress(len(todo), args.quiet)
    try:
        with ThreadPoolExecutor(max_workers=args.jobs) as ex:
            futures = {ex.submit(grade_one, it, opts): it for it in todo}
            for fut in as_completed(futures):
                row = fut.result()
                failures += row["status"] == "grader_failure"
                if gradebook is not None:
                    try:
                        gradebook.record(row)
                    except Exception as e:  # noqa: BLE001 - keep the CSV going
                        row["reason"] = (row["reason"] + "; " if row["reason"] else "") + f"gradebook: {e}"
                rows[futures[fut].key] = row
                write_rows(out, rows)
                bar.update(1)
                bar.set_postfix_str(f"{row['student']}/{row['assignment']}: {row['status']}")
    finally:
        bar.close()
        if gradebook is not None:
            gradebook.close()
    if not todo:
        write_rows(out, rows)
    print(f"{PROG}: wrote {out}" + (f"; the grader failed on {failures} notebook(s)" if failures else ""),
          file=sys.stderr)
    return 1 if failures else 0


def class_limits(limits, jobs: int):
    """Each of ``jobs`` parallel kernels gets at most its share of the CPUs (cgroup quota)."""
    import dataclasses

    from .sandbox import Limits

    limits = limits or Limits()
    if limits.cpus is None and jobs > 1:
        limits = dataclasses.replace(limits, cpus=max(1.0, (os.cpu_count() or 1) / jobs))
    return limits


def _safe_hash(path: Path) -> str:
    try:
        return file_hash(path)
    except OSError:
        return ""


def _progress(total: int, quiet: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="grading", unit="nb", file=sys.stderr, disable=quiet or total == 0)
