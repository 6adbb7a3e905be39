"""Chapter 04_diffusion's models give the same outputs in PyTorch and TensorFlow under shared weights.

Both twins build their weights from the same NumPy seed (genlab.diffusion.denoiser_weights); the tests
also move perturbed weights torch -> NumPy -> TensorFlow (genlab.{torch,tf}.weights read_arrays /
assign_arrays behind get_weights / set_weights) and compare the denoisers' outputs (max abs diff <= 1e-5
in float32), one DDPM and one DDIM sampling step of the parameter-free schedulers, the schedule tensors,
and the probe denoiser against its NumPy forward pass. The reference timestep embedding and sampler steps
live here (the graded exercises are never in genlab/).
"""
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
tf = pytest.importorskip("tensorflow")

import genlab.tf.diffusion as kd  # noqa: E402
import genlab.torch.diffusion as td  # noqa: E402
from genlab.diffusion import (cosine_betas, ddim_timesteps, linear_betas, probe_forward,  # noqa: E402
                              probe_weights, schedule_arrays)

pytestmark = pytest.mark.frameworks
TOL = 1e-5


def _emb_torch(t, dim, max_period=10000):
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / half)
    args = t.to(torch.float32)[:, None] * freqs[None, :]
    return torch.cat([torch.sin(args), torch.cos(args)], dim=-1)


def _emb_tf(t, dim, max_period=10000):
    half = dim // 2
    freqs = tf.exp(-math.log(max_period) * tf.range(half, dtype=tf.float32) / half)
    args = tf.cast(t, tf.float32)[:, None] * freqs[None, :]
    return tf.concat([tf.sin(args), tf.cos(args)], axis=-1)


def _q_torch(x0, t, noise, alpha_bar):
    ab = alpha_bar[t].reshape(-1, *([1] * (x0.dim() - 1)))
    return torch.sqrt(ab) * x0 + torch.sqrt(1.0 - ab) * noise


def _q_tf(x0, t, noise, alpha_bar):
    ab = tf.reshape(tf.gather(alpha_bar, t), [-1] + [1] * (len(x0.shape) - 1))
    return tf.sqrt(ab) * x0 + tf.sqrt(1.0 - ab) * noise


def _p_torch(x_t, t, eps, betas, alphas, alpha_bar, noise):
    shape = (-1,) + (1,) * (x_t.dim() - 1)
    b, a, ab = betas[t].reshape(shape), alphas[t].reshape(shape), alpha_bar[t].reshape(shape)
    ab_prev = torch.where(t.reshape(shape) > 0, alpha_bar[(t - 1).clamp(min=0)].reshape(shape), 1.0)
    mean = (x_t - b / torch.sqrt(1.0 - ab) * eps) / torch.sqrt(a)
    return mean + (t > 0).to(x_t.dtype).reshape(shape) * torch.sqrt((1.0 - ab_prev) / (1.0 - ab) * b) * noise


def _p_tf(x_t, t, eps, betas, alphas, alpha_bar, noise):
    shape = [-1] + [1] * (len(x_t.shape) - 1)
    b, a, ab = (tf.reshape(tf.gather(v, t), shape) for v in (betas, alphas, alpha_bar))
    ab_prev = tf.where(tf.reshape(t, shape) > 0, tf.reshape(tf.gather(alpha_bar, tf.maximum(t - 1, 0)), shape), 1.0)
    mean = (x_t - b / tf.sqrt(1.0 - ab) * eps) / tf.sqrt(a)
    return mean + tf.reshape(tf.cast(t > 0, x_t.dtype), shape) * tf.sqrt((1.0 - ab_prev) / (1.0 - ab) * b) * noise


def _ddim_torch(x_t, t, t_prev, eps, alpha_bar, eta, noise):
    shape = (-1,) + (1,) * (x_t.dim() - 1)
    ab = alpha_bar[t].reshape(shape)
    ab_prev = torch.where(t_prev >= 0, alpha_bar[t_prev.clamp(min=0)], torch.ones_like(alpha_bar[t])).reshape(shape)
    x0 = (x_t - torch.sqrt(1.0 - ab) * eps) / torch.sqrt(ab)
    sigma = eta * torch.sqrt((1.0 - ab_prev) / (1.0 - ab) * (1.0 - ab / ab_prev))
    return torch.sqrt(ab_prev) * x0 + torch.sqrt(1.0 - ab_prev - sigma ** 2) * eps + sigma * noise


