"""The digits feature extractor in Keras 3 (mirrors ``genlab.torch.features`` name for name).

Same architecture and weight file as the PyTorch version (``genlab.metrics.digits``); Keras is
channels-last (NHWC) and stores conv kernels as (kh, kw, in, out), which is the file's layout.
"""
from __future__ import annotations

from typing import Sequence

import keras
import numpy as np
import tensorflow as tf

from genlab.metrics import digits as _spec
from genlab.tf import models as _models

__all__ = ["DigitsClassifier", "load_pretrained", "get_weights", "set_weights"]


class DigitsClassifier(keras.Model):
    """8x8 digit classifier. ``call``: (N, 8, 8, 1) or (N, 8, 8) float tensor -> (N, 10) logits."""

    num_features = _spec.FEATURE_DIM

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.conv1 = keras.layers.Conv2D(16, 3, padding="same", activation="relu")
        self.conv2 = keras.layers.Conv2D(32, 3, padding="same", activation="relu")
        self.conv3 = keras.layers.Conv2D(64, 3, padding="same", activation="relu")
        self.pool = keras.layers.MaxPooling2D(2)
        self.flatten = keras.layers.Flatten()
        self.fc = keras.layers.Dense(_spec.FEATURE_DIM)  # ReLU applied in call(): embed() is pre-ReLU
        self.out = keras.layers.Dense(_spec.NUM_CLASSES)
        self.build((None, 8, 8, 1))  # create the weights now, as PyTorch does

    def build(self, input_shape):
        self.conv1.build((None, 8, 8, 1))
        self.conv2.build((None, 8, 8, 16))
        self.conv3.build((None, 4, 4, 32))
        self.fc.build((None, 256))
        self.out.build((None, _spec.FEATURE_DIM))
        self.built = True

    def embed(self, x):
        """Differentiable features: (N, 8, 8, 1) or (N, 8, 8) tensor -> (N, 64) pre-ReLU fc activations."""
        if len(x.shape) == 3:
            x = x[..., None]
        x = self.conv1(x)
        x = self.pool(self.conv2(x))
        x = self.pool(self.conv3(x))
        return self.fc(self.flatten(x))

    def call(self, x):
        return self.out(keras.ops.relu(self.embed(x)))

    def _run(self, images, fn, batch_size: int) -> np.ndarray:
        x = _spec.prepare_images(images)[..., None]
        return np.concatenate([np.asarray(fn(tf.constant(x[s:s + batch_size])))
                               for s in range(0, len(x), batch_size)])

    def features(self, images, batch_size: int = 1024) -> np.ndarray:
        """(N, 8, 8) / (N, 64) / (N, 1, 8, 8) / (N, 8, 8, 1) NumPy images in [0, 1] -> (N, 64) NumPy features."""
        return self._run(images, self.embed, batch_size)

    def probs(self, images, batch_size: int = 1024) -> np.ndarray:
        """Images as in :meth:`features` -> (N, 10) softmax probabilities (NumPy)."""
        return self._run(images, lambda t: tf.nn.softmax(self(t), axis=-1), batch_size)


def get_weights(model: DigitsClassifier) -> list[np.ndarray]:
    """Weights in the Keras layout of ``genlab.metrics.digits.LAYOUT``."""
    return _models.get_weights(model)


def set_weights(model: DigitsClassifier, weights: Sequence[np.ndarray]) -> DigitsClassifier:
    """Load weights in the layout :func:`get_weights` returns (shapes are checked)."""
    _spec.check_layout(weights)
    return _models.set_weights(model, weights)


def load_pretrained(path=None) -> DigitsClassifier:
    """The shipped classifier (``datasets/digits_classifier.npz``, checksum verified)."""
    model = DigitsClassifier()
    return set_weights(model, _spec.load_weights(path))
