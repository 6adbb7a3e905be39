"""The GAN chapter's convolutional networks in PyTorch (``genlab.tf.gan`` mirrors every name).

Built only from layers that exist with identical semantics in Keras (no BatchNorm, no transposed
convolutions: nearest-neighbour upsampling followed by a 3x3 convolution, which also avoids the
checkerboard artefacts of strided transposed convolutions), so the same weights give the same outputs in
both frameworks (``genlab.torch.get_weights`` / ``genlab.tf.set_weights``; tests/test_gan_parity.py).
Dense layers see the feature maps in (H, W, C) order, as Keras flattens and reshapes.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["ConvGenerator", "ConvDiscriminator", "SRNet", "PatchDiscriminator", "StackedMLP"]

_ACT = {"relu": F.relu, "tanh": torch.tanh, "lrelu": lambda h: F.leaky_relu(h, 0.2), "elu": F.elu, "softplus": F.softplus}


def _act(name: str):
    if name not in _ACT:
        raise ValueError(f"activation must be one of {sorted(_ACT)}, got {name!r}")
    return _ACT[name]


class ConvGenerator(nn.Module):
    """(N, in_dim) codes -> (N, 1, 8, 8) images in [-1, 1].

    Dense to a 2x2 map of 4*width channels -> [nearest upsample x2 -> 3x3 conv] twice (4*w -> 2*w -> w)
    -> 3x3 conv to 1 channel -> tanh. For a conditional GAN, ``in_dim`` = code size + number of classes.
    """

    def __init__(self, in_dim: int = 32, width: int = 32, activation: str = "lrelu"):
        super().__init__()
        self.width, self.act = width, _act(activation)
        self.fc = nn.Linear(in_dim, 4 * width * 2 * 2)
        self.conv1 = nn.Conv2d(4 * width, 2 * width, 3, padding=1)
        self.conv2 = nn.Conv2d(2 * width, width, 3, padding=1)
        self.conv3 = nn.Conv2d(width, 1, 3, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.act(self.fc(z)).reshape(-1, 2, 2, 4 * self.width).permute(0, 3, 1, 2)
        h = self.act(self.conv1(F.interpolate(h, scale_factor=2, mode="nearest")))
        h = self.act(self.conv2(F.interpolate(h, scale_factor=2, mode="nearest")))
        return torch.tanh(self.conv3(h))


class ConvDiscriminator(nn.Module):
    """(N, in_channels, 8, 8) images -> (N, 1) logits: two 4x4 stride-2 convs (LeakyReLU 0.2), then a dense layer.
    For a conditional GAN, ``in_channels`` = 1 + number of classes (one-hot label maps)."""

    def __init__(self, in_channels: int = 1, width: int = 64):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, width, 4, stride=2, padding=1)
        self.conv2 = nn.Conv2d(width, 2 * width, 4, stride=2, padding=1)
        self.fc = nn.Linear(2 * width * 2 * 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.leaky_relu(self.conv1(x), 0.2)
        h = F.leaky_relu(self.conv2(h), 0.2)
        return self.fc(h.permute(0, 2, 3, 1).flatten(1))


class SRNet(nn.Module):
    """The body of an ESPCN-style x``scale`` super-resolution network (Shi et al., 2016).

    (N, 1, h, w) low-resolution image -> (N, scale**2, h, w) sub-pixel channels: a 5x5 conv, ``depth - 2``
    3x3 convs of ``width`` channels, and a 3x3 conv to ``scale**2`` channels, all at low resolution.
    A pixel shuffle turns the result into a (N, 1, scale*h, scale*w) residual added to the bicubic upsample.
    """

    def __init__(self, width: int = 32, depth: int = 3, scale: int = 2, activation: str = "tanh"):
        super().__init__()
        if depth < 2:
            raise ValueError(f"depth must be >= 2, got {depth}")
        self.act = _act(activation)
        chans = [1] + [width] * (depth - 1)
        self.convs = nn.ModuleList([nn.Conv2d(chans[0], chans[1], 5, padding=2)] +
                                   [nn.Conv2d(a, b, 3, padding=1) for a, b in zip(chans[1:-1], chans[2:])])
        self.last = nn.Conv2d(width, scale * scale, 3, padding=1)

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        h = lr
        for conv in self.convs:
            h = self.act(conv(h))
        return self.last(h)


class PatchDiscriminator(nn.Module):
    """(N, 1, H, W) image -> (N, 1, H/4, W/4) patch logits: two 4x4 stride-2 convs (LeakyReLU 0.2) and a 3x3 conv.
    Each logit judges one overlapping patch: a PatchGAN (pix2pix), which looks at texture, not layout."""

    def __init__(self, width: int = 32):
        super().__init__()
        self.conv1 = nn.Conv2d(1, width, 4, stride=2, padding=1)
        self.conv2 = nn.Conv2d(width, 2 * width, 4, stride=2, padding=1)
        self.conv3 = nn.Conv2d(2 * width, 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.leaky_relu(self.conv1(x), 0.2)
        h = F.leaky_relu(self.conv2(h), 0.2)
        return self.conv3(h)


class StackedMLP(nn.Module):
    """S independent MLPs of one shape, run and trained as one model: (S, B, in_dim) -> (S, B, out_dim).

    Built from S ``genlab.torch.MLP`` (same sizes; their weights are copied, so each slice starts exactly
    where that model started): layer k keeps a (S, in, out) kernel and a (S, 1, out) bias, and a forward pass
    is one batched matrix product per layer (``torch.baddbmm``). Slice s of the input only ever meets slice s
    of the weights, so the S models stay independent; one optimizer step (Adam is elementwise) updates all of
    them. The per-operation overhead is paid once for all S (measured on the CPU: 3 ring seeds ~7.9 ms a step
    stacked, against 3 x 3.5 ms apart). A loss that averages over all S*B outputs is the mean of the S models' own losses (equal
    batch sizes): each slice's gradient is 1/S of its own, which Adam's update ignores (up to its eps).
    """

    def __init__(self, models: Sequence[nn.Module], activation: str = "relu"):
        super().__init__()
        layers = [[m for m in model.modules() if isinstance(m, nn.Linear)] for model in models]
        if not layers or any(len(ls) != len(layers[0]) or not ls for ls in layers):
            raise ValueError("StackedMLP needs one or more MLPs with the same number of Linear layers")
        for ls in layers[1:]:
            if [tuple(m.weight.shape) for m in ls] != [tuple(m.weight.shape) for m in layers[0]]:
                raise ValueError("StackedMLP needs MLPs with the same layer shapes")
        self.act = _act(activation)
        self.kernels = nn.ParameterList(
            [nn.Parameter(torch.stack([ls[k].weight.detach().T for ls in layers]).contiguous()) for k in range(len(layers[0]))])
        self.biases = nn.ParameterList(
            [nn.Parameter(torch.stack([ls[k].bias.detach()[None] for ls in layers]).contiguous()) for k in range(len(layers[0]))])
        self.n_models = len(models)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, last = x, len(self.kernels) - 1
        for k, (w, b) in enumerate(zip(self.kernels, self.biases)):
            h = torch.baddbmm(b, h, w)
            if k < last:
                h = self.act(h)
        return h
