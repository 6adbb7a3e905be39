"""genlab.{torch,tf}.reference: the compact VAE / DCGAN trainers the evaluation chapter uses.

Both frameworks: samplers return (n, 8, 8) float arrays in [0, 1]; a fixed seed gives the same model
(same samples) twice; a VAE trained a few epochs is much closer to the test digits (Frechet distance on
the digits features) than the untrained one; the GAN's weights actually move. Runs in a few seconds.
"""
import importlib

import numpy as np
import pytest

import genlab.metrics as gm
from genlab.data import load_digits

FRAMEWORKS = ["torch", "tf"]


@pytest.fixture(scope="module")
def digits():
    return load_digits("train").x, load_digits("test").x


def _reference(fw):
    if fw == "torch":
        torch = pytest.importorskip("torch")
        torch.set_num_threads(1)
    else:
        pytest.importorskip("tensorflow")
    return importlib.import_module(f"genlab.{fw}.reference")


def _check_samples(x, n):
    assert isinstance(x, np.ndarray) and x.shape == (n, 8, 8), getattr(x, "shape", type(x))
    assert np.issubdtype(x.dtype, np.floating)
    assert np.all(np.isfinite(x)) and x.min() >= 0.0 and x.max() <= 1.0, (x.min(), x.max())


def test_same_names_in_both_frameworks():
    names = [set(_reference(fw).__all__) for fw in FRAMEWORKS]
    assert names[0] == names[1] and {"train_vae", "train_dcgan"} <= names[0]


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_vae_shapes_determinism_and_learning(fw, digits):
    ref = _reference(fw)
    x_train, x_test = digits
    sub = x_train[:200].reshape(200, 64)
    runs = [ref.train_vae(sub, 2, seed=3)(16, np.random.default_rng(1)) for _ in range(2)]
    _check_samples(runs[0], 16)
    np.testing.assert_array_equal(runs[0], runs[1], err_msg="train_vae is not deterministic for a fixed seed")
    inits = [ref.train_vae(sub, 0, seed=s)(16, np.random.default_rng(1)) for s in (3, 4)]
    assert not np.allclose(inits[0], inits[1]), "the seed has no effect on the initial weights"
    # decoder means, not binary samples
    assert np.mean((runs[0] > 0.02) & (runs[0] < 0.98)) > 0.1
    # learning: 20 epochs on the 1500 training digits beat the untrained decoder by far
    f_test = gm.digits_features(x_test)
    fd = {ep: gm.frechet_distance(f_test, gm.digits_features(ref.train_vae(x_train.reshape(-1, 64), ep, seed=0)(
        500, np.random.default_rng(0)))) for ep in (0, 20)}
    assert fd[20] < 0.5 * fd[0], f"VAE FD untrained {fd[0]:.2f} vs 20 epochs {fd[20]:.2f}"


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_dcgan_shapes_determinism_and_training(fw, digits):
    ref = _reference(fw)
    sub = digits[0][:200]
    samplers = [ref.train_dcgan(sub, 1, seed=5, lr=1e-3, batch_size=32) for _ in range(2)]
    a, b = (s(16, np.random.default_rng(2)) for s in samplers)
    _check_samples(a, 16)
    np.testing.assert_array_equal(a, b, err_msg="train_dcgan is not deterministic for a fixed seed")
    untrained = ref.train_dcgan(sub, 0, seed=5)(16, np.random.default_rng(2))
    assert np.abs(a - untrained).max() > 1e-3, "one epoch of training did not change the generator"
    with pytest.raises(ValueError):
        ref.train_dcgan(sub.reshape(200, 64), 1)
