"""The GAN chapter's networks give the same outputs in PyTorch and Keras under shared weights.

Covers the ring MLPs (genlab MLP), the DCGAN generator and discriminator (unconditional and
conditional shapes), the super-resolution body with the pixel shuffle, and the patch discriminator.
Weights go torch -> NumPy (Keras layout) -> Keras; inputs are shared NumPy arrays.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
tf = pytest.importorskip("tensorflow")

import genlab.tf as gtf  # noqa: E402
import genlab.torch as gtorch  # noqa: E402
from genlab.tf import gan as kgan  # noqa: E402
from genlab.torch import gan as tgan  # noqa: E402

RNG = np.random.default_rng(0)


def _pair(name, *args, **kwargs):
    torch.manual_seed(1)
    tm = getattr(tgan, name)(*args, **kwargs)
    km = getattr(kgan, name)(*args, **kwargs)
    gtf.set_weights(km, gtorch.get_weights(tm))
    return tm, km


def _torch_images(model, x):
    return gtorch.images_to_numpy(model(gtorch.to_images(x)))


def _pixel_shuffle(x, r):
    """NumPy reference on (N, H, W, C*r*r) -> (N, H*r, W*r, C), channel index c*r*r + i*r + j."""
    n, h, w, cr = x.shape
    c = cr // (r * r)
    return x.reshape(n, h, w, c, r, r).transpose(0, 1, 4, 2, 5, 3).reshape(n, h * r, w * r, c)


@pytest.mark.parametrize("in_dim,width", [(32, 32), (42, 32), (16, 8)])
def test_generator_parity(in_dim, width):
    tm, km = _pair("ConvGenerator", in_dim, width)
    z = RNG.normal(size=(17, in_dim)).astype(np.float32)
    out_t = gtorch.images_to_numpy(tm(gtorch.to_tensor(z)))
    out_k = km(z).numpy()
    assert out_t.shape == out_k.shape == (17, 8, 8, 1)
    assert np.abs(out_t - out_k).max() <= 1e-5
    assert np.abs(out_t).max() < 1.0 and out_t.std() > 1e-3  # tanh range, not a constant image


@pytest.mark.parametrize("in_channels,width", [(1, 64), (11, 64), (3, 16)])
def test_discriminator_parity(in_channels, width):
    tm, km = _pair("ConvDiscriminator", in_channels, width)
    x = RNG.normal(size=(9, 8, 8, in_channels)).astype(np.float32)
    out_t = tm(gtorch.to_images(x)).detach().numpy()
    out_k = km(x).numpy()
    assert out_t.shape == out_k.shape == (9, 1)
    assert np.abs(out_t - out_k).max() <= 1e-5


@pytest.mark.parametrize("width,depth,activation", [(32, 3, "tanh"), (16, 5, "relu")])
def test_super_resolution_parity_through_the_pixel_shuffle(width, depth, activation):
    tm, km = _pair("SRNet", width, depth, 2, activation)
    lr = RNG.random((2, 12, 10, 1)).astype(np.float32)
    body_t, body_k = _torch_images(tm, lr), km(lr).numpy()
    assert body_t.shape == body_k.shape == (2, 12, 10, 4)
    assert np.abs(body_t - body_k).max() <= 1e-5
    # the frameworks' own pixel shuffles agree with the NumPy reference (and with each other) for one channel
    ref = _pixel_shuffle(body_t, 2)
    ps_t = gtorch.images_to_numpy(torch.nn.functional.pixel_shuffle(gtorch.to_images(body_t), 2))
    ps_k = tf.nn.depth_to_space(body_k, 2).numpy()
    assert np.abs(ps_t - ref).max() <= 1e-6 and np.abs(ps_k - ref).max() <= 1e-5


def test_pixel_shuffle_channel_orders_differ_for_several_channels():
    """PyTorch's pixel_shuffle reads channel c*r*r + i*r + j, tf.nn.depth_to_space reads (i*r + j)*C + c:
    porting sub-pixel weights between frameworks must permute the last conv's output channels."""
    x = RNG.normal(size=(1, 3, 3, 12)).astype(np.float32)
    ps_t = gtorch.images_to_numpy(torch.nn.functional.pixel_shuffle(gtorch.to_images(x), 2))
    assert np.allclose(ps_t, _pixel_shuffle(x, 2))
    assert not np.allclose(tf.nn.depth_to_space(x, 2).numpy(), ps_t)
    perm = np.array([(k % 3) * 4 + k // 3 for k in range(12)])  # depth_to_space slot (i*r + j)*C + c <- torch c*r*r + i*r + j
    assert np.allclose(tf.nn.depth_to_space(x[..., perm], 2).numpy(), ps_t)


def test_patch_discriminator_parity():
    tm, km = _pair("PatchDiscriminator", 16)
    x = RNG.normal(size=(3, 32, 24, 1)).astype(np.float32)
    out_t, out_k = _torch_images(tm, x), km(x).numpy()
    assert out_t.shape == out_k.shape == (3, 8, 6, 1)
    assert np.abs(out_t - out_k).max() <= 1e-5


def test_ring_mlps_parity_and_conv_weight_exchange_checks_shapes():
    tm = gtorch.MLP(2, (128, 128), 2)
    km = gtf.MLP(2, (128, 128), 2)
    gtf.set_weights(km, gtorch.get_weights(tm))
    z = RNG.normal(size=(50, 2)).astype(np.float32)
    assert np.abs(tm(gtorch.to_tensor(z)).detach().numpy() - km(z).numpy()).max() <= 1e-5
    w = gtorch.get_weights(tgan.ConvDiscriminator(1, 8))
    assert w[0].shape == (4, 4, 1, 8) and w[-2].shape == (64, 1)
    with pytest.raises(ValueError, match="shape"):
        gtorch.set_weights(tgan.ConvDiscriminator(2, 8), w)
    with pytest.raises(ValueError, match="shape"):
        gtf.set_weights(kgan.ConvDiscriminator(2, 8), w)
    back = gtorch.set_weights(tgan.ConvDiscriminator(1, 8), gtf.get_weights(gtf.set_weights(kgan.ConvDiscriminator(1, 8), w)))
    assert all(np.array_equal(a, b) for a, b in zip(w, gtorch.get_weights(back)))


def test_stacked_mlp_runs_each_model_on_its_slice_in_both_frameworks():
    """StackedMLP (the ring runs' batched seeds): slice s of the output is model s on slice s of the input, the
    copies start from the models' own weights, and the PyTorch and Keras stacks agree under shared weights."""
    t_models = [gtorch.MLP(2, (16, 8), 3) for _ in range(3)]
    k_models = [gtf.set_weights(gtf.MLP(2, (16, 8), 3), gtorch.get_weights(m)) for m in t_models]
    t_stack, k_stack = tgan.StackedMLP(t_models), kgan.StackedMLP(k_models)
    x = RNG.normal(size=(3, 7, 2)).astype(np.float32)
    out_t = t_stack(gtorch.to_tensor(x)).detach().numpy()
    out_k = k_stack(x).numpy()
    assert out_t.shape == out_k.shape == (3, 7, 3)
    for s in range(3):
        assert np.abs(out_t[s] - t_models[s](gtorch.to_tensor(x[s])).detach().numpy()).max() <= 1e-5
        assert np.abs(out_k[s] - k_models[s](x[s]).numpy()).max() <= 1e-5
    assert np.abs(out_t - out_k).max() <= 1e-5
    # the slices are independent: a loss on slice 0 leaves no gradient on the other slices' weights
    t_stack(gtorch.to_tensor(x))[0].sum().backward()
    assert all(p.grad[1:].abs().max() == 0 and p.grad[0].abs().max() > 0 for p in t_stack.parameters())
    with pytest.raises(ValueError, match="shape"):
        tgan.StackedMLP([gtorch.MLP(2, (16, 8), 3), gtorch.MLP(2, (16, 4), 3)])
    with pytest.raises(ValueError, match="shape"):
        kgan.StackedMLP([gtf.MLP(2, (16, 8), 3), gtf.MLP(2, (16, 4), 3)])
