"""Small reference models in PyTorch (``genlab.tf.models`` mirrors every name).

Weights travel between frameworks as a list of NumPy arrays in the Keras layout, layer by layer
(``nn.Linear`` and ``nn.Conv2d`` in registration order): ``kernel`` then ``bias``. A Linear kernel is
(in, out) (``nn.Linear`` stores the transpose); a Conv2d kernel is (kh, kw, in, out) (PyTorch
stores (out, in, kh, kw)).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "elu": nn.ELU, "tanh": nn.Tanh, "softplus": nn.Softplus}


class MLP(nn.Module):
    """Fully connected net: in_dim -> hidden... -> out_dim, activation between layers, none last."""

    def __init__(self, in_dim: int, hidden: Sequence[int], out_dim: int, activation: str = "relu"):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        sizes = [in_dim, *hidden, out_dim]
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(a, b))
            if i < len(sizes) - 2:
                layers.append(ACTIVATIONS[activation]())
        self.net = nn.Sequential(*layers)
        self.in_dim, self.out_dim = in_dim, out_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, in_dim) -> (B, out_dim)
        return self.net(x)


def _linears(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]


def _to_keras(weight: np.ndarray) -> np.ndarray:
    return weight.T if weight.ndim == 2 else weight.transpose(2, 3, 1, 0)


def _from_keras(kernel: np.ndarray) -> np.ndarray:
    return kernel.T if kernel.ndim == 2 else kernel.transpose(3, 2, 0, 1)


def get_weights(model: nn.Module) -> list[np.ndarray]:
    """[kernel, bias] for every Linear / Conv2d layer, in order, in the Keras layout."""
    out: list[np.ndarray] = []
    for lin in _linears(model):
        out += [np.ascontiguousarray(_to_keras(lin.weight.detach().cpu().numpy())),
                lin.bias.detach().cpu().numpy().copy()]
    return out


@torch.no_grad()
def set_weights(model: nn.Module, weights: Sequence[np.ndarray]) -> nn.Module:
    """Load weights in the layout :func:`get_weights` returns (shapes are checked)."""
    lins = _linears(model)
    if len(weights) != 2 * len(lins):
        raise ValueError(f"expected {2 * len(lins)} arrays, got {len(weights)}")
    for lin, kernel, bias in zip(lins, weights[0::2], weights[1::2]):
        kernel, bias = np.asarray(kernel), np.asarray(bias)
        want = _to_keras(np.empty(tuple(lin.weight.shape), np.float32)).shape
        if kernel.shape != want or bias.shape != tuple(lin.bias.shape):
            raise ValueError(f"shape mismatch: got {kernel.shape}/{bias.shape}, layer wants "
                             f"{want}/{tuple(lin.bias.shape)}")
        lin.weight.copy_(torch.as_tensor(np.ascontiguousarray(_from_keras(kernel)), dtype=lin.weight.dtype))
        lin.bias.copy_(torch.as_tensor(bias, dtype=lin.bias.dtype))
    return model
