"""Datasets that ship with the course's dependencies (no downloads at run time).

Digits: scikit-learn's 8x8 handwritten digits (1,797 images of 10 classes, UCI ML
hand-written digits, pixel values 0..16). See ``datasets/digits.md`` for the datasheet.

The split is fixed and framework-free: ``numpy.random.RandomState(0).permutation(1797)``
(the legacy generator, whose stream NumPy keeps frozen across versions); the first 1,500
indices are the training set, the remaining 297 the test set. ``tests/test_data.py`` checks
the arrays against the checksums in the datasheet.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

N_DIGITS = 1797
N_TRAIN = 1500
SPLIT_SEED = 0
BINARIZE_THRESHOLD = 0.5
IMAGE_SHAPE = (8, 8)


@dataclass(frozen=True)
class Split:
    """One split of the digits: ``x`` float32 in [0, 1] of shape (N, 8, 8), ``y`` int64 (N,)."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.y)

    def flat(self) -> np.ndarray:
        """Images as (N, 64) rows."""
        return self.x.reshape(len(self.x), -1)


def split_indices() -> tuple[np.ndarray, np.ndarray]:
    """Indices of the fixed train (1,500) and test (297) split into sklearn's ordering."""
    perm = np.random.RandomState(SPLIT_SEED).permutation(N_DIGITS)
    return np.sort(perm[:N_TRAIN]), np.sort(perm[N_TRAIN:])


def binarize(x: np.ndarray, threshold: float = BINARIZE_THRESHOLD) -> np.ndarray:
    """Fixed (not stochastic) binarisation: 1.0 where ``x > threshold``, else 0.0 (float32)."""
    x = np.asarray(x)
    return (x > threshold).astype(np.float32)


def load_digits(split: str = "train", binarized: bool = False, limit: int | None = None) -> Split:
    """The 8x8 digits as floats in [0, 1] (pixel / 16).

    ``split`` is ``"train"``, ``"test"`` or ``"all"``; ``binarized`` applies :func:`binarize`
    (threshold 0.5); ``limit`` keeps the first ``limit`` examples of the split (QUICK mode).
    """
    from sklearn.datasets import load_digits as _sk_load_digits

    if split not in ("train", "test", "all"):
        raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")
    if limit is not None and (not isinstance(limit, int) or limit <= 0):
        raise ValueError(f"limit must be a positive int or None, got {limit!r}")
    raw = _sk_load_digits()
    x = (raw.images.astype(np.float32) / 16.0).reshape(-1, *IMAGE_SHAPE)
    y = raw.target.astype(np.int64)
    if split != "all":
        train_idx, test_idx = split_indices()
        idx = train_idx if split == "train" else test_idx
        x, y = x[idx], y[idx]
    if binarized:
        x = binarize(x)
    if limit is not None:
        x, y = x[:limit], y[:limit]
    return Split(np.ascontiguousarray(x), np.ascontiguousarray(y))


def checksum(array: np.ndarray) -> str:
    """SHA-256 of an array's dtype, shape and C-ordered bytes (the datasheet's checksums)."""
    array = np.ascontiguousarray(array)
    h = hashlib.sha256()
    h.update(f"{array.dtype.str}{array.shape}".encode())
    h.update(array.tobytes())
    return h.hexdigest()


def one_hot(y: np.ndarray, num_classes: int = 10) -> np.ndarray:
    """(N,) int labels -> (N, num_classes) float32 one-hot rows; rejects out-of-range labels."""
    y = np.asarray(y)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"labels must be a 1-D integer array, got dtype {y.dtype} shape {y.shape}")
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"labels must lie in [0, {num_classes}), got range [{y.min()}, {y.max()}]")
    out = np.zeros((len(y), num_classes), dtype=np.float32)
    out[np.arange(len(y)), y] = 1.0
    return out


def epoch_batches(n: int, batch_size: int, rng: np.random.Generator):
    """Index batches of one epoch over ``n`` examples: a fresh permutation from ``rng``, the last
    partial batch dropped (so every step sees ``batch_size`` examples)."""
    if n < batch_size:
        raise ValueError(f"need at least batch_size={batch_size} samples, got {n}")
    perm = rng.permutation(n)
    for i in range(n // batch_size):
        yield perm[i * batch_size:(i + 1) * batch_size]
