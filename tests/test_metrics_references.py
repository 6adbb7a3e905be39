"""genlab.metrics against independent references: scipy, scikit-learn, scikit-image, torchmetrics, sacrebleu.

Reference packages that are missing make their tests skip (torchmetrics, sacrebleu are test-only pins).
"""
import numpy as np
import pytest
import scipy.linalg

from genlab.data import load_digits
from genlab.metrics import (corpus_bleu, density_coverage, frechet_distance, inception_score, kid, mmd2_unbiased,
                            precision_recall, psnr, si_sdr, ssim)


def rel(a, b):
    return abs(a - b) / max(abs(b), 1e-300)


# ---------------------------------------------------------------- Frechet distance


def frechet_sqrtm_reference(x, y, eps=1e-6):
    """The pytorch-fid recipe: scipy sqrtm of S1 S2, imaginary round-off dropped, eps*I retry if singular."""
    mu1, mu2 = x.mean(0), y.mean(0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    if not np.isfinite(covmean).all():
        off = np.eye(len(s1)) * eps
        covmean = scipy.linalg.sqrtm((s1 + off) @ (s2 + off))
    if np.iscomplexobj(covmean):
        assert np.abs(covmean.imag).max() < 1e-3
        covmean = covmean.real
    d = mu1 - mu2
    return float(d @ d + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


@pytest.mark.parametrize("n,d,seed", [(500, 8, 0), (2000, 64, 1), (300, 128, 2)])
def test_frechet_matches_scipy_sqrtm(n, d, seed):
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(d, d)) / np.sqrt(d)
    x = rng.normal(size=(n, d)) @ mix
    y = (rng.normal(size=(n + 37, d)) * 1.3 + 0.2) @ mix
    assert rel(frechet_distance(x, y), frechet_sqrtm_reference(x, y)) <= 1e-6


def test_frechet_on_digit_features_matches_scipy_sqrtm():
    from genlab.metrics import digits_features

    real = digits_features(load_digits("train").x).astype(np.float64)
    fake = digits_features(np.clip(load_digits("test").x + 0.15, 0, 1)).astype(np.float64)
    assert rel(frechet_distance(real, fake), frechet_sqrtm_reference(real, fake)) <= 1e-6


@pytest.fixture(scope="module")
def double_classifier():
    pytest.importorskip("torch")
    from genlab.torch.features import load_pretrained

    return load_pretrained().double()


def test_frechet_matches_torchmetrics_fid_with_the_digits_extractor(double_classifier):
    torch = pytest.importorskip("torch")
    fid_mod = pytest.importorskip("torchmetrics.image.fid")
    real = torch.as_tensor(load_digits("train").x, dtype=torch.float64)
    fake_np = np.clip(load_digits("test").x + 0.1 * np.random.default_rng(0).normal(size=(297, 8, 8)), 0, 1)
    fake = torch.as_tensor(fake_np, dtype=torch.float64)
    module = double_classifier.feature_module()
    metric = fid_mod.FrechetInceptionDistance(feature=module, normalize=True)
    metric.update(real, real=True)
    metric.update(fake, real=False)
    reference = float(metric.compute())
    with torch.no_grad():
        ours = frechet_distance(module(real).numpy(), module(fake).numpy())
    assert ours > 0.1  # a real difference (the features have std ~0.7), not round-off
    assert rel(ours, reference) <= 1e-6


# ---------------------------------------------------------------- KID


def kid_bruteforce(x, y):
    """Unbiased MMD^2 with k(a, b) = (a.b/d + 1)^3, summed pair by pair."""
    m, d = len(x), x.shape[1]
    k = lambda a, b: (a @ b / d + 1.0) ** 3  # noqa: E731
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j)
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j)
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m))
    return xx / (m * (m - 1)) + yy / (m * (m - 1)) - 2 * xy / m**2


def test_kid_subsets_match_the_bruteforce_estimator():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(60, 5)), rng.normal(size=(45, 5)) + 0.4
    mean, std = kid(x, y, subsets=4, subset_size=30, seed=7)
    draw = np.random.default_rng(7)  # the documented sampling: per round, choice from x then from y
    scores = []
    for _ in range(4):
        ix = draw.choice(60, 30, replace=False)
        iy = draw.choice(45, 30, replace=False)
        scores.append(kid_bruteforce(x[ix], y[iy]))
    assert rel(mean, np.mean(scores)) <= 1e-10
    assert rel(std, np.std(scores)) <= 1e-8


