"""genlab.metrics on closed forms, invariances and bad input (NumPy only; no frameworks needed)."""
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from genlab.metrics import (bits_per_character, corpus_bleu, density_coverage, feature_stats, frechet_distance,
                            frechet_distance_from_stats, inception_score, kid, mmd2_unbiased, perplexity,
                            precision_recall, psnr, si_sdr, ssim)

ROOT = Path(__file__).resolve().parents[1]


def rotation(d, seed):
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(d, d)))
    return q


# ---------------------------------------------------------------- Frechet distance


def test_importing_metrics_loads_no_framework():
    code = ("import sys, genlab.metrics; "
            "print('torch' in sys.modules, 'tensorflow' in sys.modules, 'keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.split() == ["False", "False", "False"]


def test_frechet_closed_form_for_commuting_covariances():
    # S1 = Q diag(l1) Q^T, S2 = Q diag(l2) Q^T commute: Tr((S1 S2)^1/2) = sum sqrt(l1 l2)
    q = rotation(5, 0)
    l1, l2 = np.array([1.0, 2.0, 0.5, 3.0, 0.1]), np.array([2.0, 0.3, 0.5, 1.0, 4.0])
    mu1, mu2 = np.arange(5.0), np.arange(5.0)[::-1] * 0.5
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(l1) - np.sqrt(l2)) ** 2)
    got = frechet_distance_from_stats(mu1, q @ np.diag(l1) @ q.T, mu2, q @ np.diag(l2) @ q.T)
    assert isinstance(got, float)
    assert got == pytest.approx(expected, rel=1e-12)


def test_frechet_of_sampled_gaussians_converges_to_the_closed_form():
    rng = np.random.default_rng(1)
    d = 4
    a = rng.normal(size=(d, d))
    s1 = a @ a.T / d + 0.5 * np.eye(d)
    s2 = np.diag([0.5, 1.0, 2.0, 1.5])
    mu1, mu2 = np.zeros(d), np.array([1.0, -1.0, 0.5, 0.0])
    exact = frechet_distance_from_stats(mu1, s1, mu2, s2)
    errors = []
    for n in (1_000, 100_000):
        x = rng.multivariate_normal(mu1, s1, size=n)
        y = rng.multivariate_normal(mu2, s2, size=n)
        errors.append(abs(frechet_distance(x, y) - exact))
    assert errors[1] < 0.02 * exact
    assert errors[1] < errors[0]


def test_frechet_identical_sets_zero_symmetric_and_real():
    x = np.random.default_rng(2).normal(size=(300, 16)) * 3 + 10
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-9)
    assert frechet_distance(x, x) >= 0.0
    y = np.random.default_rng(3).normal(size=(250, 16))
    assert frechet_distance(x, y) == pytest.approx(frechet_distance(y, x), rel=1e-10)
    assert type(frechet_distance(x, y)) is float
    # translation shifts only the mean term
    shift = np.full(16, 0.5)
    base = frechet_distance(x, y)
    assert frechet_distance(x + shift, y) == pytest.approx(base + 16 * 0.25 + 2 * shift @ (x.mean(0) - y.mean(0)),
                                                           rel=1e-9)


def test_frechet_handles_singular_covariances():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(10, 32)), rng.normal(size=(12, 32))  # N < D: rank-deficient
    v = frechet_distance(x, y)
    assert isinstance(v, float) and np.isfinite(v) and v > 0
    z = np.zeros((5, 32))
    z[:, 0] = np.arange(5)  # rank-1 covariance, all other directions constant
    assert np.isfinite(frechet_distance(z, z + 1)) and frechet_distance(z, z) == pytest.approx(0.0, abs=1e-12)


def test_feature_stats_match_numpy():
    x = np.random.default_rng(5).normal(size=(50, 3))
    mu, s = feature_stats(x)
    np.testing.assert_allclose(mu, x.mean(0))
    np.testing.assert_allclose(s, np.cov(x, rowvar=False), rtol=1e-12)


