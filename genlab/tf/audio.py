"""Models of chapter 06_audio in TensorFlow/Keras 3 (the twin of ``genlab.torch.audio``: same names, same
signatures, same weight layout; see that module's docstring).

Nothing here implements an exercise: no mu-law, no mel filterbank, no SI-SDR, no CTC decoding, no RVQ.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import keras
import numpy as np
import tensorflow as tf

from genlab.tf import _matmul_last
from genlab.tf.weights import assign_arrays, read_arrays

__all__ = ["Dense", "Conv", "WaveNet", "MaskNet", "CTCNet", "stft", "istft", "get_weights", "set_weights",
           "count_params"]


def _uniform(shape, bound):
    return keras.initializers.RandomUniform(-bound, bound)(shape)


class Dense(keras.layers.Layer):
    """x @ kernel + bias on the last axis (kernel (in, out))."""

    def __init__(self, n_in: int, n_out: int):
        super().__init__()
        bound = 1.0 / math.sqrt(n_in)
        self.kernel = self.add_weight(shape=(n_in, n_out), initializer=keras.initializers.RandomUniform(-bound, bound),
                                      name="kernel")
        self.bias = self.add_weight(shape=(n_out,), initializer=keras.initializers.RandomUniform(-bound, bound), name="bias")

    def call(self, x):
        return _matmul_last(x, self.kernel) + self.bias


class Conv(keras.layers.Layer):
    """A 1-D "valid" convolution on (B, T, C_in) -> (B, T', C_out); kernel (K, C_in, C_out)."""

    def __init__(self, n_in: int, n_out: int, kernel_size: int, dilation: int = 1, stride: int = 1):
        super().__init__()
        bound = 1.0 / math.sqrt(n_in * kernel_size)
        self.kernel = self.add_weight(shape=(kernel_size, n_in, n_out),
                                      initializer=keras.initializers.RandomUniform(-bound, bound), name="kernel")
        self.bias = self.add_weight(shape=(n_out,), initializer=keras.initializers.RandomUniform(-bound, bound), name="bias")
        self.kernel_size, self.dilation, self.stride = kernel_size, dilation, stride

    def call(self, x):
        # oneDNN's convolution is 1.6-2.4x faster than the slices below, but it builds its kernels for each input shape:
        # with a time length that varies from batch to batch (a graph traced for any length) the slices win
        if self.stride != 1 or (self.dilation == 1 and x.shape[1] is not None):
            return tf.nn.conv1d(x, self.kernel, stride=self.stride, padding="VALID", dilations=self.dilation) + self.bias
        # a sum of K matrix products of shifted slices (TensorFlow's CPU kernels for dilated convolutions and their
        # gradients go through space-to-batch reshapes and are several times slower than this)
        t_out = tf.shape(x)[1] - (self.kernel_size - 1) * self.dilation
        out = self.bias
        for j in range(self.kernel_size):
            out = out + _matmul_last(x[:, j * self.dilation: j * self.dilation + t_out], self.kernel[j])
        return out


def _pad_time(x, left: int, right: int):
    return tf.pad(x, [[0, 0], [left, right], [0, 0]])


class WaveNet(keras.Model):
    """A small WaveNet over quantised samples (see ``genlab.torch.audio.WaveNet``)."""

    def __init__(self, causal_pad: Callable, n_classes: int = 256, n_cond: int = 11, channels: int = 32,
                 skip_channels: int = 64, kernel_size: int = 2, dilations: Sequence[int] = (1, 2, 4, 8, 16, 32, 64)):
        super().__init__()
        self.causal_pad = causal_pad
        self.n_classes, self.channels, self.kernel_size = n_classes, channels, kernel_size
        self.dilations = tuple(int(d) for d in dilations)
        self.embed = self.add_weight(shape=(n_classes, channels), initializer=keras.initializers.RandomNormal(0.0, 0.5),
                                     name="embed")
        self.cond = Dense(n_cond, len(self.dilations) * 2 * channels)
        self.convs = [Conv(channels, 2 * channels, kernel_size, d) for d in self.dilations]
        self.res = [Dense(channels, channels) for _ in self.dilations]
        self.skip = [Dense(channels, skip_channels) for _ in self.dilations]
        self.out1 = Dense(skip_channels, skip_channels)
        self.out2 = Dense(skip_channels, n_classes)
        self._step_fn = None

    def parts(self):
        out = [self.embed, self.cond]
        for conv, res, skip in zip(self.convs, self.res, self.skip):
            out += [conv, res, skip]
        return out + [self.out1, self.out2]

    def _head(self, skips):
        return self.out2(tf.nn.relu(self.out1(tf.nn.relu(skips))))

    def call(self, ids, cond):
        h = tf.gather(self.embed, tf.cast(ids, tf.int32))                     # (B, T, C)
        c = tf.reshape(self.cond(cond), [-1, len(self.dilations), 2 * self.channels])
        skips = 0.0
        for i, (conv, res, skip) in enumerate(zip(self.convs, self.res, self.skip)):
            z = conv(self.causal_pad(h, self.kernel_size, conv.dilation)) + c[:, i, None, :]
            f, g = tf.split(z, 2, axis=-1)
            a = tf.tanh(f) * tf.sigmoid(g)
            skips = skips + skip(a)
            h = h + res(a)
        return self._head(skips)

    def step(self, ids, c, caches):
        """One generation step: ids (B,), c (B, L, 2C), caches per layer (B, (K-1)d, C) -> (logits, new caches)."""
        h = tf.gather(self.embed, tf.cast(ids, tf.int32))                     # (B, C)
        skips, new = 0.0, []
        for i, (conv, res, skip) in enumerate(zip(self.convs, self.res, self.skip)):
            buf, d = caches[i], conv.dilation
            taps = [buf[:, j * d] for j in range(self.kernel_size - 1)] + [h]
            z = sum(tf.matmul(t, conv.kernel[j]) for j, t in enumerate(taps)) + conv.bias + c[:, i]
            f, g = tf.split(z, 2, axis=-1)
            a = tf.tanh(f) * tf.sigmoid(g)
            skips = skips + skip(a)
            new.append(tf.concat([buf[:, 1:], h[:, None]], axis=1))
            h = h + res(a)
        return self._head(skips), new

    def generate(self, cond, n_samples: int, first_id: int = 128, temperature: float = 1.0, seed: int = 0):
        """Sample ``n_samples`` ids (B, n_samples) autoregressively from ``first_id`` with zero caches; each step is
        one compiled call (a tf.function traced once) that also draws the next id."""
        cond = tf.convert_to_tensor(np.asarray(cond), tf.float32)
        b = int(cond.shape[0])
        c = tf.reshape(self.cond(cond), [b, len(self.dilations), 2 * self.channels])
        caches = [tf.zeros([b, (self.kernel_size - 1) * d, self.channels]) for d in self.dilations]
        if self._step_fn is None:
            def sample_step(ids, c, caches, temperature, seed):
                logits, caches = self.step(ids, c, caches)
                nxt = tf.random.stateless_categorical(logits / temperature, 1, seed=seed, dtype=tf.int32)[:, 0]
                return nxt, caches
            self._step_fn = tf.function(sample_step)
        ids = tf.fill([b], tf.constant(first_id, tf.int32))
        out = []
        temp = tf.constant(temperature, tf.float32)
        for t in range(n_samples):
            ids, caches = self._step_fn(ids, c, caches, temp, tf.constant([seed, t], tf.int32))
            out.append(ids)
        return tf.stack(out, axis=1)


class MaskNet(keras.Model):
    """Features (B, T, n_in) -> a mask in (0, 1) of shape (B, T, n_out) (see ``genlab.torch.audio.MaskNet``)."""

    def __init__(self, n_in: int = 129, n_out: int = 129, hidden: int = 128, kernel_size: int = 5):
        super().__init__()
        self.pad = kernel_size // 2
        self.convs = [Conv(n_in, hidden, kernel_size), Conv(hidden, hidden, kernel_size), Conv(hidden, hidden, kernel_size)]
        self.out = Dense(hidden, n_out)

    def parts(self):
        return list(self.convs) + [self.out]

    def call(self, feats):
        h = feats
        for conv in self.convs:
            h = tf.nn.relu(conv(_pad_time(h, self.pad, self.pad)))
        return tf.sigmoid(self.out(h))


class CTCNet(keras.Model):
    """Log-mel frames (B, T, n_mels) -> log-probabilities (B, T', n_classes) (see ``genlab.torch.audio.CTCNet``)."""

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

    def call(self, feats):
        h = tf.nn.relu(self.c1(_pad_time(feats, 2, 2)))
        h = tf.nn.relu(self.c2(_pad_time(h, 2, 2)))
        h = h + tf.nn.relu(self.c3(_pad_time(h, 4, 4)))
        h = h + tf.nn.relu(self.c4(_pad_time(h, 8, 8)))
        return tf.nn.log_softmax(self.out(h), axis=-1)


def stft(x, n_fft: int = 256, hop: int = 64):
    """Centred STFT of (B, T) waveforms (zero padding, periodic Hann): complex (B, 1 + T // hop, n_fft // 2 + 1)."""
    x = tf.pad(x, [[0, 0], [n_fft // 2, n_fft // 2]])
    return tf.signal.stft(x, n_fft, hop, fft_length=n_fft, window_fn=tf.signal.hann_window, pad_end=False)


def istft(spec, n_fft: int = 256, hop: int = 64, length: int | None = None):
    """Inverse of :func:`stft`: complex (B, frames, bins) -> (B, length) waveforms (weighted overlap-add divided by the
    actual sum of squared windows, so the edges are exact as in ``torch.istft``)."""
    frames = tf.signal.irfft(spec, fft_length=[n_fft]) * tf.signal.hann_window(n_fft)
    y = tf.signal.overlap_and_add(frames, hop)
    n_frames = tf.shape(spec)[-2]
    norm = tf.signal.overlap_and_add(tf.tile(tf.signal.hann_window(n_fft)[None] ** 2, [n_frames, 1]), hop)
    y = y / tf.maximum(norm, 1e-8)
    y = y[..., n_fft // 2:]
    if length is None:
        length = tf.shape(y)[-1] - n_fft // 2
    return y[..., :length]


def _arrays(part):
    if isinstance(part, keras.Variable):
        return [part]
    return [part.kernel, part.bias]


def get_weights(model) -> list[np.ndarray]:
    """The weights as float32 NumPy arrays in the shared (Keras) layout, in the order of ``model.parts()``."""
    return read_arrays(v for part in model.parts() for v in _arrays(part))


def set_weights(model, weights: Sequence[np.ndarray]):
    """Load weights in the layout of :func:`get_weights` (count and shapes checked). Returns the model."""
    assign_arrays([v for part in model.parts() for v in _arrays(part)], weights)
    return model


def count_params(model) -> int:
    return int(sum(int(np.prod(v.shape)) for part in model.parts() for v in _arrays(part)))
