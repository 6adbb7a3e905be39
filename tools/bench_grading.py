"""Benchmark class grading (not a test): N copies of a chapter's notebook graded by
``genlab grade-class --jobs J`` (sandboxed, in parallel) against plain sequential
``nbgrader autograde`` (no sandbox, one process) on the same submissions.

    .venv/bin/python tools/bench_grading.py                 # 40 x 02_vae/vae_pytorch, --jobs 2
    .venv/bin/python tools/bench_grading.py --n 4 --json reports/bench_grading.json

Prints submissions per minute for both and the overhead per submission: our wall time per
submission times the number of jobs (the machine time each grading holds a slot) minus
nbgrader's wall time per submission. Both run in QUICK mode (GENLAB_QUICK=1).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def make_submissions(dest: Path, notebook: Path, n: int) -> Path:
    subs = dest / "submitted"
    for i in range(n):
        d = subs / f"student{i:03d}" / notebook.parent.name
        d.mkdir(parents=True)
        shutil.copy(notebook, d / notebook.name)
    return subs


def bench_ours(subs: Path, out: Path, jobs: int, timeout: int) -> tuple[float, dict]:
    from genlab.grading.batch import main, read_rows

    t0 = time.monotonic()
    rc = main([str(subs), "--out", str(out), "--jobs", str(jobs), "--timeout", str(timeout), "--no-db"])
    wall = time.monotonic() - t0
    rows = read_rows(out)
    statuses = {}
    for r in rows.values():
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    return wall, {"rc": rc, "statuses": statuses, "scores": sorted({r["score"] for r in rows.values()})}


def bench_nbgrader(work: Path, source: Path, subs: Path, timeout: int) -> tuple[float, dict]:
    """Sequential `nbgrader autograde` of every student, as an instructor would run it."""
    course = work / "nbcourse"
    (course / "source" / source.parent.name).mkdir(parents=True)
    shutil.copy(source, course / "source" / source.parent.name / source.name)
    shutil.copytree(subs, course / "submitted")
    (course / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.root = {str(course)!r}\n"
        f"c.ExecutePreprocessor.timeout = {timeout}\nc.Execute.timeout = {timeout}\n")
    env = {**os.environ, "GENLAB_QUICK": "1", "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    nbg = [sys.executable, "-m", "nbgrader"]
    run = lambda *a: subprocess.run([*nbg, *a], cwd=course, env=env, capture_output=True, text=True)  # noqa: E731
    r = run("generate_assignment", source.parent.name, "--force", "--create")
    if r.returncode:
        raise SystemExit(f"nbgrader generate_assignment failed:\n{r.stderr[-2000:]}")
    for student in sorted(p.name for p in subs.iterdir()):
        run("db", "student", "add", student)
    t0 = time.monotonic()
    r = run("autograde", source.parent.name, "--force")
    wall = time.monotonic() - t0
    return wall, {"rc": r.returncode}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=40, help="submissions (default 40)")
    ap.add_argument("--jobs", type=int, default=2, help="grade-class --jobs (default 2)")
    ap.add_argument("--notebook", default=str(ROOT / "solutions" / "02_vae" / "vae_pytorch.ipynb"),
                    help="the notebook copied as every student's submission (default: the VAE solution)")
    ap.add_argument("--timeout", type=int, default=300)
    ap.add_argument("--skip-nbgrader", action="store_true", help="only time grade-class")
    ap.add_argument("--json", metavar="PATH", help="also write the numbers as JSON")
    args = ap.parse_args(argv)
    os.environ["GENLAB_QUICK"] = "1"
    nb = Path(args.notebook).resolve()
    with tempfile.TemporaryDirectory(prefix="genlab-bench-grading-") as tmp:
        work = Path(tmp)
        subs = make_submissions(work, nb, args.n)
        ours, ours_info = bench_ours(subs, work / "grades.csv", args.jobs, args.timeout)
        result = {"n": args.n, "jobs": args.jobs, "notebook": str(nb.relative_to(ROOT) if nb.is_relative_to(ROOT) else nb),
                  "cpus": os.cpu_count(), "grade_class_seconds": round(ours, 1),
                  "grade_class_per_minute": round(60 * args.n / ours, 2), "grade_class": ours_info}
        # printed at once: the sequential nbgrader half takes longer still
        print(f"grade-class: {result['grade_class_seconds']} s, {result['grade_class_per_minute']}/min, "
              f"{ours_info}", flush=True)
        if not args.skip_nbgrader:
            base, base_info = bench_nbgrader(work, nb, subs, args.timeout)
            result.update(nbgrader_seconds=round(base, 1), nbgrader_per_minute=round(60 * args.n / base, 2),
                          nbgrader=base_info,
                          overhead_per_submission_s=round((ours * args.jobs - base) / args.n, 2))
    for k, v in result.items():
        print(f"{k:>28}: {v}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