def test_frechet_errors():
    x = np.random.default_rng(6).normal(size=(20, 4))
    with pytest.raises(ValueError, match="dimension"):
        frechet_distance(x, x[:, :3])
    with pytest.raises(ValueError, match="at least 2"):
        frechet_distance(x, x[:1])
    with pytest.raises(ValueError, match="2-D"):
        frechet_distance(x[0], x)
    bad = x.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        frechet_distance(x, bad)
    with pytest.raises(ValueError, match="infinite"):
        frechet_distance(x * np.inf, x)
    with pytest.raises(ValueError, match="symmetric"):
        frechet_distance_from_stats(np.zeros(2), np.array([[1.0, 0.5], [0.0, 1.0]]), np.zeros(2), np.eye(2))
    with pytest.raises(ValueError, match="match mu"):
        frechet_distance_from_stats(np.zeros(3), np.eye(2), np.zeros(3), np.eye(3))


# ---------------------------------------------------------------- KID


def test_kid_near_zero_for_same_distribution_and_positive_otherwise():
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(400, 8)), rng.normal(size=(400, 8))
    mean, std = kid(x, y, subsets=20, subset_size=200)
    assert abs(mean) < 3 * std + 1e-3
    far_mean, _ = kid(x, y + 1.0, subsets=20, subset_size=200)
    assert far_mean > 10 * abs(mean)


def test_kid_whole_set_is_deterministic_and_seeded():
    rng = np.random.default_rng(8)
    x, y = rng.normal(size=(50, 4)), rng.normal(size=(50, 4)) + 0.3
    mean, std = kid(x, y, subsets=3, subset_size=50)
    assert std == pytest.approx(0.0, abs=1e-12)
    assert mean == pytest.approx(mmd2_unbiased(x, y), rel=1e-12)
    assert kid(x, y, subsets=5, subset_size=20, seed=1) == kid(x, y, subsets=5, subset_size=20, seed=1)
    assert kid(x, y, subsets=5, subset_size=20, seed=1) != kid(x, y, subsets=5, subset_size=20, seed=2)
    assert kid(x, y, subsets=2)[0] == pytest.approx(mean)  # default subset size min(N, M, 1000) = 50


def test_kid_errors():
    x = np.random.default_rng(9).normal(size=(30, 4))
    with pytest.raises(ValueError, match="exceeds"):
        kid(x, x[:20], subset_size=25)
    with pytest.raises(ValueError, match="at least 2"):
        kid(x, x, subset_size=1)
    with pytest.raises(ValueError, match="dimension"):
        kid(x, x[:, :2])
    with pytest.raises(ValueError, match="subsets"):
        kid(x, x, subsets=0)
    with pytest.raises(ValueError, match="equal sample sizes"):
        mmd2_unbiased(x, x[:10])


# ---------------------------------------------------------------- Inception score


def test_inception_score_closed_forms():
    c = 10
    confident = np.eye(c)[np.arange(200) % c]  # one-hot, classes evenly used
    mean, std = inception_score(confident)
    assert mean == pytest.approx(c) and std == 0.0
    same = np.tile(np.random.default_rng(10).dirichlet(np.ones(c)), (100, 1))
    assert inception_score(same)[0] == pytest.approx(1.0)
    # two classes only, confident: IS = 2
    assert inception_score(np.eye(c)[np.arange(100) % 2])[0] == pytest.approx(2.0)
    # splits: identical halves -> zero std; mean of per-split scores
    mean, std = inception_score(confident, splits=4)
    assert std == pytest.approx(0.0, abs=1e-12)
    half = np.concatenate([np.eye(c)[np.arange(50) % 2], np.eye(c)[np.arange(50) % 5]])
    mean, std = inception_score(half, splits=2)
    assert (mean, std) == (pytest.approx(3.5), pytest.approx(1.5))


