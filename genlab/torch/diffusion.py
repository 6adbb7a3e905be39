"""Chapter 04's models in PyTorch (``genlab.tf.diffusion`` mirrors every name and signature).

Data are flat (N, 64) digit vectors in [-1, 1] (``genlab.diffusion.diffusion_digits``); timesteps are
0-based, ``t = 0 .. T-1``. Every weight is stored in the Keras layout (dense (in, out)) and initialised
from a NumPy seed, so both frameworks build the same model from the same seed and :func:`get_weights` /
:func:`set_weights` move weights between them (tests/test_diffusion_parity.py).

Nothing here implements an exercise: :class:`Denoiser` calls the timestep embedding it is given (the
notebook passes the learner's ``timestep_embedding``); :class:`NoiseScheduler` is parameter-free and calls
the learner's ``q_sample``, ``p_sample`` and ``ddim_step``; :func:`train_denoiser` minimises the loss
function it is given; :func:`probe_denoiser` is a fixed stand-in the tests pass to the learner's functions.
"""
from __future__ import annotations

import math
import time
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from genlab.diffusion import NULL_LABEL, PROBE, ddim_timesteps, denoiser_weights, probe_weights, schedule_arrays
from genlab.torch import _sum_grads
from genlab.torch.weights import assign_arrays, read_arrays

__all__ = ["schedule_tensors", "Denoiser", "probe_denoiser", "NoiseScheduler", "train_denoiser", "ema_update",
           "weight_grads", "get_weights", "set_weights"]


