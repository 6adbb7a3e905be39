"""Small reference models in PyTorch (``genlab.tf.models`` mirrors every name).

Weights travel between frameworks as a list of NumPy arrays in the Keras layout
(``kernel`` of shape (in, out), then ``bias``), layer by layer; ``nn.Linear`` stores its
weight as (out, in), so it is transposed here.
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


def _linears(model: nn.Module) -> list[nn.Linear]:
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def get_weights(model: nn.Module) -> list[np.ndarray]:
    """[kernel (in, out), bias (out,)] for every Linear layer, in order."""
    out: list[np.ndarray] = []
    for lin in _linears(model):
        out += [lin.weight.detach().cpu().numpy().T.copy(), lin.bias.detach().cpu().numpy().copy()]
    return out


@torch.no_grad()
def set_weights(model: nn.Module, weights: Sequence[np.ndarray]) -> nn.Module:
    """Load weights in the layout :func:`get_weights` returns (shapes are checked)."""
    lins = _linears(model)
    if len(weights) != 2 * len(lins):
        raise ValueError(f"expected {2 * len(lins)} arrays, got {len(weights)}")
    for lin, kernel, bias in zip(lins, weights[0::2], weights[1::2]):
        kernel, bias = np.asarray(kernel), np.asarray(bias)
        if kernel.shape != tuple(lin.weight.shape[::-1]) or bias.shape != tuple(lin.bias.shape):
            raise ValueError(f"shape mismatch: got {kernel.shape}/{bias.shape}, layer wants "
                             f"{tuple(lin.weight.shape[::-1])}/{tuple(lin.bias.shape)}")
        lin.weight.copy_(torch.as_tensor(kernel.T, dtype=lin.weight.dtype))
        lin.bias.copy_(torch.as_tensor(bias, dtype=lin.bias.dtype))
    return model
