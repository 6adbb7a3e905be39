"""k-NN manifold metrics: precision/recall (Kynkaanniemi et al., NeurIPS 2019) and
density/coverage (Naeem, Oh, Uh, Choi, Yoo, ICML 2020).

Each real sample x_i gets a ball of radius NND_k(x_i), the distance to its k-th nearest neighbour
among the *other* real samples (the sample itself is not its own neighbour; duplicates are). A point
y is "inside" the real manifold if ||y - x_i|| <= NND_k(x_i) for some i (closed balls, as in
Kynkaanniemi et al.; the ``prdc`` package uses open balls ``<``, which differs only on exact ties).
Distances are Euclidean (``scipy.spatial.distance.cdist``), float64, in row blocks (memory
O(block * N), time O(N M D)).
"""
from __future__ import annotations

import numpy as np
from scipy.spatial.distance import cdist

from genlab.metrics._checks import feature_pair, positive_int

_BLOCK = 1024


def _sq_dists(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances (n, m) from differences (exactly 0 for identical rows, unlike
    the |x|^2 + |y|^2 - 2 x.y shortcut, so ties between duplicates are decided exactly)."""
    return cdist(x, y, "sqeuclidean")


def knn_radii(x: np.ndarray, k: int) -> np.ndarray:
    """Squared distance from each row of ``x`` to its k-th nearest other row of ``x``: (n,)."""
    n = x.shape[0]
    if not 1 <= k < n:
        raise ValueError(f"k={k} needs at least k+1={k + 1} samples in the set, got {n}")
    out = np.empty(n)
    for s in range(0, n, _BLOCK):
        d = _sq_dists(x[s:s + _BLOCK], x)
        d[np.arange(d.shape[0]), np.arange(s, s + d.shape[0])] = -1.0  # self: always the 0-th
        out[s:s + _BLOCK] = np.partition(d, k, axis=1)[:, k]
    return out


def _inside_counts(points: np.ndarray, centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """For each point, how many balls B(centres_i, sqrt(radii_i)) contain it: (n_points,) ints."""
    counts = np.empty(points.shape[0], dtype=np.int64)
    for s in range(0, points.shape[0], _BLOCK):
        counts[s:s + _BLOCK] = (_sq_dists(points[s:s + _BLOCK], centres) <= radii[None, :]).sum(1)
    return counts


def precision_recall(real, fake, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall on the k-NN manifolds (Kynkaanniemi et al. 2019).

    precision = fraction of fake samples inside the real manifold (union of balls B(x_i, NND_k(x_i)))
    recall    = fraction of real samples inside the fake manifold (balls around fake samples)

    Inputs: (N, D) real and (M, D) fake features, same D, N and M > k (the paper uses k=3). Outputs
    two floats in [0, 1]: precision measures fidelity (are samples realistic?), recall diversity
    (is every real mode covered?). Identical sets give (1, 1); dropping modes lowers recall.
    Raises ``ValueError`` for mismatched D, too few samples for k, NaN/inf values.
    """
    x, y = feature_pair(real, fake, ("real", "fake"))
    k = positive_int(k, "k")
    rx, ry = knn_radii(x, k), knn_radii(y, k)
    precision = float((_inside_counts(y, x, rx) > 0).mean())
    recall = float((_inside_counts(x, y, ry) > 0).mean())
    return precision, recall


def density_coverage(real, fake, k: int = 5) -> tuple[float, float]:
    """Density and coverage (Naeem et al. 2020).

    density  = 1/(k M) sum_j sum_i 1[y_j in B(x_i, NND_k(x_i))]   (how many real balls hold each fake)
    coverage = 1/N sum_i 1[exists j: y_j in B(x_i, NND_k(x_i))]     (fraction of real balls with a fake)

    Only real-sample balls are used, so the metrics are robust to fake outliers. Inputs: (N, D)
    real and (M, D) fake features, same D, N > k (the paper uses k=5). Outputs: density >= 0
    (about 1 when the fakes follow the real distribution, unbounded above), coverage in [0, 1].
    Raises ``ValueError`` for mismatched D, too few real samples for k, NaN/inf values.
    """
    x, y = feature_pair(real, fake, ("real", "fake"))
    k = positive_int(k, "k")
    rx = knn_radii(x, k)
    density = float(_inside_counts(y, x, rx).sum() / (k * y.shape[0]))
    covered = np.zeros(x.shape[0], dtype=bool)
    for s in range(0, y.shape[0], _BLOCK):
        covered |= (_sq_dists(y[s:s + _BLOCK], x) <= rx[None, :]).any(0)
    return density, float(covered.mean())
