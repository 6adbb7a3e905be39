"""`make bench`: run every solution notebook in QUICK and in full mode, time it, collect its figures.

Writes ``reports/bench.json`` and ``reports/bench.md``: per notebook and mode, the wall time (with
``--repeat N`` the fastest of N runs, all of them under ``runs``: a shared machine's load only ever adds
time) and every figure the notebook recorded with ``genlab.report``, and per chapter and mode the TensorFlow /
PyTorch wall-time ratio with a flag for a notebook over its budget (:data:`BUDGET`) or a ratio over
:data:`MAX_TF_RATIO`. A benchmark, not a test: the flags are printed, not raised. ``genlab bench 02_vae`` runs one chapter; ``--modes quick`` one mode.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from genlab.paths import course_root

MODES = ("quick", "full")
#: Wall-time budgets of a notebook on 2 CPU cores, seconds (the README's promise), and how much slower a
#: TensorFlow notebook may be than its PyTorch twin in the same mode.
BUDGET = {"quick": 60.0, "full": 600.0}
MAX_TF_RATIO = 1.3


def run_notebook(path: Path, quick: bool, timeout: int = 3600, kernel: str | None = None) -> dict:
    """Execute one notebook (in a scratch copy of its folder's context); returns time, figures, error."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory(prefix="genlab-bench-") as tmp:
        report_file = Path(tmp) / "report.jsonl"
        saved = {k: os.environ.get(k) for k in ("GENLAB_QUICK", "GENLAB_REPORT")}
        os.environ["GENLAB_QUICK"] = "1" if quick else "0"
        os.environ["GENLAB_REPORT"] = str(report_file)
        error = None
        start = time.perf_counter()
        try:
            client = NotebookClient(nb, timeout=timeout, kernel_name=kernel or nb.metadata.get("kernelspec", {}).get("name", "python3"),
                                    resources={"metadata": {"path": str(path.parent)}})
            client.execute()
        except CellExecutionError as err:
            error = str(err).strip().splitlines()[-1][:300]
        except Exception as err:  # a dead kernel, a timeout: record it, keep benchmarking the rest
            error = f"{type(err).__name__}: {str(err).strip()[:300]}"
        finally:
            seconds = time.perf_counter() - start
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        figures = {}
        if report_file.exists():
            for line in report_file.read_text().splitlines():
                row = json.loads(line)
                figures[row["key"]] = {"value": row["value"], "unit": row["unit"]}
    return {"seconds": round(seconds, 1), "figures": figures, "error": error}


def environment() -> dict:
    info = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
    try:
        import subprocess

        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=10)
        info["gpu"] = out.stdout.strip() or None
    except Exception:
        info["gpu"] = None
    return info


def to_markdown(results: dict) -> str:
    env = results["environment"]
    lines = ["# Benchmark: solution notebooks in QUICK and full mode", "",
             f"Python {env['python']} on {env['machine']}, {env['cpus']} CPUs, GPU: {env['gpu'] or 'none'}; {env['date']}.", "",
             "| notebook | mode | wall time (s) | status |", "|---|---|---:|---|"]
    for name, modes in results["notebooks"].items():
        for mode in (m for m in MODES if m in modes):
            r = modes[mode]
            lines.append(f"| {name} | {mode} | {r['seconds']:.1f} | {'ok' if not r['error'] else 'error: ' + r['error']} |")
    lines += ["", "## Budgets and the TensorFlow / PyTorch ratio", "",
              f"Budgets: QUICK {BUDGET['quick']:.0f} s, full {BUDGET['full']:.0f} s per notebook; TensorFlow at most "
              f"{MAX_TF_RATIO}x its PyTorch twin. A flag marks a notebook over its budget or a ratio over the limit.", "",
              "| chapter | mode | PyTorch (s) | TensorFlow (s) | TF / PyTorch | flags |", "|---|---|---:|---:|---:|---|"]
    for row in budget_rows(results):
        fmt = lambda v: "" if v is None else f"{v:.1f}"  # noqa: E731
        lines.append(f"| {row['chapter']} | {row['mode']} | {fmt(row['pytorch'])} | {fmt(row['tensorflow'])} | "
                     f"{'' if row['ratio'] is None else format(row['ratio'], '.2f')} | {', '.join(row['flags'])} |")
    lines += ["", "## Figures reported by the notebooks", "", "| notebook | figure | " + " | ".join(MODES) + " | unit |",
              "|---|---|" + "---:|" * len(MODES) + "---|"]
    for name, modes in results["notebooks"].items():
        keys = sorted({k for r in modes.values() for k in r["figures"]})
        for k in keys:
            vals = [modes.get(m, {}).get("figures", {}).get(k) for m in MODES]
            unit = next((v["unit"] for v in vals if v and v["unit"]), "")
            cells = [f"{v['value']:.4g}" if v else "" for v in vals]
            lines.append(f"| {name} | {k} | " + " | ".join(cells) + f" | {unit} |")
    return "\n".join(lines) + "\n"


