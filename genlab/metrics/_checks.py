"""Input checks shared by the metrics: clear ``ValueError``s instead of silent NaNs or broadcasting."""
from __future__ import annotations

import numpy as np


def as_float64(x, name: str, ndim: int | None = None, min_rows: int | None = None) -> np.ndarray:
    """``x`` as a float64 array, checked for rank, emptiness, NaN and infinity."""
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a numeric array, got {type(x).__name__}") from exc
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    if min_rows is not None and arr.shape[0] < min_rows:
        raise ValueError(f"{name} has {arr.shape[0]} rows; at least {min_rows} are needed")
    if not np.all(np.isfinite(arr)):
        bad = "NaN" if np.isnan(arr).any() else "infinite"
        raise ValueError(f"{name} contains {bad} values")
    return arr


def feature_pair(a, b, names=("feats_a", "feats_b"), min_rows: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Two (N, D) / (M, D) float64 feature matrices with the same D."""
    a = as_float64(a, names[0], ndim=2, min_rows=min_rows)
    b = as_float64(b, names[1], ndim=2, min_rows=min_rows)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature dimensions differ: {names[0]} has D={a.shape[1]}, {names[1]} has D={b.shape[1]}")
    return a, b


def same_shape(a, b, names=("a", "b")) -> tuple[np.ndarray, np.ndarray]:
    """Two float64 arrays of identical shape (no broadcasting)."""
    a = as_float64(a, names[0])
    b = as_float64(b, names[1])
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {names[0]} {a.shape} vs {names[1]} {b.shape}")
    return a, b


def positive_number(value, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a positive number, got {value!r}") from exc
    if not np.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return v


def positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)