def _ddim_tf(x_t, t, t_prev, eps, alpha_bar, eta, noise):
    shape = [-1] + [1] * (len(x_t.shape) - 1)
    ab = tf.reshape(tf.gather(alpha_bar, t), shape)
    ab_prev = tf.reshape(tf.where(t_prev >= 0, tf.gather(alpha_bar, tf.maximum(t_prev, 0)), 1.0), shape)
    x0 = (x_t - tf.sqrt(1.0 - ab) * eps) / tf.sqrt(ab)
    sigma = eta * tf.sqrt((1.0 - ab_prev) / (1.0 - ab) * (1.0 - ab / ab_prev))
    return tf.sqrt(ab_prev) * x0 + tf.sqrt(1.0 - ab_prev - sigma ** 2) * eps + sigma * noise


def _perturbed(weights, seed):
    rng = np.random.default_rng(seed)
    return [(w + 0.1 * rng.standard_normal(w.shape)).astype(np.float32) for w in weights]


def _pair(seed=0, **kw):
    m_t, m_k = td.Denoiser(_emb_torch, seed=seed, **kw), kd.Denoiser(_emb_tf, seed=seed + 5, **kw)
    w = _perturbed(td.get_weights(m_t), seed + 7)
    td.set_weights(m_t, w)
    kd.set_weights(m_k, w)
    return m_t, m_k


def test_same_seed_same_weights():
    a, b = td.get_weights(td.Denoiser(_emb_torch, seed=3)), kd.get_weights(kd.Denoiser(_emb_tf, seed=3))
    assert len(a) == len(b) == 7 + 4 * 3 + 2 and all(np.array_equal(x, y) for x, y in zip(a, b))


def test_schedule_tensors_match():
    for betas in (linear_betas(1000), cosine_betas(1000), cosine_betas(37)):
        for x, y, z in zip(td.schedule_tensors(betas), kd.schedule_tensors(betas), schedule_arrays(betas)):
            np.testing.assert_array_equal(x.numpy(), y.numpy())
            np.testing.assert_array_equal(x.numpy(), z)
    assert list(ddim_timesteps(1000, 5)) == [999, 749, 500, 250, 0]
    assert len(ddim_timesteps(1000, 1000)) == 1000


def test_denoiser_parity():
    m_t, m_k = _pair(0)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((7, 64)).astype(np.float32)
    t = rng.integers(0, 1000, 7)
    y = np.array([0, 3, 9, 10, 5, 10, 1])
    with torch.no_grad():
        out_t = m_t(torch.as_tensor(x), torch.as_tensor(t), torch.as_tensor(y)).numpy()
        out_u = m_t(torch.as_tensor(x), torch.as_tensor(t)).numpy()
        out_f = m_t(torch.as_tensor(x), torch.as_tensor(t * 0.37, dtype=torch.float32), torch.as_tensor(y)).numpy()
    assert np.abs(out_t - m_k(tf.constant(x), tf.constant(t), tf.constant(y)).numpy()).max() <= TOL
    assert np.abs(out_u - m_k(tf.constant(x), tf.constant(t)).numpy()).max() <= TOL
    assert np.abs(out_f - m_k(tf.constant(x), tf.constant(t * 0.37, dtype=tf.float32), tf.constant(y)).numpy()).max() <= TOL
    # any trailing shape with 64 values per example
    x8 = x.reshape(7, 8, 8)
    with torch.no_grad():
        out8 = m_t(torch.as_tensor(x8), torch.as_tensor(t), torch.as_tensor(y)).numpy()
    assert out8.shape == (7, 8, 8) and np.abs(out8.reshape(7, 64) - out_t).max() <= TOL


