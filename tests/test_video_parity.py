"""Chapter 07_video's models give the same outputs in PyTorch and Keras under shared weights.

Both twins build their weights from the same NumPy seed (so a fresh model is already the same model);
the tests also move trained-looking random weights torch -> NumPy -> TensorFlow and compare, with
max abs diff <= 1e-5 in float32: the ConvLSTM predictor's teacher-forced logits and its free-running
steps, the video VAE's posterior and decoder, the VAE loss under fixed noise, and the helpers'
layouts (space-to-depth ordering, to_video / video_to_numpy). The reference ConvLSTM cell lives here
(the graded exercise is never in genlab/).
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
tf = pytest.importorskip("tensorflow")

import torch.nn.functional as F  # noqa: E402

import genlab.tf.video as kv  # noqa: E402
import genlab.torch.video as tv  # noqa: E402

pytestmark = pytest.mark.frameworks
TOL = 1e-5


def _cell_torch(x, h, c, weight, bias):
    z = F.conv2d(torch.cat([x, h], 1), weight.permute(3, 2, 0, 1), bias, padding=weight.shape[0] // 2)
    i, f, g, o = torch.chunk(z, 4, dim=1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def _cell_tf(x, h, c, weight, bias):
    z = tf.nn.conv2d(tf.concat([x, h], -1), weight, 1, "SAME") + bias
    i, f, g, o = tf.split(z, 4, axis=-1)
    c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
    return tf.sigmoid(o) * tf.tanh(c), c


def _perturbed(weights, seed):
    rng = np.random.default_rng(seed)
    return [(w + 0.1 * rng.standard_normal(w.shape)).astype(np.float32) for w in weights]


def _clips(n, t, seed=0):
    return np.random.default_rng(seed).random((n, t, 32, 32, 1)).astype(np.float32)


def test_same_seed_same_weights():
    a = tv.get_weights(tv.ConvLSTMPredictor(_cell_torch, hidden=8, seed=3))
    b = kv.get_weights(kv.ConvLSTMPredictor(_cell_tf, hidden=8, seed=3))
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    a, b = tv.get_weights(tv.VideoVAE(seed=5)), kv.get_weights(kv.VideoVAE(seed=5))
    assert len(a) == len(b) == 16 and all(np.array_equal(x, y) for x, y in zip(a, b))


def test_layout_helpers():
    x = (_clips(2, 3)[..., :1].repeat(3, -1) * np.arange(1, 4)).astype(np.float32)
    t = tv.to_video(x)
    assert tuple(t.shape) == (2, 3, 3, 32, 32)
    np.testing.assert_array_equal(tv.video_to_numpy(t), x)
    np.testing.assert_array_equal(kv.video_to_numpy(kv.to_video(x)), x)
    frame = x[:, 0]
    s_torch = tv.space_to_depth(torch.as_tensor(frame.transpose(0, 3, 1, 2)), 2).numpy().transpose(0, 2, 3, 1)
    np.testing.assert_array_equal(s_torch, kv.space_to_depth(tf.constant(frame), 2).numpy())
    back = tv.depth_to_space(tv.space_to_depth(torch.as_tensor(frame.transpose(0, 3, 1, 2)), 2), 2)
    np.testing.assert_array_equal(back.numpy().transpose(0, 2, 3, 1), frame)


def test_convlstm_predictor_parity():
    m_t = tv.ConvLSTMPredictor(_cell_torch, hidden=8, seed=0)
    m_k = kv.ConvLSTMPredictor(_cell_tf, hidden=8, seed=1)
    w = _perturbed(tv.get_weights(m_t), 7)
    tv.set_weights(m_t, w)
    kv.set_weights(m_k, w)
    x = _clips(3, 5)
    with torch.no_grad():
        lt = tv.video_to_numpy(m_t(tv.to_video(x)))
    lk = kv.video_to_numpy(m_k(kv.to_video(x)))
    assert lt.shape == lk.shape == (3, 4, 32, 32, 1)
    assert np.abs(lt - lk).max() <= TOL
    # free-running steps (the state is carried)
    st, sk = None, None
    ft, fk = tv.to_video(x)[:, 0], kv.to_video(x)[:, 0]
    for _ in range(4):
        with torch.no_grad():
            ft, st = m_t.step(ft, st)
        fk, sk = m_k.step(fk, sk)
    assert np.abs(ft.numpy().transpose(0, 2, 3, 1) - fk.numpy()).max() <= TOL


def test_video_vae_parity():
    m_t, m_k = tv.VideoVAE(seed=0), kv.VideoVAE(seed=9)
    w = _perturbed(tv.get_weights(m_t), 11)
    tv.set_weights(m_t, w)
    kv.set_weights(m_k, w)
    x = _clips(4, 8, seed=2)
    noise = np.random.default_rng(3).standard_normal((4, 32)).astype(np.float32)
    with torch.no_grad():
        mu_t, lv_t = m_t.encode(tv.to_video(x))
        logits_t = tv.video_to_numpy(m_t.decode(mu_t))
        loss_t = float(tv.vae_loss(m_t, tv.to_video(x), 0.5, torch.as_tensor(noise)))
    mu_k, lv_k = m_k.encode(kv.to_video(x))
    logits_k = m_k.decode(mu_k).numpy()
    assert np.abs(mu_t.numpy() - mu_k.numpy()).max() <= TOL and np.abs(lv_t.numpy() - lv_k.numpy()).max() <= TOL
    assert logits_t.shape == logits_k.shape == (4, 8, 32, 32, 1)
    assert np.abs(logits_t - logits_k).max() <= TOL * max(1.0, np.abs(logits_t).max())
    loss_k = float(kv.vae_loss(m_k, kv.to_video(x), 0.5, tf.constant(noise)))
    assert abs(loss_t - loss_k) <= 1e-5 * abs(loss_t)
    np.testing.assert_allclose(m_t.sample(3, seed=4), m_k.sample(3, seed=4), atol=TOL)


def test_training_lowers_the_loss():
    x = (_clips(16, 8, seed=5) > 0.8).astype(np.float32)
    for mod, cell in ((tv, _cell_torch), (kv, _cell_tf)):
        h = mod.train_predictor(mod.ConvLSTMPredictor(cell, hidden=8), x, steps=8, batch_size=4, lr=1e-2)
        assert np.mean(h[-3:]) < h[0]
        h = mod.train_video_vae(mod.VideoVAE(), x, steps=8, batch_size=4)
        assert np.mean(h[-3:]) < h[0]


def test_the_injected_cell_is_what_the_predictor_calls():
    calls = []

    def spy(*args):
        calls.append(1)
        return _cell_torch(*args)

    m = tv.ConvLSTMPredictor(spy, hidden=4)
    with torch.no_grad():
        m(tv.to_video(_clips(1, 4)))
    assert len(calls) == 3
