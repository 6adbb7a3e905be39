"""TensorFlow/Keras 3 plumbing with the same names and signatures as ``genlab.torch``."""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from genlab.config import seed_everything
from genlab.tf.models import MLP, get_weights, set_weights

__all__ = ["device", "make_loader", "to_numpy", "to_tensor", "seed_everything", "MLP", "get_weights",
           "set_weights", "grad_of", "to_labels", "to_images", "images_to_numpy", "flat", "param_grads",
           "make_sgd", "CHANNEL_AXIS"]

CHANNEL_AXIS = -1  # Keras images are (N, H, W, C)


def device() -> str:
    """'/GPU:0' when TensorFlow sees a GPU, else '/CPU:0' (use with ``tf.device(...)``)."""
    return "/GPU:0" if tf.config.list_physical_devices("GPU") else "/CPU:0"


def to_tensor(array, dtype=tf.float32, device_=None) -> tf.Tensor:
    """NumPy (or nested lists) -> a tf tensor of ``dtype`` (placed by TF unless ``device_``)."""
    if device_ is None:
        return tf.convert_to_tensor(np.asarray(array), dtype=dtype)
    with tf.device(device_):
        return tf.convert_to_tensor(np.asarray(array), dtype=dtype)


def to_numpy(tensor) -> np.ndarray:
    """A tf tensor or variable (or array-like) -> a NumPy array."""
    if isinstance(tensor, (tf.Tensor, tf.Variable)):
        return tensor.numpy()
    return np.asarray(tensor)


def make_loader(*arrays, batch_size: int = 128, shuffle: bool = True, seed: int = 0,
                drop_last: bool = False) -> tf.data.Dataset:
    """A tf.data pipeline over NumPy arrays of equal length (floats -> float32, ints -> int64).

    Shuffling is seeded and reshuffles each epoch in the same order on every run.
    """
    if not arrays:
        raise ValueError("make_loader needs at least one array")
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ValueError(f"arrays differ in length: {[len(a) for a in arrays]}")
    cast = tuple(np.asarray(a, dtype=np.int64 if np.issubdtype(np.asarray(a).dtype, np.integer) else np.float32)
                 for a in arrays)
    ds = tf.data.Dataset.from_tensor_slices(cast if len(cast) > 1 else cast[0])
    if shuffle:
        ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size, drop_remainder=drop_last).prefetch(tf.data.AUTOTUNE)



def grad_of(fn, *inputs):
    """Gradients of ``sum(fn(*inputs))`` with respect to each input (float32 tensors made from NumPy).

    Returns ``(output, grads)`` with ``grads[i]`` a NumPy array, or None where no gradient
    flows (the graph was cut by ``tf.stop_gradient``, ``.numpy()``, a NumPy round trip...).
    """
    ts = [tf.constant(np.asarray(a, dtype=np.float32)) for a in inputs]
    with tf.GradientTape() as tape:
        for t in ts:
            tape.watch(t)
        out = fn(*ts)
        if not isinstance(out, (tf.Tensor, tf.Variable)):
            return out, [None] * len(ts)
        total = tf.reduce_sum(out)  # inside the tape, so the sum is recorded too
    grads = tape.gradient(total, ts)
    return out, [None if g is None else g.numpy() for g in grads]


def to_labels(array, device_=None) -> tf.Tensor:
    """Integer class labels -> an int64 tensor (what ``tf.one_hot`` and embeddings expect)."""
    return to_tensor(array, dtype=tf.int64, device_=device_)


def to_images(array, dtype=tf.float32, device_=None) -> tf.Tensor:
    """NumPy images in the framework-neutral layout (N, H, W, C) -> a Keras (N, H, W, C) tensor."""
    arr = np.asarray(array)
    if arr.ndim != 4:
        raise ValueError(f"to_images wants (N, H, W, C) arrays, got shape {arr.shape}")
    return to_tensor(arr, dtype=dtype, device_=device_)


def images_to_numpy(tensor) -> np.ndarray:
    """A Keras (N, H, W, C) image tensor -> NumPy (N, H, W, C), the inverse of :func:`to_images`."""
    arr = to_numpy(tensor)
    if arr.ndim != 4:
        raise ValueError(f"images_to_numpy wants a 4-D image batch, got shape {arr.shape}")
    return arr


def flat(x) -> tf.Tensor:
    """(N, ...) -> (N, prod(...)), keeping the graph."""
    return tf.reshape(x, (tf.shape(x)[0], -1))


def param_grads(fn, model) -> list:
    """Gradients of ``sum(fn())`` with respect to ``model``'s trainable variables, as NumPy arrays
    in the order of :func:`get_weights` (None where no gradient reaches a weight). ``fn`` runs inside a
    recording tape."""
    from genlab.tf.models import _denses
    return _sum_grads(fn, [v for layer in _denses(model) for v in (layer.kernel, layer.bias)])


def _sum_grads(fn, variables) -> list:
    """Gradients of ``sum(fn())`` (run inside a recording tape) with respect to ``variables``, as NumPy
    arrays; None where no gradient reaches one, and all None when ``fn`` returns no tensor."""
    with tf.GradientTape() as tape:
        out = fn()
        if not isinstance(out, (tf.Tensor, tf.Variable)):
            return [None] * len(variables)
        total = tf.reduce_sum(out)
    grads = tape.gradient(total, variables)
    return [None if g is None else np.asarray(tf.convert_to_tensor(g).numpy()) for g in grads]


def make_sgd(model, lr: float):
    """Plain SGD (no momentum): one ``apply_gradients`` moves each weight by -lr * grad."""
    return keras.optimizers.SGD(learning_rate=lr)


def _matmul_last(x, kernel):
    """x (..., in) @ kernel (in, out) as one 2-D matrix product. Not tf.einsum: on the CPU its gradient for these
    shapes made a WaveNet training step ~20x slower (0.55 s vs 0.03 s for 16 windows of 256 samples); also used by
    the text and video models' output heads."""
    if len(x.shape) == 2:
        return tf.matmul(x, kernel)
    shape = tf.shape(x)
    out = tf.matmul(tf.reshape(x, [-1, kernel.shape[0]]), kernel)
    return tf.reshape(out, tf.concat([shape[:-1], [kernel.shape[1]]], 0))
