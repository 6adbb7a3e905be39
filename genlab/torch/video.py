"""Chapter 07's models in PyTorch (``genlab.tf.video`` mirrors every name and signature).

Video layout: (N, T, C, H, W) tensors; NumPy clips are framework-neutral (N, T, H, W, C) or
(N, T, H, W) (one channel), converted by :func:`to_video` / :func:`video_to_numpy`.

Every weight is stored in the Keras layout (conv kernels (kt, kh, kw, in, out) or (kh, kw, in,
out), dense (in, out)) and initialised from a NumPy seed, so both frameworks build the same model
from the same seed and :func:`get_weights` / :func:`set_weights` move weights between them
(tests/test_video_parity.py).

Nothing here implements an exercise: :class:`ConvLSTMPredictor` calls the ConvLSTM cell it is
given (the notebook passes the learner's ``convlstm_cell``); :func:`toy_step` and
:func:`probe_warp` are deterministic stand-ins the tests pass to the learner's rollout,
interpolation and warping-error functions so that each exercise is judged on its own.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from genlab.torch.weights import assign_arrays, read_arrays

__all__ = ["to_video", "video_to_numpy", "toy_step", "probe_warp", "space_to_depth", "depth_to_space",
           "ConvLSTMPredictor", "VideoVAE", "train_predictor", "train_video_vae", "vae_loss", "get_weights", "set_weights"]

def to_video(array, dtype=torch.float32) -> torch.Tensor:
    """NumPy clips (N, T, H, W, C) or (N, T, H, W) -> a (N, T, C, H, W) tensor."""
    arr = np.asarray(array)
    if arr.ndim == 4:
        arr = arr[..., None]
    if arr.ndim != 5:
        raise ValueError(f"to_video wants (N, T, H, W[, C]) arrays, got shape {arr.shape}")
    return torch.as_tensor(arr.transpose(0, 1, 4, 2, 3).copy(), dtype=dtype)


def video_to_numpy(tensor) -> np.ndarray:
    """A (N, T, C, H, W) tensor -> NumPy (N, T, H, W, C), the inverse of :func:`to_video`."""
    arr = tensor.detach().cpu().numpy() if isinstance(tensor, torch.Tensor) else np.asarray(tensor)
    if arr.ndim != 5:
        raise ValueError(f"video_to_numpy wants a 5-D video, got shape {arr.shape}")
    return arr.transpose(0, 1, 3, 4, 2)


def toy_step(frame: torch.Tensor, state):
    """A fixed, stateful next-frame "model" for testing rollouts: (frame (N, C, H, W), state) -> (prediction, state).

    state <- 0.5 state + frame (zeros when ``state`` is None); prediction = tanh(frame shifted one
    pixel right (wrapping) + 0.3 state).
    """
    state = frame if state is None else 0.5 * state + frame
    return torch.tanh(torch.roll(frame, 1, dims=-1) + 0.3 * state), state


def probe_warp(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Not a warp: a cheap, nonlinear function of (image, flow) with a warp's shapes, for tests.

    image (N, C, H, W), flow (N, 2, H, W) as (dx, dy) -> image * (1 + 0.5 tanh(dx)) + 0.25 dy.
    """
    return image * (1.0 + 0.5 * torch.tanh(flow[:, :1])) + 0.25 * flow[:, 1:2]


