"""Frechet distance between Gaussians fitted to two feature sets (the "F" in FID).

    d^2 = ||mu_a - mu_b||^2 + Tr(S_a) + Tr(S_b) - 2 Tr((S_a S_b)^{1/2})

Matrix square root: the only hard term is Tr((S_a S_b)^{1/2}). ``S_a S_b`` is not symmetric, and
``scipy.linalg.sqrtm`` on it (the pytorch-fid recipe) returns complex round-off, fails on singular
products (fewer samples than dimensions, dead ReLU units) and needs an ``eps * I`` retry. We use
instead that ``S_a S_b`` is similar to the symmetric PSD matrix

    M = S_a^{1/2} S_b S_a^{1/2}      (S_a S_b = S_a^{1/2} M S_a^{-1/2} when S_a is invertible,
                                      and by continuity the eigenvalues agree when it is not)

so ``Tr((S_a S_b)^{1/2}) = sum_i sqrt(lambda_i(M))``. Both ``S_a^{1/2}`` and ``lambda(M)`` come from
``numpy.linalg.eigh`` (symmetric eigen-decomposition: real output, backward stable); eigenvalues
that round-off pushes below zero are clipped to 0. The result is always a real float, needs no
``eps`` fallback for singular covariances, and costs two D x D ``eigh`` calls (O(D^3)).
"""
from __future__ import annotations

import numpy as np

from genlab.metrics._checks import as_float64, feature_pair


def _psd_sqrt(s: np.ndarray) -> np.ndarray:
    """Symmetric PSD square root via eigh (negative round-off eigenvalues clipped to 0)."""
    w, v = np.linalg.eigh(s)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def trace_sqrt_product(s1: np.ndarray, s2: np.ndarray) -> float:
    """Tr((S1 S2)^{1/2}) for symmetric PSD S1, S2, as sum(sqrt(eig(S1^{1/2} S2 S1^{1/2})))."""
    r = _psd_sqrt(s1)
    m = r @ s2 @ r
    m = 0.5 * (m + m.T)  # exact symmetry for eigvalsh
    return float(np.sqrt(np.clip(np.linalg.eigvalsh(m), 0.0, None)).sum())


def _check_stats(mu, s, name: str) -> tuple[np.ndarray, np.ndarray]:
    mu = as_float64(mu, f"mu{name}", ndim=1)
    s = as_float64(s, f"s{name}", ndim=2)
    if s.shape != (mu.shape[0], mu.shape[0]):
        raise ValueError(f"s{name} must be ({mu.shape[0]}, {mu.shape[0]}) to match mu{name}, got {s.shape}")
    scale = max(float(np.abs(s).max()), 1e-300)
    if np.abs(s - s.T).max() > 1e-6 * scale:  # float32 round-off passes, a wrong matrix does not
        raise ValueError(f"s{name} is not symmetric (a covariance matrix must be)")
    return mu, 0.5 * (s + s.T)


def frechet_distance_from_stats(mu1, s1, mu2, s2) -> float:
    """Frechet distance between N(mu1, s1) and N(mu2, s2).

    d^2 = ||mu1 - mu2||^2 + Tr(s1) + Tr(s2) - 2 Tr((s1 s2)^{1/2})   (a squared distance, >= 0)

    Inputs: ``mu1``, ``mu2`` of shape (D,); ``s1``, ``s2`` symmetric PSD of shape (D, D); computed in
    float64. Output: a Python float, never complex, clipped at 0 (identical statistics give 0 up to
    round-off instead of a tiny negative number). ``Tr((s1 s2)^{1/2})`` is computed from the
    eigenvalues of the symmetric PSD matrix ``s1^{1/2} s2 s1^{1/2}`` (see the module docstring), so
    singular covariances are fine. Raises ``ValueError`` for mismatched shapes, non-symmetric
    covariances, NaN or infinite entries.
    """
    mu1, s1 = _check_stats(mu1, s1, "1")
    mu2, s2 = _check_stats(mu2, s2, "2")
    if mu1.shape != mu2.shape:
        raise ValueError(f"dimensions differ: mu1 {mu1.shape} vs mu2 {mu2.shape}")
    diff = mu1 - mu2
    d2 = float(diff @ diff) + float(np.trace(s1)) + float(np.trace(s2)) - 2.0 * trace_sqrt_product(s1, s2)
    return max(d2, 0.0)


def feature_stats(feats) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D,) and unbiased covariance (D, D) (``ddof=1``, as pytorch-fid and torchmetrics) of (N, D) features.

    Needs N >= 2; with N <= D the covariance is singular (allowed, but the FID is then strongly biased).
    """
    x = as_float64(feats, "feats", ndim=2)
    if x.shape[0] < 2:
        raise ValueError(f"need at least 2 samples to estimate a covariance, got {x.shape[0]}")
    mu = x.mean(axis=0)
    xc = x - mu  # centre first: no cancellation from sum(x x^T) - n mu mu^T
    return mu, (xc.T @ xc) / (x.shape[0] - 1)


def frechet_distance(feats_a, feats_b) -> float:
    """FID-style Frechet distance between two feature sets.

    Fits a Gaussian to each set (mean and unbiased covariance, :func:`feature_stats`) and returns
    :func:`frechet_distance_from_stats`. Inputs: (N, D) and (M, D) arrays (any float dtype; computed
    in float64), N, M >= 2, same D. The value depends on the sample sizes (it is biased upwards for
    small N), so only compare numbers computed with the same N, M and feature extractor. Raises
    ``ValueError`` for different D, fewer than 2 rows, non-2-D input, NaN or infinite values.
    """
    a, b = feature_pair(feats_a, feats_b)
    for name, x in (("feats_a", a), ("feats_b", b)):
        if x.shape[0] < 2:
            raise ValueError(f"{name}: need at least 2 samples to estimate a covariance, got {x.shape[0]}")
    mu1, s1 = feature_stats(a)
    mu2, s2 = feature_stats(b)
    return frechet_distance_from_stats(mu1, s1, mu2, s2)
