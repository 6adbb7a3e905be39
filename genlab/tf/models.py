"""Small reference models in Keras 3 (mirrors ``genlab.torch.models`` name for name).

Weights travel as a list of NumPy arrays: ``kernel`` then ``bias`` per Dense / Conv2D layer, in
Keras's own layout ((in, out) and (kh, kw, in, out)); ``genlab.torch.models`` converts PyTorch's.
"""
from __future__ import annotations

from typing import Sequence

import keras
import numpy as np

ACTIVATIONS = ("relu", "elu", "tanh", "softplus")


class MLP(keras.Model):
    """Fully connected net: in_dim -> hidden... -> out_dim, activation between layers, none last."""

    def __init__(self, in_dim: int, hidden: Sequence[int], out_dim: int, activation: str = "relu", **kwargs):
        super().__init__(**kwargs)
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        sizes = [*hidden, out_dim]
        self.dense = [keras.layers.Dense(b, activation=activation if i < len(sizes) - 1 else None)
                      for i, b in enumerate(sizes)]
        self.in_dim, self.out_dim = in_dim, out_dim
        self.build((None, in_dim))  # create the weights now, as nn.Linear does

    def build(self, input_shape):
        shape = tuple(input_shape)
        for layer in self.dense:
            layer.build(shape)
            shape = (shape[0], layer.units)
        self.built = True

    def call(self, x):  # (B, in_dim) -> (B, out_dim)
        for layer in self.dense:
            x = layer(x)
        return x


def _denses(model) -> list:
    return [layer for layer in model._flatten_layers(include_self=False) if isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D))]


def get_weights(model) -> list[np.ndarray]:
    """[kernel, bias] for every Dense / Conv2D layer, in order."""
    out: list[np.ndarray] = []
    for d in _denses(model):
        out += [np.array(d.kernel.numpy()), np.array(d.bias.numpy())]
    return out


def set_weights(model, weights: Sequence[np.ndarray]):
    """Load weights in the layout :func:`get_weights` returns (shapes are checked)."""
    denses = _denses(model)
    if len(weights) != 2 * len(denses):
        raise ValueError(f"expected {2 * len(denses)} arrays, got {len(weights)}")
    for d, kernel, bias in zip(denses, weights[0::2], weights[1::2]):
        kernel, bias = np.asarray(kernel), np.asarray(bias)
        if kernel.shape != tuple(d.kernel.shape) or bias.shape != tuple(d.bias.shape):
            raise ValueError(f"shape mismatch: got {kernel.shape}/{bias.shape}, layer wants "
                             f"{tuple(d.kernel.shape)}/{tuple(d.bias.shape)}")
        d.kernel.assign(kernel.astype(np.float32))
        d.bias.assign(bias.astype(np.float32))
    return model