def space_to_depth(x: torch.Tensor, r: int) -> torch.Tensor:
    """(N, C, H, W) -> (N, r*r*C, H/r, W/r), channels ordered (row in block, column in block, channel) as TensorFlow's."""
    n, c, h, w = x.shape
    x = x.reshape(n, c, h // r, r, w // r, r).permute(0, 3, 5, 1, 2, 4)
    return x.reshape(n, r * r * c, h // r, w // r)


def depth_to_space(x: torch.Tensor, r: int) -> torch.Tensor:
    """The inverse of :func:`space_to_depth`."""
    n, c, h, w = x.shape
    x = x.reshape(n, r, r, c // (r * r), h, w).permute(0, 3, 4, 1, 5, 2)
    return x.reshape(n, c // (r * r), h * r, w * r)


def _he(rng: np.random.Generator, shape, fan_in: int) -> np.ndarray:
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)


class ConvLSTMPredictor(nn.Module):
    """Next-frame predictor: a ConvLSTM on 2x2 space-to-depth patches, a 1x1 conv head, a sigmoid.

    ``cell(x, h, c, weight, bias) -> (h, c)`` is the ConvLSTM cell (the chapter's exercise):
    ``x`` (N, P, H', W'), ``h``/``c`` (N, hidden, H', W'), ``weight`` (k, k, P + hidden, 4 hidden)
    in the Keras layout, ``bias`` (4 hidden,). :meth:`step` maps one frame and a state to the
    predicted next frame and the new state; :meth:`forward` is teacher forcing (each prediction
    sees the true previous frames) and returns logits.
    """

    def __init__(self, cell: Callable, channels: int = 1, hidden: int = 32, kernel: int = 3, patch: int = 2,
                 seed: int = 0):
        super().__init__()
        self.cell, self.channels, self.hidden, self.kernel, self.patch = cell, channels, hidden, kernel, patch
        p = channels * patch * patch
        rng = np.random.default_rng(seed)
        fan = kernel * kernel * (p + hidden)
        bias = np.zeros(4 * hidden, np.float32)
        bias[hidden:2 * hidden] = 1.0  # forget gate starts open
        self.weight = nn.Parameter(torch.as_tensor(_he(rng, (kernel, kernel, p + hidden, 4 * hidden), fan) * 0.5))
        self.bias = nn.Parameter(torch.as_tensor(bias))
        self.head_w = nn.Parameter(torch.as_tensor(_he(rng, (hidden, p), hidden) * 0.5))
        self.head_b = nn.Parameter(torch.full((p,), -2.0))

    def _logits(self, frame: torch.Tensor, state):
        x = space_to_depth(frame, self.patch)
        if state is None:
            z = torch.zeros(x.shape[0], self.hidden, x.shape[2], x.shape[3], dtype=x.dtype, device=x.device)
            state = (z, z)
        h, c = self.cell(x, state[0], state[1], self.weight, self.bias)
        y = torch.einsum("nkhw,kp->nphw", h, self.head_w) + self.head_b[:, None, None]
        return depth_to_space(y, self.patch), (h, c)

    def step(self, frame: torch.Tensor, state=None):
        """One frame (N, C, H, W) and the state (None at the start) -> (next frame in [0, 1], new state)."""
        logits, state = self._logits(frame, state)
        return torch.sigmoid(logits), state

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: frames (N, T, C, H, W) -> logits of frames 1..T-1, (N, T - 1, C, H, W)."""
        state, out = None, []
        for t in range(frames.shape[1] - 1):
            logits, state = self._logits(frames[:, t], state)
            out.append(logits)
        return torch.stack(out, dim=1)


def _conv3d(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return F.conv3d(x, w.permute(4, 3, 0, 1, 2), b, padding=w.shape[0] // 2)


class VideoVAE(nn.Module):
    """A small 3-D convolutional VAE over clips (N, T, C, H, W) with T = 8, H = W = 32.

    Encoder: three 3x3x3 convolutions (ReLU) each followed by average pooling (1x2x2, 2x2x2, 2x2x2),
    a dense layer to the posterior mean and log-variance. Decoder: the mirror image with
    nearest-neighbour upsampling; it returns Bernoulli logits.
    """

    def __init__(self, frames: int = 8, size: int = 32, channels: int = 1, latent: int = 32, width: int = 8,
                 seed: int = 0):
        super().__init__()
        if frames % 4 or size % 8:
            raise ValueError("frames must be a multiple of 4 and size of 8")
        self.frames, self.size, self.channels, self.latent, self.width = frames, size, channels, latent, width
        rng = np.random.default_rng(seed)
        w1, w2 = width, 2 * width
        self.bottom = (frames // 4, size // 8, size // 8, w2)
        flat = int(np.prod(self.bottom))
        shapes = [("e1", (3, 3, 3, channels, w1)), ("e2", (3, 3, 3, w1, w2)), ("e3", (3, 3, 3, w2, w2)),
                  ("d1", (3, 3, 3, w2, w2)), ("d2", (3, 3, 3, w2, w1)), ("d3", (3, 3, 3, w1, channels))]
        params = {}
        for name, shape in shapes:
            params[name + "_w"] = _he(rng, shape, 27 * shape[3])
            params[name + "_b"] = np.zeros(shape[-1], np.float32)
        params["enc_w"] = _he(rng, (flat, 2 * latent), flat) * 0.5
        params["enc_b"] = np.zeros(2 * latent, np.float32)
        params["dec_w"] = _he(rng, (latent, flat), latent)
        params["dec_b"] = np.zeros(flat, np.float32)
        self.names = list(params)
        for name in self.names:
            setattr(self, name, nn.Parameter(torch.as_tensor(params[name])))

    def encode(self, clips: torch.Tensor):
        """(N, T, C, H, W) -> posterior mean and log-variance, (N, latent) each."""
        x = clips.permute(0, 2, 1, 3, 4)  # (N, C, T, H, W)
        x = F.avg_pool3d(torch.relu(_conv3d(x, self.e1_w, self.e1_b)), (1, 2, 2))
        x = F.avg_pool3d(torch.relu(_conv3d(x, self.e2_w, self.e2_b)), 2)
        x = F.avg_pool3d(torch.relu(_conv3d(x, self.e3_w, self.e3_b)), 2)
        x = x.permute(0, 2, 3, 4, 1).flatten(1)  # (T, H, W, C) order, as Keras flattens
        out = x @ self.enc_w + self.enc_b
        return out[:, :self.latent], out[:, self.latent:]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(N, latent) -> Bernoulli logits (N, T, C, H, W)."""
        t, h, w, c = self.bottom
        x = torch.relu(z @ self.dec_w + self.dec_b).reshape(-1, t, h, w, c).permute(0, 4, 1, 2, 3)
        x = torch.relu(_conv3d(F.interpolate(x, scale_factor=(2, 2, 2), mode="nearest"), self.d1_w, self.d1_b))
        x = torch.relu(_conv3d(F.interpolate(x, scale_factor=(2, 2, 2), mode="nearest"), self.d2_w, self.d2_b))
        x = _conv3d(F.interpolate(x, scale_factor=(1, 2, 2), mode="nearest"), self.d3_w, self.d3_b)
        return x.permute(0, 2, 1, 3, 4)

    def forward(self, clips: torch.Tensor, noise: torch.Tensor | None = None):
        """(logits, mean, log-variance); ``noise`` (N, latent) is the reparameterisation's epsilon (fresh if None)."""
        mu, logvar = self.encode(clips)
        eps = torch.randn_like(mu) if noise is None else noise
        return self.decode(mu + torch.exp(0.5 * logvar) * eps), mu, logvar

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """``n`` clips from the prior, as NumPy (n, T, H, W, C) probabilities."""
        z = np.random.default_rng(seed).standard_normal((n, self.latent)).astype(np.float32)
        with torch.no_grad():
            p = torch.sigmoid(self.decode(torch.as_tensor(z, device=self.dec_w.device)))
        return video_to_numpy(p)


def _batches(n: int, batch_size: int, steps: int, seed: int):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        yield rng.choice(n, batch_size, replace=False)


def train_predictor(model: ConvLSTMPredictor, clips, steps: int = 500, batch_size: int = 32, lr: float = 3e-3,
                    seed: int = 0) -> list[float]:
    """Teacher-forced training with per-pixel binary cross-entropy (Adam); returns the loss per step."""
    x_all = to_video(clips)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    model.train()
    for idx in _batches(len(x_all), batch_size, steps, seed):
        x = x_all[idx]
        loss = F.binary_cross_entropy_with_logits(model(x), x[:, 1:])
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(float(loss.detach()))
    return history


def vae_loss(model: VideoVAE, x: torch.Tensor, beta: float = 1.0, noise=None) -> torch.Tensor:
    """Negative ELBO per clip in nats (Bernoulli likelihood), averaged over the batch."""
    logits, mu, logvar = model(x, noise)
    rec = F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
    kl = 0.5 * (mu ** 2 + logvar.exp() - 1.0 - logvar).sum(1)
    return (rec + beta * kl).mean()


def train_video_vae(model: VideoVAE, clips, steps: int = 500, batch_size: int = 32, lr: float = 2e-3,
                    beta: float = 1.0, seed: int = 0) -> list[float]:
    """Adam on the negative ELBO; returns it per step (nats per clip)."""
    x_all = to_video(clips)
    torch.manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    for idx in _batches(len(x_all), batch_size, steps, seed):
        loss = vae_loss(model, x_all[idx], beta)
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(float(loss.detach()))
    return history


def _names(model) -> list[str]:
    return model.names if isinstance(model, VideoVAE) else ["weight", "bias", "head_w", "head_b"]


def get_weights(model: nn.Module) -> list[np.ndarray]:
    """The model's weights as NumPy arrays in the shared (Keras) layout, in a fixed order."""
    return read_arrays(getattr(model, n) for n in _names(model))


def set_weights(model: nn.Module, weights: Sequence[np.ndarray]) -> nn.Module:
    """Load weights in the order and layout :func:`get_weights` returns (shapes are checked)."""
    names = _names(model)
    assign_arrays([getattr(model, n) for n in names], weights, names)
    return model
