"""Chapter 04's models in TensorFlow (mirrors ``genlab.torch.diffusion`` name for name).

Data are flat (N, 64) digit vectors in [-1, 1]; timesteps are 0-based, ``t = 0 .. T-1``. Weights are
initialised from the same NumPy seed as the PyTorch twin (dense kernels (in, out)), so both frameworks
build the same model (tests/test_diffusion_parity.py). The training step is one ``tf.function`` graph
(the loss function, the optimiser and the EMA update), with no host round trip per step.

Nothing here implements an exercise: :class:`Denoiser` calls the timestep embedding it is given,
:class:`NoiseScheduler` calls the learner's ``q_sample``, ``p_sample`` and ``ddim_step``,
:func:`train_denoiser` minimises the loss it is given; :func:`probe_denoiser` is a stand-in for tests.
"""
from __future__ import annotations

import math
import time
from typing import Callable, Sequence

import keras
import numpy as np
import tensorflow as tf

from genlab.diffusion import NULL_LABEL, PROBE, ddim_timesteps, denoiser_weights, probe_weights, schedule_arrays
from genlab.tf import _matmul_last, _sum_grads
from genlab.tf.weights import assign_arrays, read_arrays

__all__ = ["schedule_tensors", "Denoiser", "probe_denoiser", "NoiseScheduler", "train_denoiser", "ema_update",
           "weight_grads", "get_weights", "set_weights"]


def schedule_tensors(betas) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """(betas, alphas, alpha_bar) as float32 tensors of length T (see ``genlab.diffusion.schedule_arrays``)."""
    return tuple(tf.constant(a) for a in schedule_arrays(betas))


def _layer_norm(h):
    mean = tf.reduce_mean(h, -1, keepdims=True)
    var = tf.reduce_mean(tf.square(h - mean), -1, keepdims=True)
    return (h - mean) * tf.math.rsqrt(var + 1e-5)


class Denoiser(tf.Module):
    """A residual MLP that predicts the noise (or a velocity) of flat inputs, conditioned on time and a label
    (see the PyTorch twin for the architecture). ``embed(t, time_dim)`` is the learner's timestep embedding."""

    def __init__(self, embed: Callable, dim: int = 64, width: int = 256, blocks: int = 3, time_dim: int = 128,
                 num_classes: int = 10, seed: int = 0):
        super().__init__()
        self.embed, self.dim, self.width, self.blocks = embed, dim, width, blocks
        self.time_dim, self.num_classes = time_dim, num_classes
        params = denoiser_weights(dim, width, blocks, time_dim, num_classes, seed)
        self.names = list(params)
        self.variables_list = [tf.Variable(params[k], name=k) for k in self.names]
        self.p = dict(zip(self.names, self.variables_list))

    def __call__(self, x, t, y=None):
        """x (N, ...) with prod(...) == dim, t (N,) timesteps (int or float), y (N,) labels or None -> like x."""
        p = self.p
        shape = tf.shape(x)
        h = tf.reshape(x, (-1, self.dim))
        if y is None:
            y = tf.fill(tf.shape(h)[:1], tf.constant(self.num_classes, tf.int64))
        e = _matmul_last(tf.nn.silu(_matmul_last(self.embed(t, self.time_dim), p["time1_w"]) + p["time1_b"]),
                         p["time2_w"]) + p["time2_b"]
        e = tf.nn.silu(e + tf.gather(p["label"], tf.cast(y, tf.int64)))
        h = tf.matmul(h, p["in_w"]) + p["in_b"]
        for i in range(self.blocks):
            a = tf.matmul(tf.nn.silu(_layer_norm(h)), p[f"block{i}_w1"]) + p[f"block{i}_b1"] + e
            h = h + tf.matmul(tf.nn.silu(a), p[f"block{i}_w2"]) + p[f"block{i}_b2"]
        out = tf.matmul(tf.nn.silu(_layer_norm(h)), p["out_w"]) + p["out_b"]
        return tf.reshape(out, shape)


