"""PyTorch plumbing: device choice, data loaders, tensor conversion, small reference models.

``genlab.tf`` offers the same names with the same signatures for TensorFlow/Keras 3.
"""
from __future__ import annotations

import numpy as np
import torch

from genlab.config import seed_everything
from genlab.torch.models import MLP, get_weights, set_weights

__all__ = ["device", "make_loader", "to_numpy", "to_tensor", "seed_everything", "MLP", "get_weights",
           "set_weights", "grad_of", "to_labels"]


def device() -> torch.device:
    """CUDA when a GPU is present, else the CPU. The same code runs on either."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def to_tensor(array, dtype=torch.float32, device_=None) -> torch.Tensor:
    """NumPy (or nested lists) -> a torch tensor of ``dtype`` on ``device_`` (default CPU)."""
    return torch.as_tensor(np.asarray(array), dtype=dtype, device=device_)


def to_numpy(tensor) -> np.ndarray:
    """A tensor (any device, with or without grad) or array-like -> a NumPy array."""
    if isinstance(tensor, torch.Tensor):
        return tensor.detach().cpu().numpy()
    return np.asarray(tensor)


def make_loader(*arrays, batch_size: int = 128, shuffle: bool = True, seed: int = 0,
                drop_last: bool = False) -> torch.utils.data.DataLoader:
    """A DataLoader over NumPy arrays of equal length (float arrays -> float32, ints -> int64).

    Shuffling uses its own seeded generator, so the batch order is the same on every run.
    """
    if not arrays:
        raise ValueError("make_loader needs at least one array")
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ValueError(f"arrays differ in length: {[len(a) for a in arrays]}")
    tensors = [torch.as_tensor(a, dtype=torch.int64 if np.issubdtype(np.asarray(a).dtype, np.integer)
                               else torch.float32) for a in arrays]
    gen = torch.Generator().manual_seed(seed)
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(*tensors), batch_size=batch_size,
                                       shuffle=shuffle, generator=gen, drop_last=drop_last)



def grad_of(fn, *inputs):
    """Gradients of ``sum(fn(*inputs))`` with respect to each input (float32 tensors made from NumPy).

    Returns ``(output, grads)`` with ``grads[i]`` a NumPy array, or None where no gradient
    flows (the graph was cut by ``.detach()``, ``.numpy()``, a NumPy round trip...).
    """
    ts = [torch.tensor(np.asarray(a), dtype=torch.float32, requires_grad=True) for a in inputs]
    out = fn(*ts)
    if not isinstance(out, torch.Tensor) or not out.requires_grad:
        return out, [None] * len(ts)
    grads = torch.autograd.grad(out.sum(), ts, allow_unused=True)
    return out, [None if g is None else g.detach().cpu().numpy() for g in grads]


def to_labels(array, device_=None) -> torch.Tensor:
    """Integer class labels -> an int64 tensor (what ``one_hot`` and embeddings expect)."""
    return torch.as_tensor(np.asarray(array), dtype=torch.int64, device=device_)
