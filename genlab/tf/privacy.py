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


def _per_example_fn(model, loss_fn, x, y):
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

    # traced once for every batch size (Poisson batches vary): the example shapes are those of the first call
    @tf.function(input_signature=[tf.TensorSpec([None, *x.shape[1:]], x.dtype), tf.TensorSpec([None, *y.shape[1:]], y.dtype)])
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
    key = (id(model), loss_fn, tuple(x.shape[1:]), tuple(y.shape[1:]))
    fn = _COMPILED.get(key)
    if fn is None or fn[0] is not model:
        fn = _COMPILED[key] = (model, _per_example_fn(model, loss_fn, x, y))
    return list(fn[1](x, y))


def _trainer(model):
    """A compiled training run for ``model`` with its Adam state, made once per model and reused (tracing a
    ``tf.function`` costs ~0.3 s, FedAvg trains the same client models every round); the Adam state is reset on
    every call, so each call starts from a fresh Adam, as in PyTorch; the learning rate and weight decay are the
    run's inputs.

    The run takes every mini-batch of the whole training at once, as rows of indices with a mask (the last
    batch of an epoch may be short: its padding is masked out of the mean), and loops over them in the graph:
    one call per ``train_classifier`` instead of one per step. Per-step calls cost ~4 ms of dispatch each on
    the CPU, ten times the arithmetic of these small models (FedAvg makes thousands of them).

    Adam is written out here with ``torch.optim.Adam``'s update, so both frameworks train the same way: its
    ``weight_decay`` is an L2 term added to the gradient (Keras' is decoupled, AdamW-style) and eps is added to
    the bias-corrected root of v (Keras adds it before the bias correction)."""
    entry = _TRAINERS.get(id(model))
    if entry is not None and entry[0] is model:
        return entry[1]
    variables = model.trainable_variables
    m1 = [tf.Variable(tf.zeros_like(v), trainable=False) for v in variables]
    m2 = [tf.Variable(tf.zeros_like(v), trainable=False) for v in variables]
    b1, b2, eps = 0.9, 0.999, 1e-8

    @tf.function(reduce_retracing=True)
    def run(xt, yt, idx, mask, lr, weight_decay):
        for a, b in zip(m1, m2):
            a.assign(tf.zeros_like(a))
            b.assign(tf.zeros_like(b))
        n = tf.shape(idx)[0]
        losses = tf.TensorArray(tf.float32, size=n)
        for i in tf.range(n):
            m = mask[i]
            with tf.GradientTape() as tape:
                ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.gather(yt, idx[i]),
                                                                    logits=model(tf.gather(xt, idx[i])))
                loss = tf.reduce_sum(ce * m) / tf.reduce_sum(m)  # the mean over the batch's real rows
            step = tf.cast(i + 1, tf.float32)
            c1, c2 = 1.0 - b1 ** step, 1.0 - b2 ** step  # bias corrections
            for v, g, a, b in zip(variables, tape.gradient(loss, variables), m1, m2):
                g = g + weight_decay * v
                a.assign(b1 * a + (1.0 - b1) * g)
                b.assign(b2 * b + (1.0 - b2) * tf.square(g))
                v.assign_sub(lr * (a / c1) / (tf.sqrt(b / c2) + eps))
            losses = losses.write(i, loss)
        return losses.stack()

    _TRAINERS[id(model)] = (model, run)
    return run


def train_classifier(model, x, y, epochs: int, lr: float = 1e-3, batch_size: int = 50,
                     weight_decay: float = 0.0, seed: int = 0) -> list[float]:
    """Adam on the mean cross-entropy (no privacy); returns the training loss per epoch.
    The batch order comes from ``numpy.random.default_rng(seed)`` (the same batches as in PyTorch); nothing else
    is random, so TensorFlow's global seed is left alone: ``tf.random.set_seed`` clears the eager context's
    caches, and every compiled function then pays ~0.1 s to be set up again on its next call (a FedAvg round of 5
    clients cost ~0.5 s more with it)."""
    rng = np.random.default_rng(seed)
    size = min(batch_size, len(x))
    batches = [idx for _ in range(epochs) for idx in _batches(len(x), size, rng)]
    idx, mask = np.zeros((len(batches), size), np.int64), np.zeros((len(batches), size), np.float32)
    for i, b in enumerate(batches):
        idx[i, :len(b)], mask[i, :len(b)] = b, 1.0
    run = _trainer(model)
    losses = run(tf.constant(np.asarray(x, dtype=np.float32)), tf.constant(np.asarray(y, dtype=np.int64)),
                 tf.constant(idx), tf.constant(mask), tf.constant(lr, tf.float32),
                 tf.constant(weight_decay, tf.float32)).numpy().astype(np.float64)
    if epochs <= 0:
        return []
    counts = mask.sum(1)  # every epoch has the same number of batches: the mean over its examples, per epoch
    per_epoch = (losses * counts).reshape(epochs, -1).sum(1) / counts.reshape(epochs, -1).sum(1)
    return [float(v) for v in per_epoch]


def predict_logits(model, x, batch_size: int = 4096) -> np.ndarray:
    """``model(x)`` as a NumPy float32 array (N, classes)."""
    xt = np.asarray(x, dtype=np.float32)
    return np.concatenate([np.asarray(model(xt[i:i + batch_size])) for i in range(0, len(xt), batch_size)])
