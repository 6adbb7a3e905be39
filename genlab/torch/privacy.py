"""PyTorch plumbing for chapter 08 (privacy); ``genlab.tf.privacy`` mirrors every name and signature.

* :func:`per_example_grads`: the gradient of each example's cross-entropy, vectorised with
  ``torch.func.vmap(torch.func.grad(...))`` over ``functional_call`` (no Python loop over examples);
* :func:`train_classifier`: a plain (non-private) trainer for the attack's target and shadow models;
* :func:`predict_logits`: logits as NumPy.

The DP-SGD aggregation (clipping, noise, averaging), the sampling and the accountant are the
chapter's exercises: nothing here implements them.
"""
from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from genlab.data import epoch_batches as _batches

__all__ = ["per_example_grads", "train_classifier", "predict_logits", "param_layout"]


def param_layout(model: torch.nn.Module) -> list[tuple[str, tuple[int, ...]]]:
    """(name, shape) of every trainable parameter, in the order :func:`per_example_grads` returns them.
    PyTorch stores a Linear weight as (out, in); Keras a kernel as (in, out)."""
    return [(n, tuple(p.shape)) for n, p in model.named_parameters() if p.requires_grad]


def per_example_grads(model: torch.nn.Module, x, y, loss_fn=None) -> list[torch.Tensor]:
    """Per-example gradients of a loss of ``model(x)``: by default the cross-entropy of the logits against
    integer labels ``y``; else ``loss_fn(outputs, targets)``, a per-example loss vector for a batch.

    Returns one tensor per trainable parameter (order and layout of :func:`param_layout`), each of shape
    (B, *param.shape): entry b is the gradient of example b's loss alone. Computed in one vectorised
    pass: ``vmap`` maps ``grad`` of a one-example loss over the batch axis.
    """
    from torch.func import functional_call, grad, vmap

    names = [n for n, _ in param_layout(model)]
    params = {n: p.detach() for n, p in model.named_parameters() if n in names}

    def one_loss(p, xb, yb):  # a single example: (D,), (...) -> scalar
        outputs = functional_call(model, p, (xb[None],))
        if loss_fn is None:
            return F.cross_entropy(outputs, yb[None])
        return loss_fn(outputs, yb[None]).sum()

    x = torch.as_tensor(x, dtype=torch.float32)
    y = torch.as_tensor(y, dtype=torch.int64 if loss_fn is None else torch.float32)
    if len(x) == 0:  # Poisson sampling can draw an empty batch
        return [torch.zeros((0, *params[n].shape)) for n in names]
    grads = vmap(grad(one_loss), in_dims=(None, 0, 0))(params, x, y)
    return [grads[n] for n in names]


def train_classifier(model: torch.nn.Module, x, y, epochs: int, lr: float = 1e-3, batch_size: int = 50,
                     weight_decay: float = 0.0, seed: int = 0) -> list[float]:
    """Adam on the mean cross-entropy (no privacy); returns the training loss per epoch.
    The batch order comes from ``numpy.random.default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    xt, yt = torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.int64)
    history = []
    for _ in range(epochs):
        total, count = 0.0, 0
        for idx in _batches(len(xt), min(batch_size, len(xt)), rng):
            idx = torch.as_tensor(idx)
            loss = F.cross_entropy(model(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total, count = total + loss.item() * len(idx), count + len(idx)
        history.append(total / count)
    return history


@torch.no_grad()
def predict_logits(model: torch.nn.Module, x, batch_size: int = 4096) -> np.ndarray:
    """``model(x)`` as a NumPy float32 array (N, classes)."""
    xt = torch.as_tensor(np.asarray(x), dtype=torch.float32)
    return torch.cat([model(xt[i:i + batch_size]) for i in range(0, len(xt), batch_size)]).numpy()