@pytest.mark.filterwarnings("ignore:Metric `Kernel Inception Distance` will save")
def test_kid_matches_torchmetrics_on_whole_sets():
    torch = pytest.importorskip("torch")
    kid_mod = pytest.importorskip("torchmetrics.image.kid")
    rng = np.random.default_rng(4)
    n, d = 200, 64
    x, y = rng.normal(size=(n, d)), rng.normal(size=(n, d)) * 1.1 + 0.1

    class Identity(torch.nn.Module):
        num_features = d

        def forward(self, t):
            return t

    metric = kid_mod.KernelInceptionDistance(feature=Identity(), subsets=1, subset_size=n)
    metric.update(torch.as_tensor(x), real=True)
    metric.update(torch.as_tensor(y), real=False)
    ref_mean, _ = metric.compute()
    mean, std = kid(x, y, subsets=1, subset_size=n)
    assert rel(mean, float(ref_mean)) <= 1e-10
    assert rel(mmd2_unbiased(x, y), float(ref_mean)) <= 1e-10
    assert std == 0.0


# ---------------------------------------------------------------- Inception score


@pytest.mark.filterwarnings("ignore:std\\(\\)")
@pytest.mark.filterwarnings("ignore:Metric `InceptionScore` will save")
def test_inception_score_matches_torchmetrics():
    torch = pytest.importorskip("torch")
    is_mod = pytest.importorskip("torchmetrics.image.inception")
    logits = np.random.default_rng(5).normal(size=(300, 10)) * 3

    class Identity(torch.nn.Module):
        def forward(self, t):
            return t

    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    for splits in (1, 5):
        metric = is_mod.InceptionScore(feature=Identity(), splits=splits)
        metric.update(torch.as_tensor(logits))
        torch.manual_seed(11)
        ref_mean, ref_std = metric.compute()
        torch.manual_seed(11)
        perm = torch.randperm(300).numpy()  # torchmetrics shuffles before splitting: replay it
        mean, std = inception_score(probs[perm], splits=splits)
        assert rel(mean, float(ref_mean)) <= 1e-10
        if splits > 1:  # torchmetrics reports the sample std (ddof=1), we the population std
            assert rel(std * np.sqrt(splits / (splits - 1)), float(ref_std)) <= 1e-8


# ---------------------------------------------------------------- precision / recall, density / coverage


def manifold_reference(real, fake, k):
    """Precision, recall, density, coverage from scikit-learn's k-NN and explicit loops."""
    from sklearn.neighbors import NearestNeighbors

    def radii(x):  # k-th neighbour other than the point itself
        dist, _ = NearestNeighbors(n_neighbors=k + 1).fit(x).kneighbors(x)
        return dist[:, k]

    rr, rf = radii(real), radii(fake)
    d = np.sqrt(((fake[:, None, :] - real[None, :, :]) ** 2).sum(-1))  # (M, N)
    inside = d <= rr[None, :]
    precision = np.mean([inside[j].any() for j in range(len(fake))])
    recall = np.mean([(d[:, i] <= rf).any() for i in range(len(real))])
    density = inside.sum() / (k * len(fake))
    coverage = np.mean([inside[:, i].any() for i in range(len(real))])
    return precision, recall, density, coverage


@pytest.mark.parametrize("k", [3, 5])
def test_manifold_metrics_match_sklearn_knn_reference(k):
    rng = np.random.default_rng(6)
    real = rng.normal(size=(150, 6))
    fake = rng.normal(size=(120, 6)) * 1.2 + 0.3
    p, r, d, c = manifold_reference(real, fake, k)
    assert precision_recall(real, fake, k=k) == (pytest.approx(p, abs=1e-12), pytest.approx(r, abs=1e-12))
    assert density_coverage(real, fake, k=k) == (pytest.approx(d, abs=1e-12), pytest.approx(c, abs=1e-12))


def test_manifold_blocks_agree_with_small_sets():
    import genlab.metrics.manifold as mf

    rng = np.random.default_rng(8)
    real, fake = rng.normal(size=(70, 3)), rng.normal(size=(50, 3))
    full = precision_recall(real, fake), density_coverage(real, fake)
    old = mf._BLOCK
    try:
        mf._BLOCK = 16  # several blocks
        assert (precision_recall(real, fake), density_coverage(real, fake)) == full
    finally:
        mf._BLOCK = old


# ---------------------------------------------------------------- PSNR, SSIM (scikit-image)


@pytest.mark.parametrize("shape,data_range", [((32, 32), 1.0), ((40, 24), 255.0), ((8, 8), 1.0)])
def test_psnr_matches_skimage(shape, data_range):
    from skimage.metrics import peak_signal_noise_ratio

    rng = np.random.default_rng(9)
    a = rng.random(shape) * data_range
    b = np.clip(a + rng.normal(size=shape) * 0.05 * data_range, 0, data_range)
    assert rel(psnr(a, b, data_range), peak_signal_noise_ratio(a, b, data_range=data_range)) <= 1e-12


