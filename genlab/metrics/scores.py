"""Inception-style score from a classifier's class probabilities (Salimans et al., NeurIPS 2016)."""
from __future__ import annotations

import numpy as np

from genlab.metrics._checks import as_float64, positive_int


def inception_score(probs, splits: int = 1) -> tuple[float, float]:
    """IS = exp(E_x KL(p(y|x) || p(y))), with p(y) the mean prediction, per split; returns (mean, std).

    Inputs: ``probs`` (N, C), each row a probability vector (entries >= 0, rows summing to 1 within
    1e-4: apply a softmax to logits first). The rows are cut into ``splits`` consecutive parts
    ``[i*N//splits, (i+1)*N//splits)`` as in the original code (no shuffling), IS is computed on
    each part with 0 log 0 = 0, and the mean and the population std (ddof=0) over the parts are
    returned. Range [1, C]: C for confident predictions spread evenly over C classes, 1 when all
    predictions are identical. Raises ``ValueError`` for non-2-D input, invalid rows, NaN/inf, or
    fewer than one row per split.
    """
    p = as_float64(probs, "probs", ndim=2)
    splits = positive_int(splits, "splits")
    if p.min() < 0:
        raise ValueError("probs has negative entries; pass probabilities (softmax of logits)")
    sums = p.sum(axis=1)
    if np.abs(sums - 1.0).max() > 1e-4:
        raise ValueError(f"rows of probs must sum to 1 (worst row sums to {sums[np.argmax(np.abs(sums - 1))]:.6g}); "
                         "apply a softmax to logits first")
    n = p.shape[0]
    if n < splits:
        raise ValueError(f"{n} rows cannot be cut into {splits} non-empty splits")
    scores = []
    for i in range(splits):
        part = p[i * n // splits:(i + 1) * n // splits]
        py = part.mean(axis=0, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            kl = np.where(part > 0, part * (np.log(part) - np.log(py)), 0.0).sum(axis=1)
        scores.append(np.exp(kl.mean()))
    scores = np.asarray(scores)
    return float(scores.mean()), float(scores.std())