def test_inception_score_errors():
    p = np.full((10, 4), 0.25)
    with pytest.raises(ValueError, match="sum to 1"):
        inception_score(p * 2)
    with pytest.raises(ValueError, match="negative"):
        inception_score(p - 0.3)
    with pytest.raises(ValueError, match="splits"):
        inception_score(p, splits=11)
    with pytest.raises(ValueError, match="NaN"):
        inception_score(np.where(np.eye(10, 4) > 0, np.nan, p))


# ---------------------------------------------------------------- precision / recall, density / coverage


def modes(n_per, centres, rng, scale=0.1):
    return np.concatenate([c + scale * rng.normal(size=(n_per, len(c))) for c in centres])


def test_precision_recall_identical_and_dropped_modes():
    rng = np.random.default_rng(11)
    centres = [np.array([10.0 * i, 0.0]) for i in range(5)]
    real = modes(40, centres, rng)
    assert precision_recall(real, real) == (1.0, 1.0)
    fake = modes(40, centres[:2], rng)  # two of five modes
    p, r = precision_recall(real, fake)
    assert p > 0.9
    assert r == pytest.approx(0.4, abs=0.05)
    # fakes off the manifold: precision drops, recall too
    p_far, r_far = precision_recall(real, fake + 100.0)
    assert p_far == 0.0 and r_far == 0.0


def test_density_coverage_identical_and_dropped_modes():
    rng = np.random.default_rng(12)
    centres = [np.array([10.0 * i, 0.0]) for i in range(5)]
    real = modes(60, centres, rng)
    d, c = density_coverage(real, real)
    assert c == 1.0 and d >= 1.0  # every fake is inside its own ball plus its k neighbours' (about)
    fresh = modes(60, centres, rng)
    d, c = density_coverage(real, fresh)
    assert 0.7 < d < 1.3 and c > 0.8
    d, c = density_coverage(real, modes(60, centres[:1], rng))
    assert c == pytest.approx(0.2, abs=0.05)


def test_manifold_errors():
    x = np.random.default_rng(13).normal(size=(5, 3))
    with pytest.raises(ValueError, match="k=5"):
        precision_recall(x, x, k=5)
    with pytest.raises(ValueError, match="dimension"):
        density_coverage(x, x[:, :2])
    with pytest.raises(ValueError, match="positive int"):
        density_coverage(x, x, k=0)


# ---------------------------------------------------------------- PSNR, SSIM


def test_psnr_closed_form_and_axis():
    a = np.zeros((4, 8, 8))
    b = a + 0.1  # MSE 0.01 -> 20 dB at range 1
    assert psnr(a, b, 1.0) == pytest.approx(20.0)
    assert psnr(a * 255, b * 255, 255) == pytest.approx(20.0)
    b[1] += 0.1  # image 1: MSE 0.04 -> 10 log10(25) dB
    np.testing.assert_allclose(psnr(a, b, 1.0, axis=(1, 2)), [20, 10 * np.log10(25), 20, 20])
    assert psnr(a, a, 1.0) == math.inf
    with pytest.raises(ValueError, match="shapes differ"):
        psnr(a, b[:2], 1.0)
    with pytest.raises(ValueError, match="data_range"):
        psnr(a, b, 0)
    with pytest.raises(ValueError, match="NaN"):
        psnr(a, b * np.nan, 1.0)


def test_ssim_properties():
    rng = np.random.default_rng(14)
    x = rng.random((3, 16, 16))
    assert ssim(x, x, 1.0) == pytest.approx(1.0)
    noisy = np.clip(x + 0.2 * rng.normal(size=x.shape), 0, 1)
    per = ssim(x, noisy, 1.0, reduction="none")
    assert per.shape == (3,) and np.all(per < 0.9)
    assert ssim(x, noisy, 1.0) == pytest.approx(per.mean())
    assert ssim(x, noisy, 1.0) == pytest.approx(ssim(noisy, x, 1.0))  # symmetric
    rgb = rng.random((16, 16, 3))
    assert ssim(rgb, rgb, 1.0, channel_axis=-1) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="window"):
        ssim(np.zeros((8, 8)), np.zeros((8, 8)), 1.0)  # 11x11 window on 8x8 digits
    assert ssim(np.zeros((8, 8)), np.zeros((8, 8)), 1.0, sigma=0.5) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="shapes differ"):
        ssim(x, x[:2], 1.0)
    with pytest.raises(ValueError, match="reduction"):
        ssim(x, x, 1.0, reduction="sum")


