"""The GAN chapter's convolutional networks in Keras 3 (mirrors ``genlab.torch.gan`` name for name).

Same layers, same order, same weights layout (see ``genlab.torch.gan``); images are (N, H, W, C).
"""
from __future__ import annotations

from typing import Sequence

import keras
import numpy as np
import tensorflow as tf

__all__ = ["ConvGenerator", "ConvDiscriminator", "SRNet", "PatchDiscriminator", "StackedMLP"]

_ACT = {"relu": tf.nn.relu, "tanh": tf.tanh, "lrelu": lambda h: tf.nn.leaky_relu(h, 0.2), "elu": tf.nn.elu,
        "softplus": tf.nn.softplus}


def _act(name: str):
    if name not in _ACT:
        raise ValueError(f"activation must be one of {sorted(_ACT)}, got {name!r}")
    return _ACT[name]


class ConvGenerator(keras.Model):
    """(N, in_dim) codes -> (N, 8, 8, 1) images in [-1, 1] (see ``genlab.torch.gan.ConvGenerator``)."""

    def __init__(self, in_dim: int = 32, width: int = 32, activation: str = "lrelu", **kwargs):
        super().__init__(**kwargs)
        self.width, self.act = width, _act(activation)
        self.fc = keras.layers.Dense(4 * width * 2 * 2)
        self.conv1 = keras.layers.Conv2D(2 * width, 3, padding="same")
        self.conv2 = keras.layers.Conv2D(width, 3, padding="same")
        self.conv3 = keras.layers.Conv2D(1, 3, padding="same")
        self.up = keras.layers.UpSampling2D(2, interpolation="nearest")
        self.fc.build((None, in_dim))
        self.conv1.build((None, 4, 4, 4 * width))
        self.conv2.build((None, 8, 8, 2 * width))
        self.conv3.build((None, 8, 8, width))
        self.built = True

    def call(self, z):
        h = tf.reshape(self.act(self.fc(z)), (-1, 2, 2, 4 * self.width))
        h = self.act(self.conv1(self.up(h)))
        h = self.act(self.conv2(self.up(h)))
        return tf.tanh(self.conv3(h))


class ConvDiscriminator(keras.Model):
    """(N, 8, 8, in_channels) images -> (N, 1) logits (see ``genlab.torch.gan.ConvDiscriminator``)."""

    def __init__(self, in_channels: int = 1, width: int = 64, **kwargs):
        super().__init__(**kwargs)
        self.conv1 = keras.layers.Conv2D(width, 4, strides=2, padding="same")
        self.conv2 = keras.layers.Conv2D(2 * width, 4, strides=2, padding="same")
        self.fc = keras.layers.Dense(1)
        self.conv1.build((None, 8, 8, in_channels))
        self.conv2.build((None, 4, 4, width))
        self.fc.build((None, 2 * width * 2 * 2))
        self.built = True

    def call(self, x):
        h = tf.nn.leaky_relu(self.conv1(x), 0.2)
        h = tf.nn.leaky_relu(self.conv2(h), 0.2)
        return self.fc(tf.reshape(h, (tf.shape(h)[0], -1)))


class SRNet(keras.Model):
    """ESPCN-style body: (N, h, w, 1) -> (N, h, w, scale**2) sub-pixel channels (see ``genlab.torch.gan.SRNet``)."""

    def __init__(self, width: int = 32, depth: int = 3, scale: int = 2, activation: str = "tanh", **kwargs):
        super().__init__(**kwargs)
        if depth < 2:
            raise ValueError(f"depth must be >= 2, got {depth}")
        self.act = _act(activation)
        self.convs = [keras.layers.Conv2D(width, 5 if i == 0 else 3, padding="same") for i in range(depth - 1)]
        self.last = keras.layers.Conv2D(scale * scale, 3, padding="same")
        chans = 1
        for conv in self.convs:
            conv.build((None, None, None, chans))
            chans = width
        self.last.build((None, None, None, width))
        self.built = True

    def call(self, lr):
        h = lr
        for conv in self.convs:
            h = self.act(conv(h))
        return self.last(h)


class PatchDiscriminator(keras.Model):
    """(N, H, W, 1) image -> (N, H/4, W/4, 1) patch logits (see ``genlab.torch.gan.PatchDiscriminator``)."""

    def __init__(self, width: int = 32, **kwargs):
        super().__init__(**kwargs)
        self.conv1 = keras.layers.Conv2D(width, 4, strides=2, padding="same")
        self.conv2 = keras.layers.Conv2D(2 * width, 4, strides=2, padding="same")
        self.conv3 = keras.layers.Conv2D(1, 3, padding="same")
        self.conv1.build((None, None, None, 1))
        self.conv2.build((None, None, None, width))
        self.conv3.build((None, None, None, 2 * width))
        self.built = True

    def call(self, x):
        h = tf.nn.leaky_relu(self.conv1(x), 0.2)
        h = tf.nn.leaky_relu(self.conv2(h), 0.2)
        return self.conv3(h)


class StackedMLP(keras.Model):
    """S independent MLPs of one shape, run and trained as one model: (S, B, in_dim) -> (S, B, out_dim)
    (see ``genlab.torch.gan.StackedMLP``). Built from S ``genlab.tf.MLP`` (weights copied); layer k keeps a
    (S, in, out) kernel and a (S, 1, out) bias, and a forward pass is one batched ``tf.matmul`` per layer."""

    def __init__(self, models: Sequence[keras.Model], activation: str = "relu", **kwargs):
        super().__init__(**kwargs)
        layers = [[d for d in model._flatten_layers(include_self=False) if isinstance(d, keras.layers.Dense)] for model in models]
        if not layers or any(len(ls) != len(layers[0]) or not ls for ls in layers):
            raise ValueError("StackedMLP needs one or more MLPs with the same number of Dense layers")
        for ls in layers[1:]:
            if [tuple(d.kernel.shape) for d in ls] != [tuple(d.kernel.shape) for d in layers[0]]:
                raise ValueError("StackedMLP needs MLPs with the same layer shapes")
        self.act = _act(activation)
        self.kernels, self.biases = [], []
        for k in range(len(layers[0])):
            kernel = np.stack([ls[k].kernel.numpy() for ls in layers])
            bias = np.stack([ls[k].bias.numpy()[None] for ls in layers])
            self.kernels.append(self.add_weight(shape=kernel.shape, initializer="zeros", name=f"kernel_{k}"))
            self.biases.append(self.add_weight(shape=bias.shape, initializer="zeros", name=f"bias_{k}"))
            self.kernels[-1].assign(kernel)
            self.biases[-1].assign(bias)
        self.n_models = len(models)
        self.built = True

    def call(self, x):
        h, last = x, len(self.kernels) - 1
        for k, (w, b) in enumerate(zip(self.kernels, self.biases)):
            h = tf.matmul(h, w) + b
            if k < last:
                h = self.act(h)
        return h
