"""Timing of genlab.metrics.frechet_distance (a script, not a test).

    .venv/bin/python tools/bench_metrics.py                 # 10,000 x D features, D = 64 ... 2048
    .venv/bin/python tools/bench_metrics.py --n 5000 --dims 64 256 --sqrtm

Prints, per feature dimension D, the time of the whole Frechet distance on two (N, D) float64 sets
(means, covariances and the trace of the matrix square root) and of its two parts; with --sqrtm also
the scipy.linalg.sqrtm recipe (pytorch-fid) on the same covariances, for comparison. The cost is
O(N D^2) for the covariances plus O(D^3) for the two symmetric eigen-decompositions.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import scipy.linalg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from genlab.metrics import feature_stats, frechet_distance  # noqa: E402
from genlab.metrics.frechet import trace_sqrt_product  # noqa: E402


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="time the Frechet distance")
    ap.add_argument("--n", type=int, default=10_000, help="samples per set (default 10,000)")
    ap.add_argument("--dims", type=int, nargs="+", default=[64, 128, 256, 512, 1024, 2048])
    ap.add_argument("--repeat", type=int, default=3, help="best of this many runs (1 for D >= 1024)")
    ap.add_argument("--sqrtm", action="store_true", help="also time scipy.linalg.sqrtm(S1 @ S2)")
    args = ap.parse_args(argv)
    print(f"Frechet distance, N = {args.n:,} per set, float64, numpy {np.__version__}, "
          f"{os.cpu_count()} CPUs visible")
    head = f"{'D':>6} {'total s':>9} {'stats s':>9} {'trace-sqrt s':>13} {'x prev':>7}"
    print(head + (f" {'sqrtm s':>9}" if args.sqrtm else ""))
    rng = np.random.default_rng(0)
    warm = rng.standard_normal((500, 32))
    frechet_distance(warm, warm + 1)  # first BLAS/LAPACK call pays for thread-pool start-up
    prev = None
    for d in args.dims:
        a = rng.standard_normal((args.n, d))
        b = rng.standard_normal((args.n, d)) * 1.1 + 0.1
        rep = args.repeat if d < 1024 else 1
        total = best_of(lambda: frechet_distance(a, b), rep)
        stats = best_of(lambda: (feature_stats(a), feature_stats(b)), rep)
        (_, s1), (_, s2) = feature_stats(a), feature_stats(b)
        tr = best_of(lambda: trace_sqrt_product(s1, s2), rep)
        ratio = f"{total / prev:7.1f}" if prev else f"{'':>7}"
        line = f"{d:>6} {total:9.3f} {stats:9.3f} {tr:13.3f} {ratio}"
        if args.sqrtm:
            line += f" {best_of(lambda: scipy.linalg.sqrtm(s1 @ s2), 1):9.3f}"
        print(line, flush=True)
        prev = total
    return 0


if __name__ == "__main__":
    sys.exit(main())
