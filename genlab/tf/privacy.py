"""TensorFlow/Keras 3 plumbing for chapter 08 (privacy), the twin of ``genlab.torch.privacy``.

* :func:`per_example_grads`: the gradient of each example's cross-entropy, vectorised with
  ``tf.vectorized_map`` over a ``GradientTape`` (no Python loop over examples), compiled once per
  model with ``tf.function``;
* :func:`train_classifier`: a plain (non-private) trainer for the attack's target and shadow models;
* :func:`predict_logits`: logits as NumPy.

The DP-SGD aggregation (clipping, noise, averaging), the sampling and the accountant are the
chapter's exercises: nothing here implements them.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from genlab.data import epoch_batches as _batches

__all__ = ["per_example_grads", "train_classifier", "predict_logits", "param_layout"]

_COMPILED: dict = {}
_TRAINERS: dict = {}


def param_layout(model) -> list[tuple[str, tuple[int, ...]]]:
    """(name, shape) of every trainable variable, in the order :func:`per_example_grads` returns them.
    Keras stores a Dense kernel as (in, out); PyTorch a Linear weight as (out, in)."""
    return [(v.path, tuple(v.shape)) for v in model.trainable_variables]


def _per_example_fn(model, loss_fn):
    variables = model.trainable_variables

    def one(args):  # a single example: (D,), (...) -> one gradient per variable
        xb, yb = args
        with tf.GradientTape() as tape:
            outputs = model(xb[None])
            if loss_fn is None:
                loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=yb[None], logits=outputs))
            else:
                loss = tf.reduce_sum(loss_fn(outputs, yb[None]))
        return tape.gradient(loss, variables)

    @tf.function(reduce_retracing=True)
    def batch(x, y):
        return tf.vectorized_map(one, (x, y))

    return batch


def per_example_grads(model, x, y, loss_fn=None) -> list:
    """Per-example gradients of a loss of ``model(x)``: by default the cross-entropy of the logits against
    integer labels ``y``; else ``loss_fn(outputs, targets)``, a per-example loss vector for a batch.

    Returns one tensor per trainable variable (order and layout of :func:`param_layout`), each of shape
    (B, *variable.shape): entry b is the gradient of example b's loss alone. Computed in one vectorised
    pass: ``tf.vectorized_map`` maps a one-example tape over the batch axis.
    """
    ydtype = tf.int64 if loss_fn is None else tf.float32
    x = tf.convert_to_tensor(np.asarray(x), dtype=tf.float32) if not tf.is_tensor(x) else tf.cast(x, tf.float32)
    y = tf.convert_to_tensor(np.asarray(y), dtype=ydtype) if not tf.is_tensor(y) else tf.cast(y, ydtype)
    if int(x.shape[0]) == 0:  # Poisson sampling can draw an empty batch
        return [tf.zeros((0, *v.shape)) for v in model.trainable_variables]
    key = (id(model), loss_fn)
    fn = _COMPILED.get(key)
    if fn is None or fn[0] is not model:
        fn = _COMPILED[key] = (model, _per_example_fn(model, loss_fn))
    return list(fn[1](x, y))


def _trainer(model, lr: float, weight_decay: float):
    """An Adam optimizer and a compiled training run for ``model``, made once per model and reused (tracing a
    ``tf.function`` costs ~0.3 s, FedAvg trains the same client models every round); the optimizer's
    state is reset on every reuse, so each call starts from a fresh Adam, as in PyTorch.

    The run takes every mini-batch of the whole training at once, as rows of indices with a mask (the last
    batch of an epoch may be short: its padding is masked out of the mean), and loops over them in the graph:
    one call per ``train_classifier`` instead of one per step. Per-step calls cost ~4 ms of dispatch each on
    the CPU, ten times the arithmetic of these small models (FedAvg makes thousands of them)."""
    entry = _TRAINERS.get(id(model))
    if entry is not None and entry[0] is model and entry[1] == weight_decay:
        _, _, opt, run = entry
        for v in opt.variables:
            v.assign(tf.zeros_like(v))
        opt.learning_rate = lr
        return run
    opt = keras.optimizers.Adam(learning_rate=lr, weight_decay=weight_decay or None)
    variables = model.trainable_variables
    opt.build(variables)  # the slots exist before tracing: a graph loop cannot create variables

    @tf.function(reduce_retracing=True)
    def run(xt, yt, idx, mask):
        n = tf.shape(idx)[0]
        losses = tf.TensorArray(tf.float32, size=n)
        for i in tf.range(n):
            m = mask[i]
            with tf.GradientTape() as tape:
                ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.gather(yt, idx[i]),
                                                                    logits=model(tf.gather(xt, idx[i])))
                loss = tf.reduce_sum(ce * m) / tf.reduce_sum(m)  # the mean over the batch's real rows
            opt.apply_gradients(zip(tape.gradient(loss, variables), variables))
            losses = losses.write(i, loss)
        return losses.stack()

    _TRAINERS[id(model)] = (model, weight_decay, opt, run)
    return run


def train_classifier(model, x, y, epochs: int, lr: float = 1e-3, batch_size: int = 50,
                     weight_decay: float = 0.0, seed: int = 0) -> list[float]:
    """Adam on the mean cross-entropy (no privacy); returns the training loss per epoch.
    The batch order comes from ``numpy.random.default_rng(seed)`` (the same batches as in PyTorch)."""
    rng = np.random.default_rng(seed)
    keras.utils.set_random_seed(seed)
    size = min(batch_size, len(x))
    batches = [idx for _ in range(epochs) for idx in _batches(len(x), size, rng)]
    idx, mask = np.zeros((len(batches), size), np.int64), np.zeros((len(batches), size), np.float32)
    for i, b in enumerate(batches):
        idx[i, :len(b)], mask[i, :len(b)] = b, 1.0
    run = _trainer(model, lr, weight_decay)
    losses = run(tf.constant(np.asarray(x, dtype=np.float32)), tf.constant(np.asarray(y, dtype=np.int64)),
                 tf.constant(idx), tf.constant(mask)).numpy().astype(np.float64)
    if epochs <= 0:
        return []
    counts = mask.sum(1)  # every epoch has the same number of batches: the mean over its examples, per epoch
    per_epoch = (losses * counts).reshape(epochs, -1).sum(1) / counts.reshape(epochs, -1).sum(1)
    return [float(v) for v in per_epoch]


def predict_logits(model, x, batch_size: int = 4096) -> np.ndarray:
    """``model(x)`` as a NumPy float32 array (N, classes)."""
    xt = np.asarray(x, dtype=np.float32)
    return np.concatenate([np.asarray(model(xt[i:i + batch_size])) for i in range(0, len(xt), batch_size)])