def test_one_sampling_step_parity():
    m_t, m_k = _pair(2)
    betas = cosine_betas(1000)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 64)).astype(np.float32)
    noise = rng.standard_normal((5, 64)).astype(np.float32)
    y = np.array([1, 2, 10, 4, 7])
    for sampler, (t, t_prev) in (("ddpm", (617, 616)), ("ddpm", (0, -1)), ("ddim", (999, 949)), ("ddim", (40, -1))):
        for clip in (True, False):
            s_t = td.NoiseScheduler(betas, _q_torch, _p_torch, _ddim_torch, sampler=sampler, eta=0.5, clip_sample=clip)
            s_k = kd.NoiseScheduler(betas, _q_tf, _p_tf, _ddim_tf, sampler=sampler, eta=0.5, clip_sample=clip)
            with torch.no_grad():
                eps_t = m_t(torch.as_tensor(x), torch.full((5,), t), torch.as_tensor(y))
                a = s_t.step(eps_t, t, t_prev, torch.as_tensor(x), torch.as_tensor(noise)).numpy()
            eps_k = m_k(tf.constant(x), tf.fill([5], tf.constant(t, tf.int64)), tf.constant(y))
            b = s_k.step(eps_k, t, t_prev, tf.constant(x), tf.constant(noise)).numpy()
            assert np.abs(a - b).max() <= 5 * TOL * max(1.0, np.abs(a).max()), (sampler, t, clip, np.abs(a - b).max())
    # add_noise is the injected q_sample
    s_t = td.NoiseScheduler(betas, _q_torch, _p_torch, _ddim_torch)
    s_k = kd.NoiseScheduler(betas, _q_tf, _p_tf, _ddim_tf)
    t = np.array([0, 10, 500, 999, 3])
    np.testing.assert_allclose(s_t.add_noise(torch.as_tensor(x), torch.as_tensor(noise), torch.as_tensor(t)).numpy(),
                               s_k.add_noise(tf.constant(x), tf.constant(noise), tf.constant(t)).numpy(), atol=TOL)
    s_t.set_timesteps(1000)
    assert s_t.pairs[0] == (999, 998) and s_t.pairs[-1] == (0, -1)
    with pytest.raises(ValueError):
        s_t.set_timesteps(50)  # ancestral DDPM visits every step


def test_probe_matches_its_numpy_forward():
    rng = np.random.default_rng(4)
    for seed, dim in ((0, 3), (7, 64)):
        x, t, y = rng.standard_normal((4, dim)), rng.integers(0, 1000, 4), np.array([0, 10, 3, 9])
        want = probe_forward(probe_weights(seed, dim), x, t, y)
        pt, pk = td.probe_denoiser(seed, dim), kd.probe_denoiser(seed, dim)
        with torch.no_grad():
            got_t = pt(torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(t), torch.as_tensor(y)).numpy()
        got_k = pk(tf.constant(x, tf.float32), tf.constant(t), tf.constant(y)).numpy()
        np.testing.assert_allclose(got_t, want, atol=1e-4)
        np.testing.assert_allclose(got_k, want, atol=1e-4)
        assert pt.calls == [4] and pk.calls == [4]


def test_training_lowers_the_loss_and_keeps_an_ema():
    from genlab.diffusion import diffusion_digits

    x, y = diffusion_digits("train", limit=256)
    ab_t, ab_k = td.schedule_tensors(cosine_betas(100))[2], kd.schedule_tensors(cosine_betas(100))[2]

    def loss_t(m, x0, t, noise, yy):
        return torch.mean((m(_q_torch(x0, t, noise, ab_t), t, yy) - noise) ** 2)

    def loss_k(m, x0, t, noise, yy):
        return tf.reduce_mean(tf.square(m(_q_tf(x0, t, noise, ab_k), t, yy) - noise))

    for mod, emb, loss in ((td, _emb_torch, loss_t), (kd, _emb_tf, loss_k)):
        model = mod.Denoiser(emb, width=64, blocks=1, seed=0)
        ema, hist, seconds = mod.train_denoiser(model, x, y, loss, steps=60, T=100, batch_size=64, lr=3e-3, warmup=5)
        assert len(hist) == 60 and np.mean(hist[-10:]) < np.mean(hist[:10]) and seconds > 0
        w_model, w_ema = mod.get_weights(model), mod.get_weights(ema)
        assert any(not np.array_equal(a, b) for a, b in zip(w_model, w_ema))


def test_weight_grads_reach_every_weight():
    m_t, m_k = _pair(4, width=32, blocks=2)
    rng = np.random.default_rng(5)
    x, t, y = rng.standard_normal((6, 64)).astype(np.float32), rng.integers(0, 1000, 6), np.arange(6)
    g_t = td.weight_grads(lambda: m_t(torch.as_tensor(x), torch.as_tensor(t), torch.as_tensor(y)) ** 2, m_t)
    g_k = kd.weight_grads(lambda: m_k(tf.constant(x), tf.constant(t), tf.constant(y)) ** 2, m_k)
    for a, b, name in zip(g_t, g_k, m_t.names):
        assert a is not None and b is not None, name
        np.testing.assert_allclose(a, b, atol=1e-3 * max(1.0, np.abs(a).max()), err_msg=name)
