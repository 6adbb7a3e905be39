"""The digits feature extractor in PyTorch (``genlab.tf.features`` mirrors every name).

A small CNN classifier trained on the digits' training split; its penultimate activations are the
features for FID/KID/precision-recall and its softmax the p(y|x) for the Inception Score. Why a
domain classifier instead of Inception-v3, the architecture and the weight layout:
``genlab.metrics.digits`` and ``datasets/digits_classifier.md``.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn

from genlab.metrics import digits as _spec
from genlab.torch import models as _models

__all__ = ["DigitsClassifier", "load_pretrained", "get_weights", "set_weights"]


class DigitsClassifier(nn.Module):
    """8x8 digit classifier. ``forward``: (N, 1, 8, 8) or (N, 8, 8) float tensor -> (N, 10) logits."""

    num_features = _spec.FEATURE_DIM  # torchmetrics reads this from a custom feature module

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.conv3 = nn.Conv2d(32, 64, 3, padding=1)
        self.fc = nn.Linear(256, _spec.FEATURE_DIM)
        self.out = nn.Linear(_spec.FEATURE_DIM, _spec.NUM_CLASSES)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Differentiable features: (N, 1, 8, 8) or (N, 8, 8) tensor -> (N, 64) pre-ReLU fc activations."""
        if x.dim() == 3:
            x = x.unsqueeze(1)
        x = torch.relu(self.conv1(x))
        x = nn.functional.max_pool2d(torch.relu(self.conv2(x)), 2)
        x = nn.functional.max_pool2d(torch.relu(self.conv3(x)), 2)
        x = x.permute(0, 2, 3, 1).flatten(1)  # NHWC order, as Keras flattens
        return self.fc(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.relu(self.embed(x)))

    def _run(self, images, fn, batch_size: int) -> np.ndarray:
        x = _spec.prepare_images(images)
        param = next(self.parameters())
        was_training = self.training
        self.eval()
        outs = []
        with torch.no_grad():
            for s in range(0, len(x), batch_size):
                xb = torch.as_tensor(x[s:s + batch_size], dtype=param.dtype, device=param.device)
                outs.append(fn(xb).cpu().numpy())
        self.train(was_training)
        return np.concatenate(outs)

    def features(self, images, batch_size: int = 1024) -> np.ndarray:
        """(N, 8, 8) / (N, 64) / (N, 1, 8, 8) NumPy images in [0, 1] -> (N, 64) NumPy features."""
        return self._run(images, self.embed, batch_size)

    def probs(self, images, batch_size: int = 1024) -> np.ndarray:
        """Images as in :meth:`features` -> (N, 10) softmax probabilities (NumPy)."""
        return self._run(images, lambda t: torch.softmax(self(t), dim=-1), batch_size)

    def feature_module(self) -> nn.Module:
        """An ``nn.Module`` mapping images to features (``num_features`` = 64), e.g. for torchmetrics'
        ``FrechetInceptionDistance(feature=...)``."""
        return _Embed(self)


class _Embed(nn.Module):
    num_features = _spec.FEATURE_DIM

    def __init__(self, model: DigitsClassifier):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.embed(x)


def get_weights(model: DigitsClassifier) -> list[np.ndarray]:
    """Weights in the Keras layout of ``genlab.metrics.digits.LAYOUT`` (conv (kh, kw, in, out), dense (in, out))."""
    return [w.astype(np.float32) for w in _models.get_weights(model)]


def set_weights(model: DigitsClassifier, weights: Sequence[np.ndarray]) -> DigitsClassifier:
    """Load weights in the layout :func:`get_weights` returns (shapes are checked)."""
    _spec.check_layout(weights)
    return _models.set_weights(model, weights)


def load_pretrained(path=None) -> DigitsClassifier:
    """The shipped classifier (``datasets/digits_classifier.npz``, checksum verified), in eval mode on the CPU."""
    model = DigitsClassifier()
    set_weights(model, _spec.load_weights(path))
    return model.eval()
