"""Weight exchange shared by the TensorFlow models: variables <-> float32 NumPy arrays in the shared layout.

Each model module decides which variables, in which order (its ``get_weights`` / ``set_weights``); these two
functions do the copying and the checks, so a mismatched list is refused before any variable changes.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["read_arrays", "assign_arrays"]


def read_arrays(variables) -> list[np.ndarray]:
    """Copies of ``variables`` as float32 NumPy arrays."""
    return [np.array(v.numpy(), dtype=np.float32) for v in variables]


def assign_arrays(variables, weights: Sequence[np.ndarray], names: Sequence[str] | None = None) -> None:
    """Assign ``weights`` to ``variables`` (same count, same shapes, all checked before anything is assigned).
    ``names`` label the variables in error messages (default: their index)."""
    variables, weights = list(variables), [np.asarray(w, dtype=np.float32) for w in weights]
    if len(weights) != len(variables):
        raise ValueError(f"expected {len(variables)} arrays, got {len(weights)}")
    for i, (v, w) in enumerate(zip(variables, weights)):
        if tuple(w.shape) != tuple(v.shape):
            name = names[i] if names is not None else f"array {i}"
            raise ValueError(f"shape mismatch for {name}: got {w.shape}, the model wants {tuple(v.shape)}")
    for v, w in zip(variables, weights):
        v.assign(w)
