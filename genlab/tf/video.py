"""Chapter 07's models in TensorFlow (mirrors ``genlab.torch.video`` name for name).

Video layout: (N, T, H, W, C) tensors (channels last, as Keras); NumPy clips are (N, T, H, W, C) or
(N, T, H, W). Weights are stored in the Keras layout and initialised from the same NumPy seed as the
PyTorch twin, so both frameworks build the same model (tests/test_video_parity.py). The training
steps are ``tf.function`` graphs.

Nothing here implements an exercise: :class:`ConvLSTMPredictor` calls the ConvLSTM cell it is given;
:func:`toy_step` and :func:`probe_warp` are stand-ins for tests.
"""
from __future__ import annotations

from typing import Callable, Sequence

import keras
import numpy as np
import tensorflow as tf

from genlab.tf import _matmul_last
from genlab.tf.weights import assign_arrays, read_arrays

__all__ = ["to_video", "video_to_numpy", "toy_step", "probe_warp", "space_to_depth", "depth_to_space",
           "ConvLSTMPredictor", "VideoVAE", "train_predictor", "train_video_vae", "vae_loss", "get_weights",
           "set_weights"]


def to_video(array, dtype=tf.float32) -> tf.Tensor:
    """NumPy clips (N, T, H, W, C) or (N, T, H, W) -> a (N, T, H, W, C) tensor."""
    arr = np.asarray(array)
    if arr.ndim == 4:
        arr = arr[..., None]
    if arr.ndim != 5:
        raise ValueError(f"to_video wants (N, T, H, W[, C]) arrays, got shape {arr.shape}")
    return tf.constant(arr, dtype=dtype)


def video_to_numpy(tensor) -> np.ndarray:
    """A (N, T, H, W, C) tensor -> NumPy (N, T, H, W, C), the inverse of :func:`to_video`."""
    arr = np.asarray(tensor.numpy() if hasattr(tensor, "numpy") else tensor)
    if arr.ndim != 5:
        raise ValueError(f"video_to_numpy wants a 5-D video, got shape {arr.shape}")
    return arr


def toy_step(frame, state):
    """A fixed, stateful next-frame "model" for testing rollouts: (frame (N, H, W, C), state) -> (prediction, state).

    state <- 0.5 state + frame (zeros when ``state`` is None); prediction = tanh(frame shifted one
    pixel right (wrapping) + 0.3 state).
    """
    state = frame if state is None else 0.5 * state + frame
    return tf.tanh(tf.roll(frame, 1, axis=2) + 0.3 * state), state


def probe_warp(image, flow):
    """Not a warp: a cheap, nonlinear function of (image, flow) with a warp's shapes, for tests.

    image (N, H, W, C), flow (N, H, W, 2) as (dx, dy) -> image * (1 + 0.5 tanh(dx)) + 0.25 dy.
    """
    return image * (1.0 + 0.5 * tf.tanh(flow[..., :1])) + 0.25 * flow[..., 1:2]


def space_to_depth(x, r: int):
    """(N, H, W, C) -> (N, H/r, W/r, r*r*C), channels ordered (row in block, column in block, channel)."""
    return tf.nn.space_to_depth(x, r)


def depth_to_space(x, r: int):
    """The inverse of :func:`space_to_depth`."""
    return tf.nn.depth_to_space(x, r)


def _he(rng: np.random.Generator, shape, fan_in: int) -> np.ndarray:
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)


class ConvLSTMPredictor(tf.Module):
    """Next-frame predictor: a ConvLSTM on 2x2 space-to-depth patches, a 1x1 conv head, a sigmoid.

    ``cell(x, h, c, weight, bias) -> (h, c)`` is the ConvLSTM cell (the chapter's exercise):
    ``x`` (N, H', W', P), ``h``/``c`` (N, H', W', hidden), ``weight`` (k, k, P + hidden, 4 hidden),
    ``bias`` (4 hidden,). :meth:`step` maps one frame and a state to the predicted next frame and the
    new state; calling the model is teacher forcing (each prediction sees the true previous frames)
    and returns logits.
    """

    def __init__(self, cell: Callable, channels: int = 1, hidden: int = 32, kernel: int = 3, patch: int = 2,
                 seed: int = 0):
        super().__init__()
        self.cell, self.channels, self.hidden, self.kernel, self.patch = cell, channels, hidden, kernel, patch
        p = channels * patch * patch
        rng = np.random.default_rng(seed)
        fan = kernel * kernel * (p + hidden)
        bias = np.zeros(4 * hidden, np.float32)
        bias[hidden:2 * hidden] = 1.0
        self.weight = tf.Variable(_he(rng, (kernel, kernel, p + hidden, 4 * hidden), fan) * 0.5, name="weight")
        self.bias = tf.Variable(bias, name="bias")
        self.head_w = tf.Variable(_he(rng, (hidden, p), hidden) * 0.5, name="head_w")
        self.head_b = tf.Variable(np.full((p,), -2.0, np.float32), name="head_b")

    def _logits(self, frame, state):
        x = space_to_depth(frame, self.patch)
        if state is None:
            z = tf.zeros(tf.concat([tf.shape(x)[:3], [self.hidden]], 0), dtype=x.dtype)
            state = (z, z)
        h, c = self.cell(x, state[0], state[1], self.weight, self.bias)
        y = _matmul_last(h, self.head_w) + self.head_b
        return depth_to_space(y, self.patch), (h, c)

    def step(self, frame, state=None):
        """One frame (N, H, W, C) and the state (None at the start) -> (next frame in [0, 1], new state)."""
        logits, state = self._logits(frame, state)
        return tf.sigmoid(logits), state

    def __call__(self, frames):
        """Teacher forcing: frames (N, T, H, W, C) -> logits of frames 1..T-1, (N, T - 1, H, W, C)."""
        state, out = None, []
        for t in range(frames.shape[1] - 1):
            logits, state = self._logits(frames[:, t], state)
            out.append(logits)
        return tf.stack(out, axis=1)


