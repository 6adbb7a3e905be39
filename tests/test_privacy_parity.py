"""Chapter 08 (privacy): the PyTorch and Keras twins agree under shared weights.

* the classifiers give the same logits (max abs diff <= 1e-5);
* ``genlab.{torch,tf}.privacy.per_example_grads`` give the same per-example gradients (PyTorch's Linear
  weight is (out, in), Keras' kernel (in, out): compared in the Keras layout), which sum to B times the
  batch gradient and match a NumPy oracle for the linear softmax classifier;
* the chapter's reference DP-SGD step (the solution cells of both notebooks, executed here) gives the same
  private gradient in both frameworks given the same per-example gradients and the same noise;
* the plain trainers lower the loss, and the TensorFlow trainer's cached step starts each call afresh;
* both trainers run the same Adam (``torch.optim.Adam``'s update and L2 weight decay): from the same weights and
  batches they end at the same weights, also when the TensorFlow trainer is reused with another learning rate.
"""
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
tf = pytest.importorskip("tensorflow")

import genlab.tf as gtf  # noqa: E402
import genlab.torch as gtorch  # noqa: E402
from genlab.tf import privacy as kpriv  # noqa: E402
from genlab.torch import privacy as tpriv  # noqa: E402
from nbcells import ROOT  # noqa: E402

RNG = np.random.default_rng(0)


def _pair(in_dim, hidden, out_dim=10, activation="relu"):
    torch.manual_seed(3)
    tm = gtorch.MLP(in_dim, hidden, out_dim, activation=activation)
    km = gtf.MLP(in_dim, hidden, out_dim, activation=activation)
    gtf.set_weights(km, gtorch.get_weights(tm))
    return tm, km


def _torch_grads_keras_layout(grads):
    return [g.detach().numpy().transpose(0, 2, 1) if g.dim() == 3 else g.detach().numpy() for g in grads]


@pytest.mark.parametrize("in_dim,hidden", [(64, (32,)), (512, ()), (20, (16, 8))])
def test_logits_parity(in_dim, hidden):
    tm, km = _pair(in_dim, hidden)
    x = RNG.normal(size=(13, in_dim)).astype(np.float32)
    out_t, out_k = tpriv.predict_logits(tm, x), kpriv.predict_logits(km, x)
    assert out_t.shape == out_k.shape == (13, 10)
    assert np.abs(out_t - out_k).max() <= 1e-5


@pytest.mark.parametrize("in_dim,hidden,batch", [(64, (32,), 9), (512, (), 17), (20, (16, 8), 1)])
def test_per_example_grads_parity(in_dim, hidden, batch):
    tm, km = _pair(in_dim, hidden, activation="tanh")
    x = RNG.normal(size=(batch, in_dim)).astype(np.float32)
    y = RNG.integers(0, 10, batch)
    gt = _torch_grads_keras_layout(tpriv.per_example_grads(tm, x, y))
    gk = [g.numpy() for g in kpriv.per_example_grads(km, x, y)]
    assert [g.shape for g in gt] == [g.shape for g in gk] == [(batch, *w.shape) for w in gtf.get_weights(km)]
    for a, b in zip(gt, gk):
        assert np.abs(a - b).max() <= 1e-5
    # they are the terms of the batch gradient: sum_b g_b = B * grad(mean loss)
    xt, yt = torch.as_tensor(x), torch.as_tensor(y)
    batch_grad = torch.autograd.grad(torch.nn.functional.cross_entropy(tm(xt), yt), list(tm.parameters()))
    for a, b in zip(gt, _torch_grads_keras_layout([g[None] for g in batch_grad])):
        assert np.abs(a.sum(0) - batch * b[0]).max() <= 1e-4


def test_per_example_grads_linear_oracle():
    """For a linear softmax classifier g_b = (softmax(l_b) - onehot(y_b)) outer [x_b, 1]."""
    tm, km = _pair(30, ())
    x = RNG.normal(size=(7, 30)).astype(np.float32)
    y = RNG.integers(0, 10, 7)
    w, b = gtf.get_weights(km)
    logits = x @ w + b
    p = np.exp(logits - logits.max(1, keepdims=True))
    delta = p / p.sum(1, keepdims=True) - np.eye(10)[y]
    want = [np.einsum("bi,bj->bij", x, delta), delta]
    for got in (_torch_grads_keras_layout(tpriv.per_example_grads(tm, x, y)), [g.numpy() for g in kpriv.per_example_grads(km, x, y)]):
        for a, c in zip(got, want):
            assert np.abs(a - c).max() <= 1e-5


def test_per_example_grads_any_batch_size_one_trace():
    """Poisson batches vary in size: one compiled function per model serves every size, traced once, each exact."""
    tm, km = _pair(20, (16,), activation="tanh")
    for batch in (3, 7, 1, 12):
        x = RNG.normal(size=(batch, 20)).astype(np.float32)
        y = RNG.integers(0, 10, batch)
        gt = _torch_grads_keras_layout(tpriv.per_example_grads(tm, x, y))
        gk = [g.numpy() for g in kpriv.per_example_grads(km, x, y)]
        assert [g.shape[0] for g in gk] == [batch] * 4
        for a, b in zip(gt, gk):
            assert np.abs(a - b).max() <= 1e-5
    fns = [fn for model, fn in kpriv._COMPILED.values() if model is km]
    assert len(fns) == 1 and fns[0].experimental_get_tracing_count() == 1