@pytest.mark.parametrize("shape,sigma,channel_axis", [((32, 32), 1.5, None), ((23, 41), 1.5, None),
                                                      ((8, 8), 0.5, None), ((24, 24, 3), 1.5, -1),
                                                      ((16, 16), 1.0, None)])
def test_ssim_matches_skimage(shape, sigma, channel_axis):
    from skimage.metrics import structural_similarity

    rng = np.random.default_rng(10)
    a = rng.random(shape)
    b = np.clip(a + rng.normal(size=shape) * 0.1, 0, 1)
    ref = structural_similarity(a, b, gaussian_weights=True, sigma=sigma, use_sample_covariance=False,
                                data_range=1.0, channel_axis=channel_axis)
    assert abs(ssim(a, b, 1.0, sigma=sigma, channel_axis=channel_axis) - ref) <= 1e-4
    assert abs(ssim(a * 255, b * 255, 255.0, sigma=sigma, channel_axis=channel_axis) - ref) <= 1e-4


def test_ssim_batch_equals_skimage_per_image():
    from skimage.metrics import structural_similarity

    x = load_digits("test").x[:20].astype(np.float64)
    y = np.clip(x + np.random.default_rng(11).normal(size=x.shape) * 0.1, 0, 1)
    ref = [structural_similarity(a, b, gaussian_weights=True, sigma=0.5, use_sample_covariance=False,
                                 data_range=1.0) for a, b in zip(x, y)]
    ours = ssim(x, y, 1.0, sigma=0.5, reduction="none")
    assert np.abs(ours - ref).max() <= 1e-4


# ---------------------------------------------------------------- BLEU (sacrebleu)


def random_corpus(rng, n, vocab=12, refs=2):
    words = [f"w{i}" for i in range(vocab)]

    def sent(lo=3, hi=15):
        return " ".join(rng.choice(words, rng.integers(lo, hi)))

    hyps = [sent() for _ in range(n)]
    references = [[sent() for _ in range(refs)] for _ in range(n)]
    return hyps, references


@pytest.mark.parametrize("smooth", ["none", "exp"])
@pytest.mark.parametrize("max_n,vocab,refs,seed", [(4, 6, 2, 0), (4, 30, 1, 1), (2, 30, 3, 2), (4, 200, 1, 3)])
def test_bleu_matches_sacrebleu(smooth, max_n, vocab, refs, seed):
    sacrebleu = pytest.importorskip("sacrebleu")
    hyps, references = random_corpus(np.random.default_rng(seed), 40, vocab, refs)
    streams = [list(s) for s in zip(*references)]  # sacrebleu: one list per reference stream
    bleu = sacrebleu.metrics.BLEU(tokenize="none", smooth_method=smooth, max_ngram_order=max_n, force=True)
    ref = bleu.corpus_score(hyps, streams).score / 100
    assert abs(corpus_bleu(hyps, references, max_n=max_n, smooth=smooth) - ref) <= 1e-12


def test_bleu_matches_sacrebleu_on_text():
    sacrebleu = pytest.importorskip("sacrebleu")
    hyps = ["the cat sat on the mat", "a quick brown fox jumps", "hello world"]
    refs = [["the cat is on the mat", "there is a cat on the mat"], ["the quick brown fox jumps over", "a fast fox"],
            ["hello there world", "hello world !"]]
    for smooth in ("none", "exp"):
        ref = sacrebleu.corpus_bleu(hyps, [list(s) for s in zip(*refs)], tokenize="none", smooth_method=smooth,
                                    force=True).score / 100
        assert abs(corpus_bleu(hyps, refs, smooth=smooth) - ref) <= 1e-12


# ---------------------------------------------------------------- SI-SDR (torchmetrics)


@pytest.mark.parametrize("zero_mean", [False, True])
def test_si_sdr_matches_torchmetrics(zero_mean):
    torch = pytest.importorskip("torch")
    audio = pytest.importorskip("torchmetrics.functional.audio")
    rng = np.random.default_rng(12)
    ref = rng.normal(size=(4, 2, 800)) + 0.3
    est = 0.5 * ref + 0.3 * rng.normal(size=ref.shape)
    theirs = audio.scale_invariant_signal_distortion_ratio(torch.as_tensor(est), torch.as_tensor(ref),
                                                           zero_mean=zero_mean).numpy()
    ours = si_sdr(est, ref, zero_mean=zero_mean)
    assert ours.shape == (4, 2)
    assert np.max(np.abs(ours - theirs) / np.abs(theirs)) <= 1e-9
