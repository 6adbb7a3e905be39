"""PyTorch plumbing: device choice, data loaders, tensor conversion, small reference models.

``genlab.tf`` offers the same names with the same signatures for TensorFlow/Keras 3.
"""
from __future__ import annotations

import numpy as np
import torch

from genlab.config import seed_everything
from genlab.torch.models import MLP, get_weights, set_weights

__all__ = ["device", "make_loader", "to_numpy", "to_tensor", "seed_everything", "MLP", "get_weights",
           "set_weights", "grad_of", "to_labels", "to_images", "images_to_numpy", "flat", "param_grads",
           "make_sgd", "CHANNEL_AXIS"]

CHANNEL_AXIS = 1  # PyTorch images are (N, C, H, W)


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


def to_images(array, dtype=torch.float32, device_=None) -> torch.Tensor:
    """NumPy images in the framework-neutral layout (N, H, W, C) -> a PyTorch (N, C, H, W) tensor."""
    arr = np.asarray(array)
    if arr.ndim != 4:
        raise ValueError(f"to_images wants (N, H, W, C) arrays, got shape {arr.shape}")
    return to_tensor(arr.transpose(0, 3, 1, 2), dtype=dtype, device_=device_)


def images_to_numpy(tensor) -> np.ndarray:
    """A PyTorch (N, C, H, W) image tensor -> NumPy (N, H, W, C), the inverse of :func:`to_images`."""
    arr = to_numpy(tensor)
    if arr.ndim != 4:
        raise ValueError(f"images_to_numpy wants a 4-D image batch, got shape {arr.shape}")
    return arr.transpose(0, 2, 3, 1)


def flat(x: torch.Tensor) -> torch.Tensor:
    """(N, ...) -> (N, prod(...)), keeping the graph."""
    return x.reshape(x.shape[0], -1)


def param_grads(fn, model: torch.nn.Module) -> list:
    """Gradients of ``sum(fn())`` with respect to ``model``'s weights, as NumPy arrays in the order and the
    (Keras) layout of :func:`get_weights`: None where no gradient reaches a weight, or everywhere when the
    output has no graph. ``.grad`` fields are left untouched."""
    from genlab.torch.models import _linears, _to_keras
    grads = _sum_grads(fn, [p for layer in _linears(model) for p in (layer.weight, layer.bias)])
    return [_to_keras(g) if g is not None and g.ndim > 1 else g for g in grads]


def _sum_grads(fn, params) -> list:
    """Gradients of ``sum(fn())`` with respect to ``params``, as NumPy arrays in their own layout; None where no
    gradient reaches one, and all None when the output has no graph. ``.grad`` fields are left untouched."""
    out = fn()
    if not isinstance(out, torch.Tensor) or not out.requires_grad:
        return [None] * len(params)
    grads = torch.autograd.grad(out.sum(), params, allow_unused=True)
    return [None if g is None else g.detach().cpu().numpy() for g in grads]


def make_sgd(model: torch.nn.Module, lr: float) -> torch.optim.Optimizer:
    """Plain SGD (no momentum) over ``model``'s parameters: one step moves each weight by -lr * grad."""
    return torch.optim.SGD(model.parameters(), lr=lr)
