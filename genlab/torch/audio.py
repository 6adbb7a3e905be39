"""Models of chapter 06_audio in PyTorch (``genlab.tf.audio`` mirrors every name and signature).

Every model works on (batch, time, channels) tensors and keeps its weights in the layout Keras uses, so
:func:`get_weights` / :func:`set_weights` move them between the frameworks unchanged:

==========  ==================================================================
Dense       kernel (in, out), bias (out,)
Conv        kernel (K, C_in, C_out), bias (C_out,); "valid" (padding is explicit)
Embedding   table (N, C)
==========  ==================================================================

- :class:`WaveNet`: dilated causal convolutions with gated activations, residual and skip connections, global
  conditioning (van den Oord et al., 2016). The causal padding is INJECTED (``causal_pad``: the chapter's
  exercise); :meth:`WaveNet.generate` samples with per-layer caches of past activations (fast WaveNet generation,
  Paine et al., 2016), feeding back the class ids the caller decodes with its own mu-law.
- :class:`MaskNet`: a convolutional time-frequency mask estimator for speech enhancement.
- :class:`CTCNet`: a convolutional acoustic model for CTC (log-probabilities over blank + 10 digits).
- :func:`stft` / :func:`istft`: centred STFT and its inverse with the framework's ops (periodic Hann window).

Nothing here implements an exercise: no mu-law, no mel filterbank, no SI-SDR, no CTC decoding, no RVQ.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from genlab.torch.weights import assign_arrays, read_arrays

__all__ = ["Dense", "Conv", "WaveNet", "MaskNet", "CTCNet", "stft", "istft", "get_weights", "set_weights",
           "count_params"]


class Dense(nn.Module):
    """x @ kernel + bias on the last axis (kernel (in, out): the Keras layout)."""

    def __init__(self, n_in: int, n_out: int):
        super().__init__()
        bound = 1.0 / math.sqrt(n_in)
        self.kernel = nn.Parameter(torch.empty(n_in, n_out).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(n_out).uniform_(-bound, bound))

    def forward(self, x):
        return x @ self.kernel + self.bias


class Conv(nn.Module):
    """A 1-D "valid" convolution on (B, T, C_in) -> (B, T', C_out); kernel (K, C_in, C_out)."""

    def __init__(self, n_in: int, n_out: int, kernel_size: int, dilation: int = 1, stride: int = 1):
        super().__init__()
        bound = 1.0 / math.sqrt(n_in * kernel_size)
        self.kernel = nn.Parameter(torch.empty(kernel_size, n_in, n_out).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(n_out).uniform_(-bound, bound))
        self.kernel_size, self.dilation, self.stride = kernel_size, dilation, stride

    def forward(self, x):
        y = F.conv1d(x.transpose(1, 2), self.kernel.permute(2, 1, 0), self.bias, stride=self.stride,
                     dilation=self.dilation)
        return y.transpose(1, 2)


def _pad_time(x, left: int, right: int):
    return F.pad(x, (0, 0, left, right))


class WaveNet(nn.Module):
    """A small WaveNet over quantised samples: ids (B, T) int and a conditioning vector (B, n_cond) ->
    logits (B, T, n_classes) for the NEXT sample at each position.

    ``causal_pad(h, kernel_size, dilation)`` pads a (B, T, C) tensor on the time axis so that the "valid"
    dilated convolution that follows has T outputs, output t seeing inputs t - (K-1)d ... t only.
    """

    def __init__(self, causal_pad: Callable, n_classes: int = 256, n_cond: int = 11, channels: int = 32,
                 skip_channels: int = 64, kernel_size: int = 2, dilations: Sequence[int] = (1, 2, 4, 8, 16, 32, 64)):
        super().__init__()
        self.causal_pad = causal_pad
        self.n_classes, self.channels, self.kernel_size = n_classes, channels, kernel_size
        self.dilations = tuple(int(d) for d in dilations)
        self.embed = nn.Parameter(torch.randn(n_classes, channels) * 0.5)
        self.cond = Dense(n_cond, len(self.dilations) * 2 * channels)
        self.convs = nn.ModuleList(Conv(channels, 2 * channels, kernel_size, d) for d in self.dilations)
        self.res = nn.ModuleList(Dense(channels, channels) for _ in self.dilations)
        self.skip = nn.ModuleList(Dense(channels, skip_channels) for _ in self.dilations)
        self.out1 = Dense(skip_channels, skip_channels)
        self.out2 = Dense(skip_channels, n_classes)

    def parts(self):
        out = [self.embed, self.cond]
        for conv, res, skip in zip(self.convs, self.res, self.skip):
            out += [conv, res, skip]
        return out + [self.out1, self.out2]

    def _head(self, skips):
        return self.out2(F.relu(self.out1(F.relu(skips))))

    def forward(self, ids, cond):
        h = self.embed[ids.long()]                                            # (B, T, C)
        c = self.cond(cond).view(cond.shape[0], len(self.dilations), 2 * self.channels)
        skips = 0.0
        for i, (conv, res, skip) in enumerate(zip(self.convs, self.res, self.skip)):
            z = conv(self.causal_pad(h, self.kernel_size, conv.dilation)) + c[:, i, None, :]
            f, g = z.chunk(2, dim=-1)
            a = torch.tanh(f) * torch.sigmoid(g)
            skips = skips + skip(a)
            h = h + res(a)
        return self._head(skips)

    @torch.no_grad()
    def step(self, ids, c, caches):
        """One generation step: ids (B,) of the current sample, c (B, L, 2C) the projected conditioning, caches
        a list of (B, (K-1)d, C) past inputs per layer -> (logits (B, n_classes), new caches)."""
        h = self.embed[ids.long()]                                            # (B, C)
        skips, new = 0.0, []
        for i, (conv, res, skip) in enumerate(zip(self.convs, self.res, self.skip)):
            buf, d = caches[i], conv.dilation
            taps = [buf[:, j * d] for j in range(self.kernel_size - 1)] + [h]
            z = sum(t @ conv.kernel[j] for j, t in enumerate(taps)) + conv.bias + c[:, i]
            f, g = z.chunk(2, dim=-1)
            a = torch.tanh(f) * torch.sigmoid(g)
            skips = skips + skip(a)
            new.append(torch.cat([buf[:, 1:], h[:, None]], dim=1))
            h = h + res(a)
        return self._head(skips), new

    @torch.no_grad()
    def generate(self, cond, n_samples: int, first_id: int = 128, temperature: float = 1.0, seed: int = 0):
        """Sample ``n_samples`` ids (B, n_samples) autoregressively, starting from ``first_id`` with empty
        (zero) caches, as training saw the start of a note. Each step costs one position per layer."""
        self.eval()
        cond = torch.as_tensor(np.asarray(cond), dtype=torch.float32, device=self.embed.device)
        b = cond.shape[0]
        c = self.cond(cond).view(b, len(self.dilations), 2 * self.channels)
        caches = [torch.zeros(b, (self.kernel_size - 1) * d, self.channels, device=cond.device) for d in self.dilations]
        gen = torch.Generator(device=cond.device).manual_seed(seed)
        ids = torch.full((b,), first_id, dtype=torch.long, device=cond.device)
        out = torch.empty(b, n_samples, dtype=torch.long, device=cond.device)
        for t in range(n_samples):
            logits, caches = self.step(ids, c, caches)
            probs = torch.softmax(logits / temperature, dim=-1)
            ids = torch.multinomial(probs, 1, generator=gen)[:, 0]
            out[:, t] = ids
        return out


class MaskNet(nn.Module):
    """Features (B, T, n_in) -> a mask in (0, 1) of shape (B, T, n_out): three "same" convolutions over time
    (kernel 5, ReLU) and a sigmoid output layer."""

    def __init__(self, n_in: int = 129, n_out: int = 129, hidden: int = 128, kernel_size: int = 5):
        super().__init__()
        self.pad = kernel_size // 2
        self.convs = nn.ModuleList([Conv(n_in, hidden, kernel_size), Conv(hidden, hidden, kernel_size),
                                    Conv(hidden, hidden, kernel_size)])
        self.out = Dense(hidden, n_out)

    def parts(self):
        return list(self.convs) + [self.out]

    def forward(self, feats):
        h = feats
        for conv in self.convs:
            h = F.relu(conv(_pad_time(h, self.pad, self.pad)))
        return torch.sigmoid(self.out(h))


class CTCNet(nn.Module):
    """Log-mel frames (B, T, n_mels) -> log-probabilities (B, T', n_classes), T' = (T - 1) // 2 + 1: a
    convolution, a stride-2 convolution, two dilated residual convolutions (dilations 2 and 4), a linear layer."""

    def __init__(self, n_mels: int = 40, n_classes: int = 11, channels: int = 128):
        super().__init__()
        self.c1 = Conv(n_mels, channels, 5)
        self.c2 = Conv(channels, channels, 5, stride=2)
        self.c3 = Conv(channels, channels, 5, dilation=2)
        self.c4 = Conv(channels, channels, 5, dilation=4)
        self.out = Dense(channels, n_classes)

    def parts(self):
        return [self.c1, self.c2, self.c3, self.c4, self.out]

    @staticmethod
    def output_lengths(lengths):
        """Frames out for frames in (the stride-2 layer halves the rate)."""
        return (np.asarray(lengths) - 1) // 2 + 1

    def forward(self, feats):
        h = F.relu(self.c1(_pad_time(feats, 2, 2)))
        h = F.relu(self.c2(_pad_time(h, 2, 2)))
        h = h + F.relu(self.c3(_pad_time(h, 4, 4)))
        h = h + F.relu(self.c4(_pad_time(h, 8, 8)))
        return torch.log_softmax(self.out(h), dim=-1)


def stft(x, n_fft: int = 256, hop: int = 64):
    """Centred STFT of (B, T) waveforms (zero padding, periodic Hann): complex (B, 1 + T // hop, n_fft // 2 + 1)."""
    window = torch.hann_window(n_fft, device=x.device, dtype=x.dtype)
    spec = torch.stft(x, n_fft, hop, window=window, center=True, pad_mode="constant", return_complex=True)
    return spec.transpose(-1, -2)


def istft(spec, n_fft: int = 256, hop: int = 64, length: int | None = None):
    """Inverse of :func:`stft`: complex (B, frames, bins) -> (B, length) waveforms."""
    window = torch.hann_window(n_fft, device=spec.device)
    return torch.istft(spec.transpose(-1, -2), n_fft, hop, window=window, center=True, length=length)


def _arrays(part):
    if isinstance(part, nn.Parameter):
        return [part]
    return [part.kernel, part.bias]


def get_weights(model) -> list[np.ndarray]:
    """The weights as float32 NumPy arrays in the shared (Keras) layout, in the order of ``model.parts()``."""
    return read_arrays(p for part in model.parts() for p in _arrays(part))


def set_weights(model, weights: Sequence[np.ndarray]):
    """Load weights in the layout of :func:`get_weights` (count and shapes checked). Returns the model."""
    assign_arrays([p for part in model.parts() for p in _arrays(part)], weights)
    return model


def count_params(model) -> int:
    return int(sum(p.numel() for p in model.parameters()))