def test_empty_batch():
    tm, km = _pair(8, (4,))
    for grads in (tpriv.per_example_grads(tm, np.zeros((0, 8)), np.zeros(0, int)),
                  kpriv.per_example_grads(km, np.zeros((0, 8)), np.zeros(0, int))):
        assert [tuple(g.shape)[0] for g in grads] == [0, 0, 0, 0]


def _solution(framework, grade_id):
    nb = json.loads((ROOT / "solutions" / "08_privacy" / f"privacy_{framework}.ipynb").read_text())
    return next("".join(c["source"]) for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id)


def test_dp_sgd_step_parity():
    """The reference dp_sgd_step of both notebooks: same private gradient for the same inputs and noise."""
    ns_t = {"torch": torch, "np": np}
    exec(_solution("pytorch", "privacy_dp_sgd_step"), ns_t)
    ns_k = {"tf": tf, "np": np}
    exec(_solution("tensorflow", "privacy_dp_sgd_step"), ns_k)
    tm, km = _pair(64, (32,))
    x = RNG.normal(size=(11, 64)).astype(np.float32)
    y = RNG.integers(0, 10, 11)
    gt = tpriv.per_example_grads(tm, x, y)
    gk = kpriv.per_example_grads(km, x, y)
    noise = [RNG.normal(size=w.shape).astype(np.float32) for w in gtf.get_weights(km)]   # Keras layout
    noise_t = [torch.as_tensor(z.T.copy() if z.ndim == 2 else z) for z in noise]
    out_t = _torch_grads_keras_layout([g[None] for g in ns_t["dp_sgd_step"](gt, 0.1, 1.3, 12.5, noise_t)])
    out_k = [g.numpy() for g in ns_k["dp_sgd_step"](gk, 0.1, 1.3, 12.5, [tf.constant(z) for z in noise])]
    for a, b in zip(out_t, out_k):
        assert np.abs(a[0] - b).max() <= 1e-5


@pytest.mark.parametrize("module,fw", [(tpriv, gtorch), (kpriv, gtf)])
def test_train_classifier_learns_and_restarts(module, fw):
    from genlab.data import load_digits

    d = load_digits("train", limit=300)
    model = fw.MLP(64, (32,), 10)
    first = module.train_classifier(model, d.flat(), d.y, epochs=5, lr=1e-2, batch_size=50, seed=0)
    assert first[-1] < 0.5 * first[0]
    again = module.train_classifier(model, d.flat(), d.y, epochs=2, lr=1e-2, batch_size=50, seed=0)
    assert np.isfinite(again).all() and again[0] < first[0]


@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
def test_train_classifier_parity(weight_decay):
    from genlab.data import load_digits

    d = load_digits("train", limit=200)
    tm, km = _pair(64, (32,))
    kpriv.train_classifier(km, d.flat(), d.y, epochs=1, lr=0.3, batch_size=64, seed=5)   # a cached run, reused below
    gtf.set_weights(km, gtorch.get_weights(tm))
    lt = tpriv.train_classifier(tm, d.flat(), d.y, epochs=3, lr=1e-2, batch_size=64, weight_decay=weight_decay, seed=1)
    lk = kpriv.train_classifier(km, d.flat(), d.y, epochs=3, lr=1e-2, batch_size=64, weight_decay=weight_decay, seed=1)
    np.testing.assert_allclose(lt, lk, rtol=1e-4, atol=1e-5)
    for a, b in zip(gtorch.get_weights(tm), gtf.get_weights(km)):
        np.testing.assert_allclose(a, b, atol=2e-5)


def test_per_example_grads_custom_loss_parity():
    """With ``loss_fn`` (a per-example loss of the outputs and float targets, as the DP-VAE uses): the two
    frameworks agree, and each entry is the gradient of that example's loss alone."""
    tm, km = _pair(12, (8,), out_dim=5, activation="tanh")
    x = RNG.normal(size=(6, 12)).astype(np.float32)
    t = RNG.normal(size=(6, 5)).astype(np.float32)
    gt = tpriv.per_example_grads(tm, x, t, loss_fn=lambda out, tgt: ((out - tgt) ** 2).sum(1))
    gk = kpriv.per_example_grads(km, x, t, loss_fn=lambda out, tgt: tf.reduce_sum(tf.square(out - tgt), 1))
    for a, b in zip(_torch_grads_keras_layout(gt), gk):
        assert np.abs(a - b.numpy()).max() <= 1e-5
    for i in (0, 5):  # example i's gradient by plain autograd on that example alone
        loss = ((tm(torch.as_tensor(x[i:i + 1])) - torch.as_tensor(t[i:i + 1])) ** 2).sum()
        for g_all, g_one in zip(gt, torch.autograd.grad(loss, list(tm.parameters()))):
            assert torch.allclose(g_all[i], g_one, atol=1e-5)
