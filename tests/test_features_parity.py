"""The shipped digits classifier: checksum, accuracy, and PyTorch/Keras parity (max abs diff <= 1e-5).

Layouts: the file holds Keras-layout arrays (conv kernel (kh, kw, in, out), dense (in, out)). PyTorch
runs NCHW with conv weights (out, in, kh, kw) and permutes activations to NHWC before flattening, so the
fc kernel is shared unchanged.
"""
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from genlab.data import load_digits
from genlab.metrics import digits as spec

torch = pytest.importorskip("torch")
tf = pytest.importorskip("tensorflow")

import genlab.tf.features as kfeat  # noqa: E402
import genlab.torch.features as tfeat  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def models():
    return tfeat.load_pretrained(), kfeat.load_pretrained()


@pytest.fixture(scope="module")
def digits():
    return load_digits("all").x


def test_weight_file_checksum_matches_code_and_datasheet():
    digest = spec.sha256_file(spec.WEIGHTS_PATH)
    assert digest == spec.WEIGHTS_SHA256
    sheet = (ROOT / "datasets" / "digits_classifier.md").read_text()
    assert digest in sheet
    assert spec.WEIGHTS_PATH.stat().st_size < 300_000


def test_tampered_weight_file_is_refused(tmp_path, monkeypatch):
    copy = tmp_path / "w.npz"
    weights = spec.load_weights()
    weights[0] = weights[0] + 1e-3
    spec.save_weights(weights, copy)
    monkeypatch.setattr(spec, "WEIGHTS_PATH", copy)
    with pytest.raises(ValueError, match="sha256"):
        spec.load_weights()
    assert len(spec.load_weights(copy)) == len(spec.LAYOUT)  # an explicit path is the caller's choice


def test_save_weights_is_byte_reproducible(tmp_path):
    weights = spec.load_weights()
    assert spec.save_weights(weights, tmp_path / "a.npz") == spec.WEIGHTS_SHA256
    shutil.copy(spec.WEIGHTS_PATH, tmp_path / "b.npz")
    assert spec.sha256_file(tmp_path / "b.npz") == spec.WEIGHTS_SHA256


def test_same_weights_same_features_and_probs(models, digits):
    tm, km = models
    rng = np.random.default_rng(0)
    for x in (digits, rng.random((256, 8, 8)).astype(np.float32)):
        ft, fk = tm.features(x), km.features(x)
        pt, pk = tm.probs(x), km.probs(x)
        assert ft.shape == fk.shape == (len(x), spec.FEATURE_DIM)
        assert pt.shape == pk.shape == (len(x), spec.NUM_CLASSES)
        assert np.abs(ft - fk).max() <= 1e-5
        assert np.abs(pt - pk).max() <= 1e-5
    logits_t = tm(torch.as_tensor(digits)).detach().numpy()
    logits_k = km(digits[..., None]).numpy()
    assert np.abs(logits_t - logits_k).max() <= 1e-4 * max(1.0, np.abs(logits_t).max())


def test_input_layouts_agree(models, digits):
    tm, km = models
    x = digits[:50]
    ref = tm.features(x)
    for variant in (x.reshape(50, 64), x[:, None], x[..., None]):
        np.testing.assert_array_equal(tm.features(variant), ref)
        np.testing.assert_allclose(km.features(variant), ref, atol=1e-5)
    with torch.no_grad():  # the differentiable paths take framework tensors
        np.testing.assert_allclose(tm.embed(torch.as_tensor(x)).numpy(), ref, atol=1e-6)
    np.testing.assert_allclose(km.embed(tf.constant(x)).numpy(), ref, atol=1e-5)


def test_features_are_full_rank_and_small(models, digits):
    f = models[0].features(digits).astype(np.float64)
    eig = np.linalg.eigvalsh(np.cov(f, rowvar=False))
    assert eig.min() > 0  # pre-ReLU features: no dead dimensions
    assert 0.5 < f.std(0).mean() <= 1.0  # the rescaling of tools/train_digits_classifier.py


@pytest.mark.parametrize("which", [0, 1], ids=["torch", "keras"])
def test_test_accuracy_at_least_97_percent(models, which):
    te = load_digits("test")
    acc = (models[which].probs(te.x).argmax(1) == te.y).mean()
    assert acc >= 0.97
    sheet = (ROOT / "datasets" / "digits_classifier.md").read_text()
    assert f"{acc * 100:.1f}%" in sheet


def test_weight_exchange_round_trips(models):
    tm, km = models
    w = tfeat.get_weights(tm)
    assert [a.shape for a in w] == [shape for _, shape in spec.LAYOUT]
    for a, b in zip(w, kfeat.get_weights(km)):
        np.testing.assert_array_equal(a, b)
    back = tfeat.set_weights(tfeat.DigitsClassifier(), kfeat.get_weights(km))
    for a, b in zip(w, tfeat.get_weights(back)):
        np.testing.assert_array_equal(a, b)
    assert tm.conv2.weight.shape == (32, 16, 3, 3) and tuple(km.conv2.kernel.shape) == (3, 3, 16, 32)
    with pytest.raises(ValueError, match="expected"):
        tfeat.set_weights(tfeat.DigitsClassifier(), w[:4])
    with pytest.raises(ValueError, match="shape"):
        kfeat.set_weights(kfeat.DigitsClassifier(), [a.T for a in w])


def test_input_checks(models):
    tm, km = models
    for m in (tm, km):
        with pytest.raises(ValueError, match="shape"):
            m.features(np.zeros((3, 7, 7)))
        with pytest.raises(ValueError, match=re.escape("[0, 1]")):
            m.features(np.full((3, 8, 8), 16.0))
        with pytest.raises(ValueError, match="NaN"):
            m.probs(np.full((3, 8, 8), np.nan))


def test_digits_features_helper(digits):
    from genlab.metrics import digits_features, digits_probs

    x = digits[:40]
    np.testing.assert_allclose(digits_features(x), digits_features(x, framework="tf"), atol=1e-5)
    p = digits_probs(x, framework="torch")
    np.testing.assert_allclose(p.sum(1), 1.0, rtol=1e-5)
    with pytest.raises(ValueError, match="framework"):
        digits_features(x, framework="jax")
