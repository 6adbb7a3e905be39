"""Kernel Inception Distance (Binkowski, Sutherland, Arbel, Gretton, "Demystifying MMD GANs", ICLR 2018)."""
from __future__ import annotations

import numpy as np

from genlab.metrics._checks import feature_pair, positive_int


def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """k(x, y) = (x . y / d + 1)^3 for all pairs of rows: (n, d), (m, d) -> (n, m)."""
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def mmd2_unbiased(x, y) -> float:
    """Unbiased MMD^2 estimate with the cubic polynomial kernel between (m, d) and (m, d) samples.

    MMD^2_u = 1/(m(m-1)) sum_{i != j} [k(x_i, x_j) + k(y_i, y_j)] - 2/m^2 sum_{i, j} k(x_i, y_j)

    (equation of Binkowski et al. 2018 and their reference code, which use equal set sizes). It can
    be slightly negative when the two distributions are equal.
    """
    x, y = feature_pair(x, y, ("x", "y"), min_rows=2)
    m = x.shape[0]
    if y.shape[0] != m:
        raise ValueError(f"mmd2_unbiased needs equal sample sizes, got {m} and {y.shape[0]}")
    kxx, kyy, kxy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    sum_xx = kxx.sum() - np.trace(kxx)
    sum_yy = kyy.sum() - np.trace(kyy)
    return float((sum_xx + sum_yy) / (m * (m - 1)) - 2.0 * kxy.sum() / (m * m))


def kid(feats_a, feats_b, subsets: int = 100, subset_size: int | None = None, seed: int = 0) -> tuple[float, float]:
    """KID: unbiased MMD^2 with k(x, y) = (x . y / d + 1)^3, averaged over random subsets.

    For each of ``subsets`` rounds, ``subset_size`` rows are drawn without replacement from each set
    (one ``rng = numpy.random.default_rng(seed)``; per round ``rng.choice(N, subset_size,
    replace=False)`` for ``feats_a``, then the same for ``feats_b``) and :func:`mmd2_unbiased` is
    computed on the pair; the result is ``(mean, std)`` over the rounds, ``std`` being the population standard deviation
    (``ddof=0``, as torchmetrics reports it). This is the estimator of Binkowski et al. 2018.

    Inputs: (N, D) and (M, D) features, same D. ``subset_size=None`` means min(N, M, 1000) (1000 is
    the paper's subset size); an explicit value must lie in [2, min(N, M)]. With
    ``subset_size == N == M`` every round sees the whole sets: the result is deterministic (std 0)
    and equals torchmetrics' ``KernelInceptionDistance(subsets=1, subset_size=N)``. The mean is
    unbiased and may be slightly negative for matching distributions; do not clip it.
    Raises ``ValueError`` for different D, subset_size < 2 or > min(N, M), NaN/inf values.
    """
    a, b = feature_pair(feats_a, feats_b, min_rows=2)
    subsets = positive_int(subsets, "subsets")
    n_max = min(a.shape[0], b.shape[0])
    size = min(n_max, 1000) if subset_size is None else positive_int(subset_size, "subset_size")
    if size < 2:
        raise ValueError(f"subset_size must be at least 2, got {size}")
    if size > n_max:
        raise ValueError(f"subset_size={size} exceeds the smaller set ({n_max} samples); "
                         f"pass subset_size <= {n_max}")
    rng = np.random.default_rng(seed)
    scores = np.empty(subsets)
    for i in range(subsets):
        ia = rng.choice(a.shape[0], size, replace=False)
        ib = rng.choice(b.shape[0], size, replace=False)
        scores[i] = mmd2_unbiased(a[ia], b[ib])
    return float(scores.mean()), float(scores.std())