# ---------------------------------------------------------------- text


@pytest.mark.parametrize("v", [2, 27, 256])
def test_uniform_model_perplexity_and_bpc(v):
    nll = np.full(1000, math.log(v))
    assert perplexity(nll) == pytest.approx(v)
    assert bits_per_character(nll) == pytest.approx(math.log2(v))
    assert perplexity(math.log(v)) == pytest.approx(v)


def test_perplexity_errors():
    with pytest.raises(ValueError, match="negative"):
        perplexity([-1.0, 0.5])
    with pytest.raises(ValueError, match="NaN"):
        bits_per_character([np.nan])
    with pytest.raises(ValueError, match="empty"):
        perplexity([])


def test_bleu_hand_computed():
    assert corpus_bleu(["the cat sat on the mat"], [["the cat sat on the mat"]]) == pytest.approx(1.0)
    assert corpus_bleu(["a b c d"], ["e f g h"]) == 0.0
    # hyp "the the the the" vs ref "the cat": clipped unigram 1/4, no bigram -> 0 unless smoothed
    assert corpus_bleu(["the the the the"], ["the cat"]) == 0.0
    # p1 = 5/6, p2 = 3/5, p3 = 2/4, p4 = 1/3; c = r = 6 -> BP = 1
    hyp, ref = "the cat sat on a mat", "the cat sat on the mat"
    expected = math.exp((math.log(5 / 6) + math.log(3 / 5) + math.log(2 / 4) + math.log(1 / 3)) / 4)
    assert corpus_bleu([hyp], [ref]) == pytest.approx(expected)
    # brevity penalty: hyp of 3 tokens, closest reference 6 tokens -> exp(1 - 6/3)
    assert corpus_bleu(["the cat sat"], [["the cat sat on the mat", "a b c d e f g h"]], max_n=3) == \
        pytest.approx(math.exp(1 - 2))
    assert corpus_bleu(["x y z w"], ["x y q w"], smooth="exp") > 0


def test_bleu_errors():
    with pytest.raises(ValueError, match="2 hypotheses"):
        corpus_bleu(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="empty"):
        corpus_bleu([], [])
    with pytest.raises(ValueError, match="smooth"):
        corpus_bleu(["a"], ["a"], smooth="add-k")
    with pytest.raises(ValueError, match="single string"):
        corpus_bleu("a b", ["a b"])
    with pytest.raises(ValueError, match="non-empty list"):
        corpus_bleu(["a"], [[]])


# ---------------------------------------------------------------- SI-SDR


def test_si_sdr_closed_form_and_scale_invariance():
    rng = np.random.default_rng(15)
    s = rng.normal(size=1000)
    n = rng.normal(size=1000)
    n -= (n @ s) / (s @ s) * s  # orthogonal to s
    a = 0.7
    expected = 10 * np.log10(np.sum((a * s) ** 2) / np.sum(n ** 2))
    assert si_sdr(a * s + n, s) == pytest.approx(expected, rel=1e-10)
    assert si_sdr(5.0 * (a * s + n), s) == pytest.approx(expected, rel=1e-10)
    assert si_sdr(-3.0 * (a * s + n), s) == pytest.approx(expected, rel=1e-10)
    assert si_sdr(2 * s, s) == math.inf
    batch = np.stack([a * s + n, a * s + 2 * n])
    np.testing.assert_allclose(si_sdr(batch, np.stack([s, s])), [expected, expected - 20 * np.log10(2)])
    with pytest.raises(ValueError, match="all zeros"):
        si_sdr(s, np.zeros_like(s))
    with pytest.raises(ValueError, match="all zeros"):
        si_sdr(np.zeros_like(s), s)
    with pytest.raises(ValueError, match="shapes differ"):
        si_sdr(s, s[:10])