def _conv3d(x, w, b):
    return tf.nn.conv3d(x, w, strides=[1, 1, 1, 1, 1], padding="SAME") + b


def _pool(x, k):
    return tf.nn.avg_pool3d(x, k, k, "VALID")


def _up(x, k):
    for axis, r in zip((1, 2, 3), k):
        if r > 1:
            x = tf.repeat(x, r, axis=axis)
    return x


class VideoVAE(tf.Module):
    """A small 3-D convolutional VAE over clips (N, T, H, W, C) with T = 8, H = W = 32 (see the PyTorch twin)."""

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
            setattr(self, name, tf.Variable(params[name], name=name))

    def encode(self, clips):
        """(N, T, H, W, C) -> posterior mean and log-variance, (N, latent) each."""
        x = _pool(tf.nn.relu(_conv3d(clips, self.e1_w, self.e1_b)), (1, 2, 2))
        x = _pool(tf.nn.relu(_conv3d(x, self.e2_w, self.e2_b)), (2, 2, 2))
        x = _pool(tf.nn.relu(_conv3d(x, self.e3_w, self.e3_b)), (2, 2, 2))
        out = tf.reshape(x, [tf.shape(x)[0], -1]) @ self.enc_w + self.enc_b
        return out[:, :self.latent], out[:, self.latent:]

    def decode(self, z):
        """(N, latent) -> Bernoulli logits (N, T, H, W, C)."""
        x = tf.reshape(tf.nn.relu(z @ self.dec_w + self.dec_b), (-1,) + self.bottom)
        x = tf.nn.relu(_conv3d(_up(x, (2, 2, 2)), self.d1_w, self.d1_b))
        x = tf.nn.relu(_conv3d(_up(x, (2, 2, 2)), self.d2_w, self.d2_b))
        return _conv3d(_up(x, (1, 2, 2)), self.d3_w, self.d3_b)

    def __call__(self, clips, noise=None):
        """(logits, mean, log-variance); ``noise`` (N, latent) is the reparameterisation's epsilon (fresh if None)."""
        mu, logvar = self.encode(clips)
        eps = tf.random.normal(tf.shape(mu)) if noise is None else noise
        return self.decode(mu + tf.exp(0.5 * logvar) * eps), mu, logvar

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """``n`` clips from the prior, as NumPy (n, T, H, W, C) probabilities."""
        z = np.random.default_rng(seed).standard_normal((n, self.latent)).astype(np.float32)
        return tf.sigmoid(self.decode(tf.constant(z))).numpy()


def _batches(n: int, batch_size: int, steps: int, seed: int):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        yield rng.choice(n, batch_size, replace=False)


def train_predictor(model: ConvLSTMPredictor, clips, steps: int = 500, batch_size: int = 32, lr: float = 3e-3,
                    seed: int = 0) -> list[float]:
    """Teacher-forced training with per-pixel binary cross-entropy (Adam, a compiled step); returns the loss per step."""
    x_all = to_video(clips)
    opt = keras.optimizers.Adam(learning_rate=lr)
    variables = list(model.trainable_variables)
    opt.build(variables)  # slots made before tracing: a step that creates variables is traced twice

    @tf.function
    def train_step(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=x[:, 1:], logits=model(x)))
        opt.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    losses = [train_step(tf.gather(x_all, idx)) for idx in _batches(len(x_all), batch_size, steps, seed)]
    return [float(v) for v in losses]


def vae_loss(model: VideoVAE, x, beta: float = 1.0, noise=None):
    """Negative ELBO per clip in nats (Bernoulli likelihood), averaged over the batch."""
    logits, mu, logvar = model(x, noise)
    rec = tf.reduce_sum(tf.reshape(tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits),
                                   [tf.shape(x)[0], -1]), 1)
    kl = 0.5 * tf.reduce_sum(mu ** 2 + tf.exp(logvar) - 1.0 - logvar, 1)
    return tf.reduce_mean(rec + beta * kl)


def train_video_vae(model: VideoVAE, clips, steps: int = 500, batch_size: int = 32, lr: float = 2e-3,
                    beta: float = 1.0, seed: int = 0) -> list[float]:
    """Adam on the negative ELBO (a compiled step); returns it per step (nats per clip)."""
    x_all = to_video(clips)
    tf.random.set_seed(seed)
    opt = keras.optimizers.Adam(learning_rate=lr)
    variables = list(model.trainable_variables)
    opt.build(variables)  # slots made before tracing: a step that creates variables is traced twice

    @tf.function
    def train_step(x):
        with tf.GradientTape() as tape:
            loss = vae_loss(model, x, beta)
        opt.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    losses = [train_step(tf.gather(x_all, idx)) for idx in _batches(len(x_all), batch_size, steps, seed)]
    return [float(v) for v in losses]


def _names(model) -> list[str]:
    return model.names if isinstance(model, VideoVAE) else ["weight", "bias", "head_w", "head_b"]


def get_weights(model) -> list[np.ndarray]:
    """The model's weights as NumPy arrays in the shared (Keras) layout, in a fixed order."""
    return read_arrays(getattr(model, n) for n in _names(model))


def set_weights(model, weights: Sequence[np.ndarray]):
    """Load weights in the order and layout :func:`get_weights` returns (shapes are checked)."""
    names = _names(model)
    assign_arrays([getattr(model, n) for n in names], weights, names)
    return model
