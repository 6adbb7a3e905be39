"""``genlab grade PATH.ipynb``: autograde one notebook and print a table or ``--json``.

Exit status: 0 when a grade was produced (whatever the score), 2 for input that cannot be
graded (a one-line reason on stderr, its last line), 1 when the grader itself failed.

Progress goes to stderr, never stdout (which holds only the table or the JSON): a line when the
submission passed its checks and its notebook starts, and one every :data:`HEARTBEAT_S` seconds while it runs
(``genlab grade: grading 02_vae/vae_pytorch: 45 s``); ``--quiet`` turns them off.
"""
from __future__ import annotations

import argparse
import sys
import threading
import time

PROG = "genlab grade"
#: Seconds between two progress lines on stderr.
HEARTBEAT_S = 15.0


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of seconds: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def parser() -> argparse.ArgumentParser:
    from .grade import DEFAULT_TIMEOUT

    ap = argparse.ArgumentParser(prog=PROG, description="Autograde one notebook with nbgrader, in a "
                                 "temporary copy of the course (nothing is written into the course).")
    ap.add_argument("path", help="the notebook: .../<chapter>/<notebook>.ipynb")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    ap.add_argument("--feedback", metavar="DIR", help="write HTML feedback (without hidden tests) to "
                    "DIR/<notebook>.html")
    ap.add_argument("--course", metavar="ROOT", help="the course root (default: this checkout)")
    ap.add_argument("--timeout", metavar="SECONDS", type=_positive_int, default=DEFAULT_TIMEOUT,
                    help=f"per-cell timeout (default {DEFAULT_TIMEOUT}); a cell over it scores 0")
    ap.add_argument("--kernel", metavar="NAME", help="Jupyter kernel (default: genlab, else python3)")
    ap.add_argument("--full", action="store_true", help="run in full mode (GENLAB_QUICK=0) instead of QUICK")
    ap.add_argument("--quiet", action="store_true", help=f"no progress lines on stderr (by default: one when "
                    f"grading starts, then one every {HEARTBEAT_S:g} s)")
    add_safety_options(ap)
    return ap


def add_safety_options(ap: argparse.ArgumentParser) -> None:
    """--notebook-timeout, --memory and --unsafe (shared with grade-class)."""
    from .grade import DEFAULT_NOTEBOOK_TIMEOUT

    ap.add_argument("--notebook-timeout", metavar="SECONDS", type=_positive_int, default=None,
                    help=f"limit for the whole notebook (default {DEFAULT_NOTEBOOK_TIMEOUT}, at least --timeout); "
                    "cells not run in time score 0")
    ap.add_argument("--memory", metavar="MIB", type=_positive_int, default=None,
                    help="memory limit of the sandboxed kernel in MiB (default 4096)")
    ap.add_argument("--unsafe", action="store_true", help="grade even where no sandbox can be set up "
                    "(the notebook's code then runs with your rights: trusted notebooks only)")


def limits_from(args):
    from .sandbox import Limits

    return Limits(memory_mb=args.memory) if args.memory else None


def _fmt(x: float) -> str:
    return f"{x:g}"


def format_table(result) -> str:
    rows = [(t.grade_id, _fmt(t.score), _fmt(t.max_score), t.error or "") for t in result.tests]
    rows.append(("total", _fmt(result.score), _fmt(result.max_score), ""))
    header = ("test", "points", "max", "error")
    w = [max(len(r[i]) for r in [header, *rows]) for i in range(3)]
    lines = [f"{result.assignment}/{result.notebook}"]
    for i, r in enumerate([header, *rows]):
        if i == len(rows):  # separator before the total
            lines.append("-" * (w[0] + w[1] + w[2] + 6))
        lines.append(f"{r[0]:<{w[0]}}  {r[1]:>{w[1]}}  {r[2]:>{w[2]}}  {r[3]}".rstrip())
    return "\n".join(lines)


class Progress:
    """Progress lines on stderr while a grading runs: ``grading LABEL`` at the start, then
    ``grading LABEL: N s`` every ``every`` seconds until the block ends (a context manager)."""

    def __init__(self, label: str, every: float, quiet: bool = False):
        self.label, self.every, self.quiet = label, every, quiet
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._t0 = 0.0

    def _say(self, text: str) -> None:
        print(f"{PROG}: {text}", file=sys.stderr, flush=True)

    def _beat(self) -> None:
        while not self._stop.wait(self.every):
            self._say(f"grading {self.label}: {time.monotonic() - self._t0:.0f} s")

    def __enter__(self) -> "Progress":
        return self

    def start(self) -> None:
        """Called by the grader once the submission passed its checks and the notebook starts."""
        self._t0 = time.monotonic()
        if not self.quiet and self._thread is None:
            self._say(f"grading {self.label}")
            self._thread = threading.Thread(target=self._beat, name="genlab grade progress", daemon=True)
            self._thread.start()

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


def _label(path: str) -> str:
    """``<assignment>/<notebook>`` as the grader reads them from the path (else the path itself)."""
    from pathlib import Path

    p = Path(path).expanduser().resolve()
    return f"{p.parent.name}/{p.stem}"


def grade_main(argv: list[str]) -> int:
    try:
        args = parser().parse_args(argv)
    except SystemExit as e:  # --help, or a usage error (argparse printed it)
        return int(e.code or 0)
    from .runner import skip_slow_optional_imports

    skip_slow_optional_imports()  # this process is the `genlab` command: ours to tune
    from .errors import GradingError
    from .grade import grade_notebook

    try:
        with Progress(_label(args.path), HEARTBEAT_S, quiet=args.quiet) as progress:
            result = grade_notebook(args.path, course_root=args.course, quick=not args.full,
                                    timeout=args.timeout, kernel=args.kernel, feedback_dir=args.feedback,
                                    notebook_timeout=args.notebook_timeout, unsafe=args.unsafe,
                                    limits=limits_from(args), on_start=progress.start)
    except GradingError as e:
        lines = str(e).strip().splitlines() or [type(e).__name__]
        print(f"{PROG}: {lines[0]}", file=sys.stderr)
        if len(lines) > 1:  # details of an internal failure
            print("\n".join(lines[1:]), file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    if args.json:
        print(result.to_json())
    else:
        print(format_table(result))
        if args.feedback:
            from pathlib import Path

            print(f"feedback: {Path(args.feedback) / (result.notebook + '.html')}")
    return 0
