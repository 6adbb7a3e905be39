"""Weight exchange shared by the PyTorch models: parameters <-> float32 NumPy arrays in the shared layout.

Each model module decides which tensors, in which order and layout (its ``get_weights`` / ``set_weights``);
these two functions do the copying and the checks, so a mismatched list is refused before any tensor changes.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

__all__ = ["read_arrays", "assign_arrays"]


def read_arrays(variables) -> list[np.ndarray]:
    """Copies of the tensors ``variables`` as float32 NumPy arrays."""
    return [v.detach().cpu().numpy().astype(np.float32) for v in variables]


@torch.no_grad()
def assign_arrays(variables, weights: Sequence[np.ndarray], names: Sequence[str] | None = None) -> None:
    """Copy ``weights`` into the tensors ``variables`` (same count, same shapes, all checked before anything is
    copied). ``names`` label the tensors in error messages (default: their index)."""
    variables, weights = list(variables), [np.asarray(w, dtype=np.float32) for w in weights]
    if len(weights) != len(variables):
        raise ValueError(f"expected {len(variables)} arrays, got {len(weights)}")
    for i, (v, w) in enumerate(zip(variables, weights)):
        if tuple(w.shape) != tuple(v.shape):
            name = names[i] if names is not None else f"array {i}"
            raise ValueError(f"shape mismatch for {name}: got {w.shape}, the model wants {tuple(v.shape)}")
    for v, w in zip(variables, weights):
        v.copy_(torch.as_tensor(w, dtype=v.dtype, device=v.device))