def budget_rows(results: dict) -> list[dict]:
    """Per chapter and mode: the two frameworks' wall times, their ratio and the budget flags."""
    by_chapter: dict[tuple[str, str], dict] = {}
    for name, modes in results["notebooks"].items():
        chapter, _, file = name.partition("/")
        fw = "tensorflow" if file.endswith("_tensorflow.ipynb") else "pytorch" if file.endswith("_pytorch.ipynb") else None
        if fw is None:
            continue
        for mode, r in modes.items():
            if not r.get("error"):
                by_chapter.setdefault((chapter, mode), {})[fw] = r["seconds"]
    rows = []
    for (chapter, mode), times in sorted(by_chapter.items(), key=lambda kv: (kv[0][0], MODES.index(kv[0][1]))):
        pt, tf = times.get("pytorch"), times.get("tensorflow")
        ratio = tf / pt if pt and tf else None
        flags = [f"{fw} over the {mode} budget" for fw, s in (("PyTorch", pt), ("TensorFlow", tf))
                 if s is not None and s > BUDGET[mode]]
        if ratio is not None and ratio > MAX_TF_RATIO:
            flags.append(f"TensorFlow {ratio:.2f}x PyTorch")
        rows.append({"chapter": chapter, "mode": mode, "pytorch": pt, "tensorflow": tf, "ratio": ratio, "flags": flags})
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="genlab bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("chapters", nargs="*", help="chapter folders such as 02_vae (default: all)")
    ap.add_argument("--modes", default="quick,full", help="comma-separated: quick, full")
    ap.add_argument("--out", default=None, help="output folder (default: reports/)")
    ap.add_argument("--timeout", type=int, default=3600, help="per-cell timeout in seconds")
    ap.add_argument("--repeat", type=int, default=1, help="runs per notebook and mode; the fastest counts")
    args = ap.parse_args(argv)
    from tqdm.auto import tqdm

    root = course_root()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not modes or any(m not in MODES for m in modes):
        print(f"genlab bench: --modes must list {', '.join(MODES)}", flush=True)
        return 2
    if args.repeat < 1:
        print("genlab bench: --repeat must be at least 1", flush=True)
        return 2
    chapters = args.chapters or sorted(p.name for p in (root / "solutions").iterdir() if p.is_dir())
    missing = [c for c in chapters if not (root / "solutions" / c).is_dir()]
    if missing:
        print(f"genlab bench: unknown chapter(s): {', '.join(missing)}")
        return 2
    notebooks = [p for c in chapters for p in sorted((root / "solutions" / c).glob("*.ipynb"))]
    out_dir = Path(args.out) if args.out else root / "reports"
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "bench.json"
    results = {"environment": environment(), "notebooks": {}}
    if json_path.exists():  # keep other chapters' rows when benchmarking one chapter
        try:
            results["notebooks"] = json.loads(json_path.read_text()).get("notebooks", {})
        except json.JSONDecodeError:
            pass
    # a chapter's two notebooks take turns, so that a change in the machine's load touches both alike
    jobs = [(nb, m, i) for c in chapters for m in modes for i in range(args.repeat) for nb in notebooks if nb.parent.name == c]
    for nb, mode, i in tqdm(jobs, desc="bench", unit="run"):
        name = f"{nb.parent.name}/{nb.name}"
        r = run_notebook(nb, quick=(mode == "quick"), timeout=args.timeout)
        runs = [r["seconds"]]
        if i > 0:  # keep the fastest run (and the first error); the figures are the fastest run's
            prev = results["notebooks"][name][mode]
            runs = prev["runs"] + runs
            if prev["error"] or (not r["error"] and prev["seconds"] <= r["seconds"]):
                r = prev
        results["notebooks"].setdefault(name, {})[mode] = {**r, "runs": runs}
        tqdm.write(f"{name} [{mode}] {runs[-1]:.1f} s{'' if not r['error'] else '  ERROR ' + r['error']}")
        json_path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")  # nothing lost if interrupted
    (out_dir / "bench.md").write_text(to_markdown(results))
    for row in budget_rows(results):
        ratio = "" if row["ratio"] is None else f", TF/PyTorch {row['ratio']:.2f}"
        print(f"{row['chapter']} [{row['mode']}]{ratio}{'  ' + '; '.join(row['flags']) if row['flags'] else ''}")
    print(f"wrote {json_path} and {out_dir / 'bench.md'}")
    return 0 if all(not r["error"] for modes_ in results["notebooks"].values() for r in modes_.values()) else 1
