"""PyTorch and TensorFlow side by side: the same weights give the same outputs (max abs diff <= 1e-5).

Covers the VAE chapter's encoder and decoder (genlab.{torch,tf}.MLP with the chapter's shapes), the
weight exchange format, and the helpers both frameworks must offer with the same meaning.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
tf = pytest.importorskip("tensorflow")

import genlab.tf as gtf  # noqa: E402
import genlab.torch as gtorch  # noqa: E402

# (in_dim, hidden, out_dim) of the VAE chapter's networks: encoder, decoder, CVAE encoder/decoder, z=2 decoder
VAE_SHAPES = [(64, (256, 256), 32), (16, (256, 256), 64), (74, (256, 256), 16), (18, (256, 256), 64), (2, (256, 256), 64)]


@pytest.mark.parametrize("in_dim,hidden,out_dim", VAE_SHAPES)
@pytest.mark.parametrize("activation", ["relu", "elu", "tanh"])
def test_mlp_same_weights_same_outputs(in_dim, hidden, out_dim, activation):
    torch.manual_seed(0)
    tm = gtorch.MLP(in_dim, hidden, out_dim, activation)
    km = gtf.MLP(in_dim, hidden, out_dim, activation)
    gtf.set_weights(km, gtorch.get_weights(tm))
    x = np.random.default_rng(1).normal(size=(33, in_dim)).astype(np.float32)
    out_t = tm(torch.as_tensor(x)).detach().numpy()
    out_k = km(x).numpy()
    assert out_t.shape == out_k.shape == (33, out_dim)
    assert np.abs(out_t - out_k).max() <= 1e-5


def test_vae_forward_parity_through_the_bernoulli_likelihood():
    """Encoder -> reparameterised z (shared eps) -> decoder logits -> log-likelihood, in both frameworks."""
    rng = np.random.default_rng(2)
    x = (rng.random((20, 64)) > 0.7).astype(np.float32)
    eps = rng.normal(size=(20, 16)).astype(np.float32)
    enc_t, dec_t = gtorch.MLP(64, (256, 256), 32), gtorch.MLP(16, (256, 256), 64)
    enc_k, dec_k = gtf.MLP(64, (256, 256), 32), gtf.MLP(16, (256, 256), 64)
    gtf.set_weights(enc_k, gtorch.get_weights(enc_t))
    gtf.set_weights(dec_k, gtorch.get_weights(dec_t))
    mu_t, lv_t = enc_t(torch.as_tensor(x)).chunk(2, -1)
    logits_t = dec_t(mu_t + torch.exp(0.5 * lv_t) * torch.as_tensor(eps))
    ll_t = (torch.as_tensor(x) * logits_t - torch.nn.functional.softplus(logits_t)).sum(-1)
    mu_k, lv_k = tf.split(enc_k(x), 2, axis=-1)
    logits_k = dec_k(mu_k + tf.exp(0.5 * lv_k) * eps)
    ll_k = tf.reduce_sum(x * logits_k - tf.math.softplus(logits_k), -1)
    assert np.abs(logits_t.detach().numpy() - logits_k.numpy()).max() <= 1e-5
    assert np.abs(ll_t.detach().numpy() - ll_k.numpy()).max() <= 1e-4  # a sum of 64 terms


def test_weight_exchange_round_trips_and_checks_shapes():
    tm = gtorch.MLP(4, (3,), 2)
    w = gtorch.get_weights(tm)
    assert [a.shape for a in w] == [(4, 3), (3,), (3, 2), (2,)]
    km = gtf.MLP(4, (3,), 2)
    gtf.set_weights(km, w)
    for a, b in zip(w, gtf.get_weights(km)):
        np.testing.assert_array_equal(a, b)
    back = gtorch.set_weights(gtorch.MLP(4, (3,), 2), gtf.get_weights(km))
    for a, b in zip(w, gtorch.get_weights(back)):
        np.testing.assert_array_equal(a, b)
    for setter, model in [(gtorch.set_weights, gtorch.MLP(4, (5,), 2)), (gtf.set_weights, gtf.MLP(4, (5,), 2))]:
        with pytest.raises(ValueError, match="shape"):
            setter(model, w)
        with pytest.raises(ValueError, match="expected"):
            setter(model, w[:2])
    for cls in (gtorch.MLP, gtf.MLP):
        with pytest.raises(ValueError):
            cls(4, (3,), 2, activation="swish-ish")


@pytest.mark.parametrize("fw", [gtorch, gtf], ids=["torch", "tf"])
def test_grad_of_reports_gradients_and_cut_graphs(fw):
    x = np.array([1.0, -2.0, 3.0])
    out, (g,) = fw.grad_of(lambda t: t * t, x)
    np.testing.assert_allclose(fw.to_numpy(out), x * x)
    np.testing.assert_allclose(g, 2 * x)
    cut = (lambda t: t.detach() * 2) if fw is gtorch else (lambda t: tf.stop_gradient(t) * 2)
    _, (g,) = fw.grad_of(cut, x)
    assert g is None
    _, (g,) = fw.grad_of(lambda t: np.asarray(fw.to_numpy(t)) * 2, x)
    assert g is None


@pytest.mark.parametrize("fw", [gtorch, gtf], ids=["torch", "tf"])
def test_loaders_are_seeded_and_typed(fw):
    x = np.arange(20, dtype=np.float64).reshape(10, 2)
    y = np.arange(10)
    first = [fw.to_numpy(b[1]) for b in fw.make_loader(x, y, batch_size=4, seed=3)]
    again = [fw.to_numpy(b[1]) for b in fw.make_loader(x, y, batch_size=4, seed=3)]
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert sorted(np.concatenate(first)) == list(range(10))
    xb, yb = next(iter(fw.make_loader(x, y, batch_size=4, shuffle=False)))
    assert fw.to_numpy(xb).dtype == np.float32 and fw.to_numpy(yb).dtype == np.int64
    with pytest.raises(ValueError):
        fw.make_loader(x, y[:5])
    assert fw.to_numpy(fw.to_labels([1, 2])).dtype == np.int64
    assert isinstance(fw.device(), (str, torch.device))