def schedule_tensors(betas) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(betas, alphas, alpha_bar) as float32 tensors of length T (see ``genlab.diffusion.schedule_arrays``)."""
    return tuple(torch.as_tensor(a) for a in schedule_arrays(betas))


def _layer_norm(h: torch.Tensor) -> torch.Tensor:
    mean = h.mean(-1, keepdim=True)
    var = ((h - mean) ** 2).mean(-1, keepdim=True)
    return (h - mean) * torch.rsqrt(var + 1e-5)


class Denoiser(nn.Module):
    """A residual MLP that predicts the noise (or a velocity) of flat inputs, conditioned on time and a label.

    ``embed(t, time_dim)`` is the sinusoidal timestep embedding (the chapter's exercise). Time and label
    make one conditioning vector ``e = SiLU(MLP(embed(t)) + label_table[y])`` that is added inside every
    block: ``h <- h + W2 SiLU(W1 SiLU(LN(h)) + b1 + e) + b2`` (LN without parameters), output
    ``W_out SiLU(LN(h)) + b_out``. Labels ``0 .. num_classes - 1``; ``num_classes`` (or ``y=None``) is the
    null label of classifier-free guidance.
    """

    def __init__(self, embed: Callable, dim: int = 64, width: int = 256, blocks: int = 3, time_dim: int = 128,
                 num_classes: int = 10, seed: int = 0):
        super().__init__()
        self.embed, self.dim, self.width, self.blocks = embed, dim, width, blocks
        self.time_dim, self.num_classes = time_dim, num_classes
        params = denoiser_weights(dim, width, blocks, time_dim, num_classes, seed)
        self.names = list(params)
        self.params = nn.ParameterDict({k: nn.Parameter(torch.as_tensor(v)) for k, v in params.items()})

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """x (N, ...) with prod(...) == dim, t (N,) timesteps (int or float), y (N,) labels or None -> like x."""
        p = self.params
        shape = x.shape
        h = x.reshape(shape[0], self.dim)
        if y is None:
            y = torch.full((shape[0],), self.num_classes, dtype=torch.int64, device=x.device)
        e = F.silu(self.embed(t, self.time_dim) @ p["time1_w"] + p["time1_b"]) @ p["time2_w"] + p["time2_b"]
        e = F.silu(e + p["label"][y.long()])
        h = h @ p["in_w"] + p["in_b"]
        for i in range(self.blocks):
            a = F.silu(_layer_norm(h)) @ p[f"block{i}_w1"] + p[f"block{i}_b1"] + e
            h = h + F.silu(a) @ p[f"block{i}_w2"] + p[f"block{i}_b2"]
        out = F.silu(_layer_norm(h)) @ p["out_w"] + p["out_b"]
        return out.reshape(shape)


def probe_denoiser(seed: int = 0, dim: int = 64) -> Denoiser:
    """A small fixed Denoiser (width 16, one block) with a built-in timestep embedding, for tests.

    Its embedding is a plain ``[sin(t / 100 * k), cos(t / 50 * k)]`` table (not the exercise's), and every
    call appends its batch size to ``model.calls``.
    """

    def embed(t, d):
        k = torch.arange(1, d // 2 + 1, dtype=torch.float32, device=t.device)
        tt = t.to(torch.float32)[:, None]
        return torch.cat([torch.sin(tt / 100.0 * k), torch.cos(tt / 50.0 * k)], -1)

    model = _Probe(embed, dim=dim, seed=seed, **PROBE)
    w = probe_weights(seed, dim)
    set_weights(model, [w[k] for k in model.names])
    return model


class _Probe(Denoiser):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls = []

    def forward(self, x, t, y=None):
        self.calls.append(int(x.shape[0]))
        return super().forward(x, t, y)


class NoiseScheduler:
    """A parameter-free noise scheduler built from the learner's functions (diffusers' add_noise / set_timesteps / step).

    ``q_sample(x0, t, noise, alpha_bar)``, ``p_sample(x_t, t, eps, betas, alphas, alpha_bar, noise)`` and
    ``ddim_step(x_t, t, t_prev, eps, alpha_bar, eta, noise)`` are the chapter's exercises. With ``clip_sample``
    (diffusers' default) the predicted noise is first replaced by the one that agrees with ``x_t`` and the
    predicted ``x_0`` clipped to the data range [-1, 1]. ``sampler="ddpm"``
    steps through all T timesteps with ``p_sample``; ``"ddim"`` through ``set_timesteps(n)`` of them with
    ``ddim_step`` and ``eta``.
    """

    def __init__(self, betas, q_sample: Callable, p_sample: Callable, ddim_step: Callable, sampler: str = "ddpm",
                 eta: float = 0.0, clip_sample: bool = True):
        if sampler not in ("ddpm", "ddim"):
            raise ValueError(f"sampler must be 'ddpm' or 'ddim', got {sampler!r}")
        self.betas, self.alphas, self.alpha_bar = schedule_tensors(betas)
        self.T = len(self.betas)
        self.q_sample, self.p_sample, self.ddim_step = q_sample, p_sample, ddim_step
        self.sampler, self.eta, self.clip_sample = sampler, float(eta), bool(clip_sample)
        self.set_timesteps(self.T)

    def set_timesteps(self, num_steps: int) -> None:
        """Choose the timesteps of a sampling run: ``self.timesteps`` (decreasing) and ``self.pairs`` [(t, t_prev)]."""
        if self.sampler == "ddpm" and num_steps != self.T:
            raise ValueError("ancestral DDPM sampling visits every timestep: use sampler='ddim' for fewer steps")
        ts = ddim_timesteps(self.T, num_steps)
        self.timesteps = [int(t) for t in ts]
        self.pairs = list(zip(self.timesteps, self.timesteps[1:] + [-1]))

    def add_noise(self, x0, noise, t):
        """x_t drawn from q(x_t | x_0) for per-example timesteps ``t`` (N,) (the learner's q_sample)."""
        return self.q_sample(x0, t, noise, self.alpha_bar)

    def _clipped_eps(self, eps, t, x):
        # the noise that agrees with x_t and the predicted x_0 clipped to the data range [-1, 1] (diffusers' clip_sample)
        ab = self.alpha_bar[t].reshape(-1, *([1] * (x.dim() - 1)))
        x0 = ((x - torch.sqrt(1.0 - ab) * eps) / torch.sqrt(ab)).clamp(-1.0, 1.0)
        return (x - torch.sqrt(ab) * x0) / torch.sqrt(1.0 - ab)

    def step(self, eps, t, t_prev, x, noise=None):
        """One reverse step from timestep ``t`` to ``t_prev`` (ints; -1 = the end) for the whole batch."""
        n = x.shape[0]
        tt = torch.full((n,), int(t), dtype=torch.int64, device=x.device)
        if noise is None:
            noise = torch.randn_like(x)
        if self.clip_sample:
            eps = self._clipped_eps(eps, tt, x)
        if self.sampler == "ddpm":
            return self.p_sample(x, tt, eps, self.betas, self.alphas, self.alpha_bar, noise)
        tp = torch.full((n,), int(t_prev), dtype=torch.int64, device=x.device)
        return self.ddim_step(x, tt, tp, eps, self.alpha_bar, self.eta, noise)


def ema_update(ema: Denoiser, model: Denoiser, decay: float) -> None:
    """ema <- decay * ema + (1 - decay) * model, weight by weight."""
    with torch.no_grad():
        e, m = [ema.params[k] for k in ema.names], [model.params[k] for k in model.names]
        torch._foreach_mul_(e, decay)
        torch._foreach_add_(e, m, alpha=1.0 - decay)


def train_denoiser(model: Denoiser, x, y, loss_fn: Callable, steps: int, T: int | None = 1000, batch_size: int = 256,
                   lr: float = 1e-3, label_dropout: float = 0.15, ema_decay: float = 0.999, warmup: int = 200,
                   seed: int = 0) -> tuple[Denoiser, list[float], float]:
    """Adam with warm-up and cosine decay on ``loss_fn(model, x0, t, noise, y)``; returns (EMA model, losses, seconds).

    Every batch draws, from a NumPy ``default_rng(seed)``: the examples, per-example times ``t`` (integers
    0..T-1, or floats in [0, 1) when ``T`` is None, for flow matching), Gaussian noise, and which labels are
    replaced by the null label (probability ``label_dropout``). The EMA starts as a copy of the model; its
    decay ramps up as min(ema_decay, (1 + step) / (10 + step)).
    """
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=np.int64)
    rng = np.random.default_rng(seed)
    ema = _copy(model)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1.0 + math.cos(math.pi * min(s, steps) / steps)))
    xt, yt = torch.as_tensor(x), torch.as_tensor(y)
    losses = []
    start = time.perf_counter()
    for step in range(steps):
        idx = torch.as_tensor(rng.integers(0, len(x), batch_size))
        if T is None:
            t = torch.as_tensor(rng.random(batch_size, dtype=np.float32))
        else:
            t = torch.as_tensor(rng.integers(0, T, batch_size))
        noise = torch.as_tensor(rng.standard_normal((batch_size, x.shape[1]), dtype=np.float32))
        labels = torch.where(torch.as_tensor(rng.random(batch_size) < label_dropout), NULL_LABEL, yt[idx])
        loss = loss_fn(model, xt[idx], t, noise, labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        ema_update(ema, model, min(ema_decay, (1.0 + step) / (10.0 + step)))
        losses.append(loss.detach())
    seconds = time.perf_counter() - start
    return ema, [float(v) for v in torch.stack(losses)] if losses else [], seconds


def _copy(model: Denoiser) -> Denoiser:
    clone = Denoiser(model.embed, model.dim, model.width, model.blocks, model.time_dim, model.num_classes)
    set_weights(clone, get_weights(model))
    return clone


def weight_grads(fn: Callable, model: Denoiser) -> list:
    """Gradients of ``sum(fn())`` with respect to ``model``'s weights (order of :func:`get_weights`), as NumPy
    arrays; None where no gradient reaches a weight (or everywhere when the output has no graph)."""
    return _sum_grads(fn, [model.params[k] for k in model.names])


def get_weights(model: Denoiser) -> list[np.ndarray]:
    """The model's weights as float32 NumPy arrays in the shared (Keras) layout, in ``model.names`` order."""
    return read_arrays(model.params[k] for k in model.names)


def set_weights(model: Denoiser, weights: Sequence[np.ndarray]) -> None:
    """Load weights in the order and layout of :func:`get_weights`."""
    assign_arrays([model.params[k] for k in model.names], weights, model.names)