def probe_denoiser(seed: int = 0, dim: int = 64) -> Denoiser:
    """A small fixed Denoiser (width 16, one block) with a built-in timestep embedding, for tests (see the
    PyTorch twin); every call appends its batch size to ``model.calls``."""

    def embed(t, d):
        k = tf.range(1, d // 2 + 1, dtype=tf.float32)
        tt = tf.cast(t, tf.float32)[:, None]
        return tf.concat([tf.sin(tt / 100.0 * k), tf.cos(tt / 50.0 * k)], -1)

    model = _Probe(embed, dim=dim, seed=seed, **PROBE)
    w = probe_weights(seed, dim)
    set_weights(model, [w[k] for k in model.names])
    return model


class _Probe(Denoiser):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls = []

    def __call__(self, x, t, y=None):
        self.calls.append(int(x.shape[0]))
        return super().__call__(x, t, y)


class NoiseScheduler:
    """A parameter-free noise scheduler built from the learner's functions (see the PyTorch twin).

    :meth:`step` takes ``t`` and ``t_prev`` as Python ints or scalar int tensors, so a sampling step can be
    one ``tf.function`` traced once.
    """

    def __init__(self, betas, q_sample: Callable, p_sample: Callable, ddim_step: Callable, sampler: str = "ddpm",
                 eta: float = 0.0, clip_sample: bool = True):
        if sampler not in ("ddpm", "ddim"):
            raise ValueError(f"sampler must be 'ddpm' or 'ddim', got {sampler!r}")
        self.betas, self.alphas, self.alpha_bar = schedule_tensors(betas)
        self.T = int(self.betas.shape[0])
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
        ab = tf.reshape(tf.gather(self.alpha_bar, t), tf.concat([[-1], tf.ones([tf.rank(x) - 1], tf.int32)], 0))
        x0 = tf.clip_by_value((x - tf.sqrt(1.0 - ab) * eps) / tf.sqrt(ab), -1.0, 1.0)
        return (x - tf.sqrt(ab) * x0) / tf.sqrt(1.0 - ab)

    def step(self, eps, t, t_prev, x, noise=None):
        """One reverse step from timestep ``t`` to ``t_prev`` (-1 = the end) for the whole batch."""
        n = tf.shape(x)[:1]
        tt = tf.fill(n, tf.cast(t, tf.int64))
        if noise is None:
            noise = tf.random.normal(tf.shape(x))
        if self.clip_sample:
            eps = self._clipped_eps(eps, tt, x)
        if self.sampler == "ddpm":
            return self.p_sample(x, tt, eps, self.betas, self.alphas, self.alpha_bar, noise)
        tp = tf.fill(n, tf.cast(t_prev, tf.int64))
        return self.ddim_step(x, tt, tp, eps, self.alpha_bar, self.eta, noise)


def ema_update(ema: Denoiser, model: Denoiser, decay: float) -> None:
    """ema <- decay * ema + (1 - decay) * model, weight by weight."""
    for e, m in zip(ema.variables_list, model.variables_list):
        e.assign(decay * e + (1.0 - decay) * m)


class _WarmupCosine(keras.optimizers.schedules.LearningRateSchedule):
    def __init__(self, lr, steps, warmup):
        self.lr, self.steps, self.warmup = lr, steps, warmup

    def __call__(self, step):
        s = tf.cast(step, tf.float32)
        warm = tf.minimum(1.0, (s + 1.0) / self.warmup)
        return self.lr * warm * 0.5 * (1.0 + tf.cos(math.pi * tf.minimum(s, self.steps) / self.steps))


def train_denoiser(model: Denoiser, x, y, loss_fn: Callable, steps: int, T: int | None = 1000, batch_size: int = 256,
                   lr: float = 1e-3, label_dropout: float = 0.15, ema_decay: float = 0.999, warmup: int = 200,
                   seed: int = 0) -> tuple[Denoiser, list[float], float]:
    """Adam with warm-up and cosine decay on ``loss_fn(model, x0, t, noise, y)``; returns (EMA model, losses, seconds).

    The same random draws as the PyTorch twin (a NumPy ``default_rng(seed)``); one compiled step per batch.
    """
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=np.int64)
    rng = np.random.default_rng(seed)
    ema = _copy(model)
    opt = keras.optimizers.Adam(_WarmupCosine(lr, float(steps), float(warmup)))
    xt, yt = tf.constant(x), tf.constant(y)
    variables = model.variables_list
    opt.build(variables)  # slots made now: a compiled step that creates variables is traced twice

    @tf.function  # XLA (jit_compile) compiled 2.5x slower and ran no faster on 2 shared cores
    def train_step(idx, t, noise, drop, decay):
        labels = tf.where(drop, tf.constant(NULL_LABEL, tf.int64), tf.gather(yt, idx))
        with tf.GradientTape() as tape:
            loss = loss_fn(model, tf.gather(xt, idx), t, noise, labels)
        opt.apply_gradients(zip(tape.gradient(loss, variables), variables))
        for e, m in zip(ema.variables_list, variables):
            e.assign(decay * e + (1.0 - decay) * m)
        return loss

    losses = []
    start = time.perf_counter()
    for step in range(steps):
        idx = rng.integers(0, len(x), batch_size)
        if T is None:
            t = rng.random(batch_size, dtype=np.float32)
        else:
            t = rng.integers(0, T, batch_size)
        noise = rng.standard_normal((batch_size, x.shape[1]), dtype=np.float32)
        drop = rng.random(batch_size) < label_dropout
        decay = np.float32(min(ema_decay, (1.0 + step) / (10.0 + step)))
        losses.append(train_step(idx, t, noise, drop, decay))
    seconds = time.perf_counter() - start
    return ema, [float(v) for v in tf.stack(losses).numpy()] if losses else [], seconds


def _copy(model: Denoiser) -> Denoiser:
    clone = Denoiser(model.embed, model.dim, model.width, model.blocks, model.time_dim, model.num_classes)
    set_weights(clone, get_weights(model))
    return clone


def weight_grads(fn: Callable, model: Denoiser) -> list:
    """Gradients of ``sum(fn())`` with respect to ``model``'s weights (order of :func:`get_weights`), as NumPy
    arrays; None where no gradient reaches a weight. ``fn`` runs inside a recording tape."""
    return _sum_grads(fn, model.variables_list)


def get_weights(model: Denoiser) -> list[np.ndarray]:
    """The model's weights as float32 NumPy arrays in the shared layout, in ``model.names`` order."""
    return read_arrays(model.variables_list)


def set_weights(model: Denoiser, weights: Sequence[np.ndarray]) -> None:
    """Load weights in the order and layout of :func:`get_weights`."""
    assign_arrays(model.variables_list, weights, model.names)
