# %% [markdown]
# # Chapter 09 · Evaluating generative models · 生成模型的评估
#
# **What you will be able to answer in an interview / 学完本章你能回答：**
#
# - What FID measures, its formula from memory, and why it needs a *matrix* square root that is easy to get wrong. / FID 的定义、公式与矩阵平方根的数值问题。
# - Why FID is biased by the sample size and why KID is not. / 为什么 FID 依赖样本量，而 KID 是无偏的？
# - What the Inception Score measures, and what it cannot see (the real data). / IS 衡量什么，看不到什么？
# - Fidelity vs diversity: precision/recall and density/coverage, and how mode dropping shows up. / 保真度与多样性：精度/召回、密度/覆盖，模式丢失的表现。
# - PSNR vs SSIM: why two images with the same PSNR can look completely different. / PSNR 与 SSIM 的区别。
# - Perplexity vs bits per character, and why a lower FID is not "better images" in every sense. / 困惑度与每字符比特数；FID 更低不代表"图片更好"。
#
# Seeds covered: S000-Q8, S001-Q1, S001-Q13, S002-Q5 (how do you evaluate a generative model?), S004 2.6 and 3.1 (IS, FID, PSNR, SSIM).
# The seeds get some names and APIs wrong; Section 9 says where.
#
# This notebook uses **{{framework}}**; its twin uses the other framework with the same exercises and the same tests.

# %% [markdown]
# ## 1. The metrics, short · 指标速览
#
# | metric | what it measures | formula | failure modes |
# |---|---|---|---|
# | **FID** (Fréchet Inception Distance, Heusel et al. 2017) | distance between Gaussians fitted to real and generated *features* | $\lVert\mu_r-\mu_g\rVert^2 + \operatorname{Tr}\big(\Sigma_r+\Sigma_g-2(\Sigma_r\Sigma_g)^{1/2}\big)$ | biased upwards for small $N$ (compare only at equal $N$); Gaussian assumption; blind to what the feature extractor ignores; one number mixes fidelity and diversity |
# | **KID** (Kernel Inception Distance, Bińkowski et al. 2018) | unbiased MMD$^2$ between feature distributions, kernel $k(a,b)=(a\cdot b/d+1)^3$ | $\frac{1}{m(m-1)}\sum_{i\ne j}[k(x_i,x_j)+k(y_i,y_j)] - \frac{2}{m^2}\sum_{i,j}k(x_i,y_j)$ | noisy for small $m$ (average over subsets); can be slightly negative; kernel not scale-invariant |
# | **IS** (Inception Score, Salimans et al. 2016) | confident *and* varied class predictions | $\exp\big(\mathbb E_x \mathrm{KL}(p(y\mid x)\,\Vert\,p(y))\big)$, range $[1, C]$ | never looks at real data; one perfect image per class scores the maximum; blind to intra-class diversity and memorisation |
# | **precision / recall** (Kynkäänniemi et al. 2019) | fraction of fakes on the real manifold / of reals on the fake manifold; manifold = union of $k$-NN balls | precision $=\frac1M\sum_j 1[\exists i: \lVert y_j-x_i\rVert\le \mathrm{NND}_k(x_i)]$ | outliers inflate the balls; depends on $k$ and $N$ |
# | **density / coverage** (Naeem et al. 2020) | outlier-robust versions using only real balls | see `genlab.metrics.density_coverage` | coverage needs enough fakes to reach every real ball |
# | **PSNR** | pixel-wise fidelity to a reference | $10\log_{10}(L^2/\mathrm{MSE})$, $L$ = data range | same MSE ≠ same perceived quality; wrong $L$ (255 vs 1) shifts it by 48 dB |
# | **SSIM** (Wang et al. 2004) | local luminance, contrast and structure agreement | $\frac{(2\mu_x\mu_y+C_1)(2\sigma_{xy}+C_2)}{(\mu_x^2+\mu_y^2+C_1)(\sigma_x^2+\sigma_y^2+C_2)}$, $C_1=(0.01L)^2$, $C_2=(0.03L)^2$, Gaussian window $\sigma=1.5$ | window, constants and covariance normalisation change the number; not a distribution metric |
# | **perplexity / bpc** | likelihood of held-out text | $\exp(\text{mean NLL in nats})$; bpc $=$ NLL per character $/\ln 2$ | depends on the tokeniser (compare bpc across tokenisers, not perplexity) |
#
# **Features.** FID, KID, IS and precision/recall are computed on features of a pretrained network (Inception-v3 on ImageNet photos). On the 8x8 digits we use the
# course's shipped digits classifier instead (`datasets/digits_classifier.md`): **numbers in this chapter are comparable with each other only, never with FIDs in papers.**
# Strictly we compute an "FID-style Fréchet distance" (FD).

# %% only=torch
import math
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from scipy.ndimage import gaussian_filter

import genlab
import genlab.metrics as gm
from genlab import pick, report
from genlab.data import load_digits
from genlab.torch import device, to_tensor
from genlab.viz import image_grid

SEED = 0
QUICK = genlab.is_quick()  # GENLAB_QUICK=1: fewer repeats and levels (tests and grading)
DEVICE = device()          # CUDA when present, else CPU (the exercises run on whatever device their inputs live on)
FLOAT64 = torch.float64    # the checks and experiments call your metrics in double precision
if DEVICE.type == "cpu":
    torch.set_num_threads(1)  # small matrices: one thread beats two
genlab.seed_everything(SEED)
print(f"PyTorch {torch.__version__} on {DEVICE}; QUICK={QUICK}")

# %% only=tf
import math
import time

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from scipy.ndimage import gaussian_filter

import genlab
import genlab.metrics as gm
from genlab import pick, report
from genlab.data import load_digits
from genlab.tf import device, to_tensor
from genlab.viz import image_grid

SEED = 0
QUICK = genlab.is_quick()  # GENLAB_QUICK=1: fewer repeats and levels (tests and grading)
DEVICE = device()          # '/GPU:0' when TensorFlow sees a GPU, else '/CPU:0'
FLOAT64 = tf.float64       # the checks and experiments call your metrics in double precision
genlab.seed_everything(SEED)
print(f"TensorFlow {tf.__version__} (Keras {keras.__version__}) on {DEVICE}; QUICK={QUICK}")

# %% [markdown]
# ## 2. Exercises: the metrics from scratch · 练习：从零实现评估指标
#
# Every function takes {{framework}} tensors (float32 or float64; the tests pass float64) and returns a {{framework}} scalar (or a pair of scalars),
# using {{framework}} ops only. The hidden tests compare with `genlab.metrics`, SciPy and scikit-image.
#
# **What you may use.** Any {{framework}} operation (a matrix square root or eigen-decomposition, `cdist`, a convolution...). Code that already implements
# an exercise is not yours: while this chapter is graded, the course's `genlab.metrics` versions of these six metrics, `skimage.metrics` and `torchmetrics`
# are not available to the notebook (calling them raises an error that says so), and the rest of this notebook runs on **your** implementations.
#
# ### Exercise 1 · `frechet_distance` (3 points)
# Fit a Gaussian to each feature set, mean and **unbiased covariance** ($\frac{1}{N-1}\sum_i (x_i-\mu)(x_i-\mu)^\top$, `ddof=1`, as pytorch-fid, torchmetrics and
# `genlab.metrics` do), and return $d^2 = \lVert\mu_a-\mu_b\rVert^2 + \operatorname{Tr}\Sigma_a + \operatorname{Tr}\Sigma_b - 2\operatorname{Tr}\big((\Sigma_a\Sigma_b)^{1/2}\big)$.
#
# The matrix square root is the trap. $\Sigma_a\Sigma_b$ is not symmetric; `scipy.linalg.sqrtm` of it returns complex round-off and fails when the covariances are singular
# (fewer samples than dimensions). Use instead that $\Sigma_a\Sigma_b$ has the same eigenvalues as the symmetric PSD matrix $M = \Sigma_a^{1/2}\Sigma_b\Sigma_a^{1/2}$,
# so $\operatorname{Tr}(\Sigma_a\Sigma_b)^{1/2} = \sum_i\sqrt{\lambda_i(M)}$, with `eigh`/`eigvalsh` (symmetric, real output). Round-off makes some eigenvalues of a singular
# matrix slightly negative: clip them at 0 before the square root, and clip the result at 0. Return a real scalar $\ge 0$, never NaN.

# %% solution id=eval_frechet_distance only=torch
def frechet_distance(feats_a, feats_b):
    """FID-style Frechet distance between feature sets (N, D) and (M, D): a real scalar tensor >= 0."""
    ### BEGIN SOLUTION
    def stats(x):
        mu = torch.mean(x, dim=0)
        xc = x - mu
        return mu, xc.T @ xc / (x.shape[0] - 1)

    def psd_sqrt(s):
        w, v = torch.linalg.eigh(s)
        return (v * torch.sqrt(torch.clamp(w, min=0.0))) @ v.T

    mu1, s1 = stats(feats_a)
    mu2, s2 = stats(feats_b)
    r = psd_sqrt(s1)
    m = r @ s2 @ r
    m = 0.5 * (m + m.T)
    tr_sqrt = torch.sum(torch.sqrt(torch.clamp(torch.linalg.eigvalsh(m), min=0.0)))
    d2 = torch.sum((mu1 - mu2) ** 2) + torch.trace(s1) + torch.trace(s2) - 2.0 * tr_sqrt
    return torch.clamp(d2, min=0.0)
    ### END SOLUTION

# %% solution id=eval_frechet_distance only=tf
def frechet_distance(feats_a, feats_b):
    """FID-style Frechet distance between feature sets (N, D) and (M, D): a real scalar tensor >= 0."""
    ### BEGIN SOLUTION
    def stats(x):
        mu = tf.reduce_mean(x, axis=0)
        xc = x - mu
        return mu, tf.matmul(xc, xc, transpose_a=True) / (x.shape[0] - 1)

    def psd_sqrt(s):
        w, v = tf.linalg.eigh(s)
        return tf.matmul(v * tf.sqrt(tf.maximum(w, 0.0)), v, transpose_b=True)

    mu1, s1 = stats(feats_a)
    mu2, s2 = stats(feats_b)
    r = psd_sqrt(s1)
    m = r @ s2 @ r
    m = 0.5 * (m + tf.transpose(m))
    tr_sqrt = tf.reduce_sum(tf.sqrt(tf.maximum(tf.linalg.eigvalsh(m), 0.0)))
    d2 = tf.reduce_sum((mu1 - mu2) ** 2) + tf.linalg.trace(s1) + tf.linalg.trace(s2) - 2.0 * tr_sqrt
    return tf.maximum(d2, 0.0)
    ### END SOLUTION

# %% test id=eval_frechet_distance_test points=3
"""frechet_distance: unbiased covariances (ddof=1), a safe symmetric square root, real and >= 0.

Catches: the biased covariance (ddof=0), or N - 1 of the first set for both; a missing factor 2 on the cross term; sqrt(Tr(S_a S_b))
or an elementwise sqrt instead of Tr((S_a S_b)^{1/2}); the mean term forgotten; eigenvalues not
clipped (NaN for rank-deficient covariances, N < D); a complex or negative result.
"""
import numpy as np
from genlab.testing import as_array, assert_close
import genlab.fw as _fw
from genlab.fw import to_tensor as T

F64 = getattr(_fw, "torch", getattr(_fw, "tf", None)).float64  # the framework's float64 dtype: the tests run in double precision


def _fd_numpy(a, b):
    """NumPy, by another route: Tr (S_a S_b)^{1/2} is the sum of the singular values of A_c B_c^T / sqrt((N-1)(M-1))
    (A_c, B_c the centred feature sets), which needs no matrix square root at all."""
    ac, bc = a - a.mean(0), b - b.mean(0)
    tr_sqrt = np.linalg.svd(ac @ bc.T, compute_uv=False).sum() / np.sqrt((len(a) - 1) * (len(b) - 1))
    tr = (ac ** 2).sum() / (len(a) - 1) + (bc ** 2).sum() / (len(b) - 1)
    return max(np.sum((a.mean(0) - b.mean(0)) ** 2) + tr - 2.0 * tr_sqrt, 0.0)


def _your_fd(a, b, what):
    """Your frechet_distance of NumPy feature sets (as float64 tensors), fetched; a failure names its likely cause."""
    clip = ("likely cause: the square root of slightly negative eigenvalues (round-off on singular covariances, "
            "N < D), which is NaN; clip eigenvalues at 0 before every square root, and the result at 0")
    try:
        value = as_array(frechet_distance(T(a, F64), T(b, F64)), what)
    except Exception as err:  # the real exception in a notebook, a StudentCodeError (etype = its name) under the grader
        kind, text = getattr(err, "etype", type(err).__name__), str(err).split("}}")[-1].strip()
        if "LinAlgError" in kind or any(w in text for w in ("converge", "decomposition was not successful")):
            raise AssertionError(f"{what}: an eigen-decomposition failed ({kind}), probably on a matrix holding NaN; "
                                 f"{clip} [{text[:80]}]") from None
        raise
    if not np.all(np.isfinite(value)):
        raise AssertionError(f"{what}: got {value} (NaN or infinite); {clip}")
    return value


square = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]])
assert_close(frechet_distance(T(square, F64), T(square + [1.0, 0.0], F64)), 1.0, "FD after a shift by (1, 0)")
# b = 2a: ||mu diff||^2 = 2, Tr S_a = 8/3 (ddof=1), Tr S_b = 4 Tr S_a, Tr (S_a S_b)^{1/2} = 2 Tr S_a
assert_close(frechet_distance(T(square, F64), T(2 * square, F64)), 2.0 + 8.0 / 3.0, "FD between a and 2a")
# correlated features (non-diagonal covariances), sets of different sizes; then N < D: singular covariances
rng_v = np.random.default_rng(90)
a = rng_v.normal(size=(20, 4)) @ rng_v.normal(size=(4, 4)); b = 0.7 * rng_v.normal(size=(30, 4)) @ rng_v.normal(size=(4, 4)) + 0.3
assert_close(_your_fd(a, b, "FD of correlated features (N=20, M=30, D=4)"), _fd_numpy(a, b), "FD of correlated features (N=20, M=30, D=4)", rtol=1e-6)
a = rng_v.normal(size=(5, 8)) @ rng_v.normal(size=(8, 8)); b = rng_v.normal(size=(7, 8)) @ rng_v.normal(size=(8, 8)) + 0.5
assert_close(_your_fd(a, b, "FD with N=5, M=7 < D=8"), _fd_numpy(a, b), "FD with N=5, M=7 < D=8 (singular covariances)", rtol=1e-6)
### BEGIN HIDDEN TESTS
import scipy.linalg
import genlab.metrics as _gm

rng = np.random.default_rng(2909)
a = rng.normal(size=(50, 8)) @ rng.normal(size=(8, 8))
b = 0.7 * rng.normal(size=(60, 8)) @ rng.normal(size=(8, 8)) + 0.3
mu1, mu2 = a.mean(0), b.mean(0)
s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
_oracle = float((mu1 - mu2) @ (mu1 - mu2) + np.trace(s1 + s2) - 2 * np.real(np.trace(scipy.linalg.sqrtm(s1 @ s2))))
got = frechet_distance(T(a, F64), T(b, F64))
assert_close(got, _oracle, "FD vs a scipy.linalg.sqrtm oracle", rtol=1e-3, atol=1e-4)
assert_close(got, _gm.frechet_distance(a, b), "FD vs genlab.metrics", rtol=1e-3, atol=1e-4)
# rank-deficient covariances (N < D): still real, finite and equal to the reference
for n, m in [(6, 9), (4, 4)]:
    a = rng.normal(size=(n, 16)); b = rng.normal(size=(m, 16)) + 0.5
    what = f"FD with N={n}, M={m} < D=16 (singular covariances)"
    assert_close(_your_fd(a, b, what), _gm.frechet_distance(a, b), what, rtol=1e-3, atol=1e-4)
# identical sets: ~0, never negative
a = rng.normal(size=(30, 12))
v = float(as_array(frechet_distance(T(a, F64), T(a.copy(), F64)), "FD of identical sets"))
assert 0.0 <= v <= 1e-3, f"FD of identical sets should be ~0 and >= 0, got {v}"
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 2 · `kid_unbiased` (2 points)
# The unbiased MMD$^2$ estimate between `x` and `y`, both `(m, d)` (equal sizes), with the cubic polynomial kernel $k(a, b) = (a\cdot b/d + 1)^3$:
# $\widehat{\mathrm{MMD}}^2_u = \frac{1}{m(m-1)}\sum_{i\ne j}\big[k(x_i,x_j)+k(y_i,y_j)\big] - \frac{2}{m^2}\sum_{i,j}k(x_i,y_j)$.
# The within-set sums **leave out the diagonal** $i = j$: that is what makes it unbiased (it may come out slightly negative; do not clip it). KID is the mean of this over random subsets.

# %% solution id=eval_kid_unbiased only=torch
def kid_unbiased(x, y):
    """Unbiased MMD^2 with k(a, b) = (a.b/d + 1)^3 between x and y of shape (m, d): a scalar tensor."""
    ### BEGIN SOLUTION
    m, d = x.shape
    kxx = (x @ x.T / d + 1.0) ** 3
    kyy = (y @ y.T / d + 1.0) ** 3
    kxy = (x @ y.T / d + 1.0) ** 3
    sum_xx = torch.sum(kxx) - torch.trace(kxx)
    sum_yy = torch.sum(kyy) - torch.trace(kyy)
    return (sum_xx + sum_yy) / (m * (m - 1)) - 2.0 * torch.sum(kxy) / (m * m)
    ### END SOLUTION

# %% solution id=eval_kid_unbiased only=tf
def kid_unbiased(x, y):
    """Unbiased MMD^2 with k(a, b) = (a.b/d + 1)^3 between x and y of shape (m, d): a scalar tensor."""
    ### BEGIN SOLUTION
    m, d = x.shape
    kxx = (tf.matmul(x, x, transpose_b=True) / d + 1.0) ** 3
    kyy = (tf.matmul(y, y, transpose_b=True) / d + 1.0) ** 3
    kxy = (tf.matmul(x, y, transpose_b=True) / d + 1.0) ** 3
    sum_xx = tf.reduce_sum(kxx) - tf.linalg.trace(kxx)
    sum_yy = tf.reduce_sum(kyy) - tf.linalg.trace(kyy)
    return (sum_xx + sum_yy) / (m * (m - 1)) - 2.0 * tf.reduce_sum(kxy) / (m * m)
    ### END SOLUTION

# %% test id=eval_kid_unbiased_test points=2
"""kid_unbiased: unbiased MMD^2 with the cubic kernel (a.b/d + 1)^3.

Catches: the biased estimator that keeps the diagonal k(x_i, x_i); the kernel without /d (or with
the wrong d, m and d swapped); the wrong power (2 instead of 3); a missing factor 2 on the cross term; a clipped
(non-negative) result.
"""
import numpy as np
from genlab.testing import assert_close
import genlab.fw as _fw
from genlab.fw import to_tensor as T

F64 = getattr(_fw, "torch", getattr(_fw, "tf", None)).float64  # the framework's float64 dtype: the tests run in double precision

x = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]); y = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 1.0]])
assert_close(kid_unbiased(T(x, F64), T(y, F64)), -89.0 / 36.0, "MMD^2_u of a tiny example")
# m = 6 samples of d = 4 features; NumPy oracle: the within-set sums without their diagonals
rng_v = np.random.default_rng(93)
x, y = rng_v.normal(size=(6, 4)), 0.8 * rng_v.normal(size=(6, 4)) + 0.3
kxx, kyy, kxy = (x @ x.T / 4 + 1) ** 3, (y @ y.T / 4 + 1) ** 3, (x @ y.T / 4 + 1) ** 3
want = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (6 * 5) - 2 * kxy.sum() / 36
assert_close(kid_unbiased(T(x, F64), T(y, F64)), want, "MMD^2_u with m=6, d=4")
### BEGIN HIDDEN TESTS
import genlab.metrics as _gm

rng = np.random.default_rng(919)
for m, d in [(20, 5), (40, 64)]:
    x = rng.normal(size=(m, d)); y = 0.8 * rng.normal(size=(m, d)) + 0.2
    assert_close(kid_unbiased(T(x, F64), T(y, F64)), _gm.mmd2_unbiased(x, y), f"MMD^2_u with m={m}, d={d}", rtol=1e-4, atol=1e-5)
# two samples of one distribution: the unbiased estimate averages to ~0 (the biased one is clearly > 0)
vals = [float(kid_unbiased(T(rng.normal(size=(10, 3)), F64), T(rng.normal(size=(10, 3)), F64))) for _ in range(200)]
assert abs(np.mean(vals)) < 0.1, f"mean MMD^2_u over equal distributions should be ~0, got {np.mean(vals):.3f}"
assert min(vals) < 0, "an unbiased MMD^2 estimate must be allowed to go negative"
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 3 · `inception_score` (2 points)
# `probs` is `(N, C)`, each row $p(y\mid x_i)$. Compute the marginal $p(y) = \frac1N\sum_i p(y\mid x_i)$ (a mean **over the samples**), then
# $\mathrm{IS} = \exp\big(\frac1N\sum_i \mathrm{KL}(p(y\mid x_i)\,\Vert\,p(y))\big)$ — the exp of the mean, not the mean of the exps — with $0\log 0 = 0$: real classifiers output exact zeros
# (hint: `xlogy`). One split (the original code averages over 10 splits; `genlab.metrics.inception_score(probs, splits=...)`).

# %% solution id=eval_inception_score only=torch
def inception_score(probs):
    """exp(mean_i KL(p(y|x_i) || p(y))) for probs (N, C): a scalar tensor in [1, C], finite with exact zeros."""
    ### BEGIN SOLUTION
    p_y = torch.mean(probs, dim=0, keepdim=True)
    kl = torch.sum(torch.xlogy(probs, probs) - torch.xlogy(probs, p_y), dim=1)
    return torch.exp(torch.mean(kl))
    ### END SOLUTION

# %% solution id=eval_inception_score only=tf
def inception_score(probs):
    """exp(mean_i KL(p(y|x_i) || p(y))) for probs (N, C): a scalar tensor in [1, C], finite with exact zeros."""
    ### BEGIN SOLUTION
    p_y = tf.reduce_mean(probs, axis=0, keepdims=True)
    kl = tf.reduce_sum(tf.math.xlogy(probs, probs) - tf.math.xlogy(probs, p_y), axis=1)
    return tf.exp(tf.reduce_mean(kl))
    ### END SOLUTION

# %% test id=eval_inception_score_test points=2
"""inception_score: exp of the mean KL to the marginal over samples, finite with exact zeros.

Catches: log(0) -> NaN on exact zeros (p log p without the 0 log 0 = 0 rule); the mean of exp(KL)
instead of exp of the mean; the marginal over classes instead of over samples; the KL reversed;
the exp forgotten.
"""
import numpy as np
from genlab.testing import assert_close
import genlab.fw as _fw
from genlab.fw import to_tensor as T

F64 = getattr(_fw, "torch", getattr(_fw, "tf", None)).float64  # the framework's float64 dtype: the tests run in double precision

assert_close(inception_score(T(np.eye(3), F64)), 3.0, "IS of three confident, different predictions")
assert_close(inception_score(T(np.full((4, 5), 0.2), F64)), 1.0, "IS of uniform predictions")
# 5 samples, 4 classes, unequal KLs and exact zeros; scipy.stats.entropy(p, q) is KL(p || q) with 0 log 0 = 0
from scipy.stats import entropy

p = np.array([[0.7, 0.3, 0.0, 0.0], [0.1, 0.1, 0.8, 0.0], [0.0, 0.5, 0.25, 0.25], [0.6, 0.0, 0.1, 0.3], [0.25, 0.25, 0.25, 0.25]])
assert_close(inception_score(T(p, F64)), np.exp(np.mean([entropy(row, p.mean(0)) for row in p])), "IS of 5 predictions with exact zeros")
### BEGIN HIDDEN TESTS
import genlab.metrics as _gm

rng = np.random.default_rng(33)
p = rng.dirichlet(np.full(10, 0.3), size=50)
_oracle = np.exp(np.mean([entropy(row, p.mean(0)) for row in p]))
assert_close(inception_score(T(p, F64)), _oracle, "IS vs scipy.stats.entropy", rtol=1e-4)
# exact zeros, as a confident classifier outputs
p = rng.dirichlet(np.ones(6), size=40); p[p < 0.15] = 0.0; p /= p.sum(1, keepdims=True)
assert (p == 0).any()
assert_close(inception_score(T(p, F64)), _gm.inception_score(p)[0], "IS with exact zeros", rtol=1e-4)
p = np.zeros((8, 4)); p[np.arange(8), [0, 0, 1, 1, 2, 2, 3, 0]] = 1.0
assert_close(inception_score(T(p, F64)), _gm.inception_score(p)[0], "IS of one-hot predictions", rtol=1e-4)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 4 · `knn_precision_recall` (3 points)
# Kynkäänniemi et al. (2019). Each real sample gets a ball whose radius is the distance to its **k-th nearest other** real sample (the point itself, at distance 0, is
# not its own neighbour). **Precision** = fraction of fake samples inside at least one real ball; **recall** = fraction of real samples inside at least one fake ball
# (balls around fakes, radii from the fake set). Balls are closed: "inside" means distance $\le$ radius (as `genlab.metrics.precision_recall`; the `prdc` package
# uses $<$, which differs only on exact ties). Use Euclidean distances computed from differences, so duplicates are at distance exactly 0. Return `(precision, recall)`.

# %% solution id=eval_knn_precision_recall only=torch
def knn_precision_recall(real, fake, k=3):
    """(precision, recall) of fake (M, D) against real (N, D) with k-NN balls: two scalar tensors in [0, 1]."""
    ### BEGIN SOLUTION
    def sq_dists(a, b):
        return torch.sum((a[:, None, :] - b[None, :, :]) ** 2, dim=-1)

    def radii(x):  # column 0 of the sorted distances is the point itself
        return torch.sort(sq_dists(x, x), dim=1).values[:, k]

    r_real, r_fake = radii(real), radii(fake)
    precision = torch.mean(torch.any(sq_dists(fake, real) <= r_real[None, :], dim=1).to(real.dtype))
    recall = torch.mean(torch.any(sq_dists(real, fake) <= r_fake[None, :], dim=1).to(real.dtype))
    return precision, recall
    ### END SOLUTION

# %% solution id=eval_knn_precision_recall only=tf
def knn_precision_recall(real, fake, k=3):
    """(precision, recall) of fake (M, D) against real (N, D) with k-NN balls: two scalar tensors in [0, 1]."""
    ### BEGIN SOLUTION
    def sq_dists(a, b):
        return tf.reduce_sum(tf.square(a[:, None, :] - b[None, :, :]), axis=-1)  # tf.square: TF's general `** 2` is ~15x slower

    def radii(x):  # column 0 of the sorted distances is the point itself
        return tf.sort(sq_dists(x, x), axis=1)[:, k]

    r_real, r_fake = radii(real), radii(fake)
    precision = tf.reduce_mean(tf.cast(tf.reduce_any(sq_dists(fake, real) <= r_real[None, :], axis=1), real.dtype))
    recall = tf.reduce_mean(tf.cast(tf.reduce_any(sq_dists(real, fake) <= r_fake[None, :], axis=1), real.dtype))
    return precision, recall
    ### END SOLUTION

# %% test id=eval_knn_precision_recall_test points=3
"""knn_precision_recall: k-th nearest OTHER point as radius, closed balls, (precision, recall).

Catches: the point counted as its own nearest neighbour (radius 0 for k=1); the (k+1)-th
neighbour; strict < instead of <= (a fake exactly on a ball's boundary); precision and recall
swapped; balls of the wrong set (fake radii used for precision, real radii for recall).
"""
import numpy as np
from genlab.testing import assert_close
import genlab.fw as _fw
from genlab.fw import to_tensor as T

F64 = getattr(_fw, "torch", getattr(_fw, "tf", None)).float64  # the framework's float64 dtype: the tests run in double precision

real = np.array([[0.0, 0.0], [2.0, 0.0], [10.0, 0.0], [12.0, 0.0]])
fake = np.array([[4.0, 0.0], [6.0, 0.0], [11.0, 0.0], [30.0, 0.0]])
prec, rec = knn_precision_recall(T(real, F64), T(fake, F64), k=1)
assert_close(prec, 0.5, "precision (k=1; the fake (4, 0) lies exactly on the ball of (2, 0))")
assert_close(rec, 0.75, "recall (k=1)")


def _pr_numpy(real, fake, k):
    """NumPy: radii are the k-th column of each row's sorted distances within a set (column 0: the point itself)."""
    d = np.linalg.norm(real[:, None, :] - fake[None, :, :], axis=-1)                            # (N, M)
    r_real = np.sort(np.linalg.norm(real[:, None, :] - real[None, :, :], axis=-1), axis=1)[:, k]  # (N,)
    r_fake = np.sort(np.linalg.norm(fake[:, None, :] - fake[None, :, :], axis=-1), axis=1)[:, k]  # (M,)
    return np.mean(np.any(d <= r_real[:, None], axis=0)), np.mean(np.any(d <= r_fake[None, :], axis=1))


# 9 real and 7 fake points in 3-D, k = 2
rng_v = np.random.default_rng(92)
real, fake = rng_v.normal(size=(9, 3)), 1.5 * rng_v.normal(size=(7, 3)) + 0.5
prec, rec = knn_precision_recall(T(real, F64), T(fake, F64), k=2)
p_want, r_want = _pr_numpy(real, fake, 2)
assert_close(prec, p_want, "precision (9 real, 7 fake, k=2)"); assert_close(rec, r_want, "recall (9 real, 7 fake, k=2)")
### BEGIN HIDDEN TESTS
import genlab.metrics as _gm

rng = np.random.default_rng(4)
for k in (1, 3, 5):
    real = rng.normal(size=(60, 4)); fake = 1.3 * rng.normal(size=(45, 4)) + 0.4
    p_want, r_want = _gm.precision_recall(real, fake, k=k)
    prec, rec = knn_precision_recall(T(real, F64), T(fake, F64), k=k)
    assert_close(prec, p_want, f"precision (k={k})"); assert_close(rec, r_want, f"recall (k={k})")
# a collapsed generator: all fakes near one real mode -> high precision, low recall
real = np.concatenate([rng.normal(size=(30, 2)) + [8.0, 0.0], rng.normal(size=(30, 2)) - [8.0, 0.0]])
fake = 0.5 * rng.normal(size=(30, 2)) + [8.0, 0.0]
p_want, r_want = _gm.precision_recall(real, fake, k=3)
prec, rec = knn_precision_recall(T(real, F64), T(fake, F64), k=3)
assert_close(prec, p_want, "precision of a mode-collapsed generator"); assert_close(rec, r_want, "recall of a mode-collapsed generator")
assert float(prec) > float(rec)
# distinct points on an integer grid: many exact ties with the radii (closed balls count them inside)
grid = np.random.default_rng(31)
real, fake = grid.integers(0, 6, (12, 2)).astype(float), grid.integers(1, 8, (10, 2)).astype(float)
p_want, r_want = _gm.precision_recall(real, fake, k=2)
prec, rec = knn_precision_recall(T(real, F64), T(fake, F64), k=2)
assert_close(prec, p_want, "precision with exact ties (k=2)"); assert_close(rec, r_want, "recall with exact ties (k=2)")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 5 · `psnr` (1 point)
# $\mathrm{PSNR} = 10\log_{10}\big(L^2/\mathrm{MSE}(a, b)\big)$ in dB, with $L$ = `data_range` (1.0 for images in $[0, 1]$, 255 for `uint8`; never guess it from the data).
# Here the MSE is **global**: one mean over all elements of the batch (what `skimage.metrics.peak_signal_noise_ratio` returns for an array). The mean of per-image PSNRs
# is a different number (`genlab.metrics.psnr(..., axis=(1, 2))`): always say which one a table reports.

# %% solution id=eval_psnr only=torch
def psnr(a, b, data_range):
    """PSNR in dB of a against b (same shape), global MSE over all elements: a scalar tensor."""
    ### BEGIN SOLUTION
    mse = torch.mean((a - b) ** 2)
    return 10.0 * torch.log10(data_range ** 2 / mse)
    ### END SOLUTION

# %% solution id=eval_psnr only=tf
def psnr(a, b, data_range):
    """PSNR in dB of a against b (same shape), global MSE over all elements: a scalar tensor."""
    ### BEGIN SOLUTION
    mse = tf.reduce_mean((a - b) ** 2)
    return 10.0 * tf.math.log(data_range ** 2 / mse) / tf.math.log(tf.constant(10.0, mse.dtype))
    ### END SOLUTION

# %% test id=eval_psnr_test points=1
"""psnr: 10 log10(data_range^2 / MSE) with one global MSE.

Catches: a hard-coded data range (255 or 1); the natural log instead of log10; data_range not
squared; the mean of per-image PSNRs instead of the global one.
"""
import numpy as np
from genlab.testing import assert_close
import genlab.fw as _fw
from genlab.fw import to_tensor as T

F64 = getattr(_fw, "torch", getattr(_fw, "tf", None)).float64  # the framework's float64 dtype: the tests run in double precision

a = np.zeros((1, 2, 2)); b = np.full((1, 2, 2), 0.1)
assert_close(psnr(T(a, F64), T(b, F64), 1.0), 20.0, "PSNR with MSE 0.01 and data range 1")
# a batch of 3 images (3 x 5) with different errors, data range 2: one global MSE over all 45 values
a = np.linspace(0.0, 2.0, 45).reshape(3, 3, 5); b = a + np.array([0.02, 0.1, -0.3])[:, None, None]
assert_close(psnr(T(a, F64), T(b, F64), 2.0), 10 * np.log10(2.0 ** 2 / np.mean((a - b) ** 2)), "PSNR of a batch of 3, data range 2")
### BEGIN HIDDEN TESTS
from skimage.metrics import peak_signal_noise_ratio

rng = np.random.default_rng(5)
a = rng.uniform(0, 255, size=(3, 15, 17)); b = np.clip(a + rng.normal(size=a.shape) * np.array([2.0, 10.0, 30.0])[:, None, None], 0, 255)
assert_close(psnr(T(a, F64), T(b, F64), 255.0), peak_signal_noise_ratio(a, b, data_range=255.0), "PSNR, range 255, batch of 3", rtol=1e-5)
a, b = a / 255.0, b / 255.0
assert_close(psnr(T(a, F64), T(b, F64), 1.0), peak_signal_noise_ratio(a, b, data_range=1.0), "PSNR, range 1, batch of 3", rtol=1e-5)
assert_close(psnr(T(a, F64), T(b, F64), 2.0), peak_signal_noise_ratio(a, b, data_range=2.0), "PSNR, range 2", rtol=1e-5)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 6 · `ssim` (3 points)
# Mean SSIM (formula in Section 1) of images `a`, `b` of shape `(..., H, W)` (any leading batch axes), as `genlab.metrics.ssim` and
# `skimage.metrics.structural_similarity(gaussian_weights=True, sigma=sigma, use_sample_covariance=False, data_range=...)` compute it:
#
# - local means, variances and covariance with a **Gaussian window** of std `sigma`, weights $\propto e^{-t^2/2\sigma^2}$ for $t = -r..r$, $r = \lfloor 3.5\sigma + 0.5\rfloor$ (11x11 for $\sigma = 1.5$), normalised to sum 1, applied separably (rows and columns);
# - **population** statistics: $\sigma_x^2 = \overline{x^2} - \mu_x^2$ (weighted), no $N/(N-1)$ factor;
# - $C_1 = (0.01L)^2$, $C_2 = (0.03L)^2$ with $L$ = `data_range`;
# - the SSIM map is averaged only where the window fits inside the image (a "valid" convolution: the $r$-pixel border is dropped, as skimage crops it).
#
# For the 8x8 digits use `sigma=0.5` (a 5x5 window): the default 11x11 window does not fit.

# %% solution id=eval_ssim only=torch
def ssim(a, b, data_range, sigma=1.5):
    """Mean SSIM of a and b (..., H, W) with a Gaussian window (std sigma, radius int(3.5 sigma + 0.5)): a scalar tensor."""
    ### BEGIN SOLUTION
    r = int(3.5 * sigma + 0.5)
    t = torch.arange(-r, r + 1, dtype=a.dtype, device=a.device)
    g = torch.exp(-t ** 2 / (2.0 * sigma ** 2))
    g = g / torch.sum(g)
    win = (g[:, None] * g[None, :])[None, None]  # (1, 1, 2r+1, 2r+1)

    def filt(z):
        return torch.nn.functional.conv2d(z.reshape(-1, 1, z.shape[-2], z.shape[-1]), win)  # 'valid'

    ux, uy = filt(a), filt(b)
    vx = filt(a * a) - ux ** 2
    vy = filt(b * b) - uy ** 2
    vxy = filt(a * b) - ux * uy
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    s = (2 * ux * uy + c1) * (2 * vxy + c2) / ((ux ** 2 + uy ** 2 + c1) * (vx + vy + c2))
    return torch.mean(s)
    ### END SOLUTION

# %% solution id=eval_ssim only=tf
def ssim(a, b, data_range, sigma=1.5):
    """Mean SSIM of a and b (..., H, W) with a Gaussian window (std sigma, radius int(3.5 sigma + 0.5)): a scalar tensor."""
    ### BEGIN SOLUTION
    r = int(3.5 * sigma + 0.5)
    t = tf.cast(tf.range(-r, r + 1), a.dtype)
    g = tf.exp(-t ** 2 / (2.0 * sigma ** 2))
    g = g / tf.reduce_sum(g)
    win = (g[:, None] * g[None, :])[:, :, None, None]  # (2r+1, 2r+1, 1, 1)

    def filt(z):
        return tf.nn.conv2d(tf.reshape(z, [-1, z.shape[-2], z.shape[-1], 1]), win, strides=1, padding="VALID")

    ux, uy = filt(a), filt(b)
    vx = filt(a * a) - ux ** 2
    vy = filt(b * b) - uy ** 2
    vxy = filt(a * b) - ux * uy
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    s = (2 * ux * uy + c1) * (2 * vxy + c2) / ((ux ** 2 + uy ** 2 + c1) * (vx + vy + c2))
    return tf.reduce_mean(s)
    ### END SOLUTION

# %% test id=eval_ssim_test points=3
"""ssim: Gaussian window (sigma, radius int(3.5 sigma + 0.5)), C1 = (0.01 L)^2, C2 = (0.03 L)^2,
population statistics, border of r pixels excluded.

Catches: a uniform window; sigma ignored or used as the variance; the wrong window radius; height
and width confused in the filter; constants without the data range or with k1 and k2 swapped; sample (N/(N-1)) instead of population covariance; zero padding
('same' convolution) instead of the cropped valid region.
"""
import numpy as np
from genlab.testing import assert_close
import genlab.fw as _fw
from genlab.fw import to_tensor as T

F64 = getattr(_fw, "torch", getattr(_fw, "tf", None)).float64  # the framework's float64 dtype: the tests run in double precision

x = np.zeros((8, 8)); x[2:6, 3:5] = 1.0
assert_close(ssim(T(x, F64), T(x, F64), 1.0, sigma=0.5), 1.0, "SSIM of an image with itself")
assert_close(ssim(T(np.full((8, 8), 0.2), F64), T(np.full((8, 8), 0.6), F64), 1.0, sigma=0.5),
             (0.24 + 1e-4) / (0.40 + 1e-4), "SSIM of two flat images (luminance term only)")
from scipy.ndimage import gaussian_filter as _gf


def _ssim_numpy(a, b, data_range, sigma):
    """NumPy/SciPy: scipy's Gaussian filter (radius int(3.5 sigma + 0.5) for truncate=3.5) on H and W, then the
    r-pixel border cropped (there the window does not fit), population statistics."""
    r = int(3.5 * sigma + 0.5)
    f = lambda z: _gf(z, (0,) * (z.ndim - 2) + (sigma, sigma), truncate=3.5)[..., r:-r, r:-r]
    ux, uy = f(a), f(b)
    vx, vy, vxy = f(a * a) - ux ** 2, f(b * b) - uy ** 2, f(a * b) - ux * uy
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    return np.mean((2 * ux * uy + c1) * (2 * vxy + c2) / ((ux ** 2 + uy ** 2 + c1) * (vx + vy + c2)))


# a batch of two 13 x 10 images in [0, 2] (data range 2), sigma 0.7 (a 5 x 5 window)
rng_v = np.random.default_rng(91)
a = 2 * _gf(rng_v.uniform(size=(2, 13, 10)), (0, 1.0, 1.0)); b = np.clip(a + 0.15 * rng_v.normal(size=a.shape), 0, 2)
assert_close(ssim(T(a, F64), T(b, F64), 2.0, sigma=0.7), _ssim_numpy(a, b, 2.0, 0.7), "SSIM of two 13 x 10 images, sigma 0.7, range 2")
### BEGIN HIDDEN TESTS
import genlab.metrics as _gm
from skimage.metrics import structural_similarity

rng = np.random.default_rng(6)
a = _gf(rng.uniform(size=(40, 36)), 2.0); a = (a - a.min()) / (a.max() - a.min())
b = np.clip(a + 0.08 * rng.normal(size=a.shape), 0, 1)
want = structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0)
assert_close(ssim(T(a, F64), T(b, F64), 1.0), want, "SSIM vs skimage (sigma 1.5, range 1)", atol=1e-5, rtol=1e-4)
a255, b255 = 255 * a, 255 * _gf(b, 1.0)
want = structural_similarity(a255, b255, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255.0)
assert_close(ssim(T(a255, F64), T(b255, F64), 255.0), want, "SSIM vs skimage (range 255)", atol=1e-5, rtol=1e-4)
# a batch of 9 x 7 images with sigma 0.5 (the digits' 5 x 5 window)
a = rng.uniform(size=(5, 9, 7)); b = np.clip(a + 0.2 * rng.normal(size=a.shape), 0, 1)
assert_close(ssim(T(a, F64), T(b, F64), 1.0, sigma=0.5), _gm.ssim(a, b, 1.0, sigma=0.5), "SSIM of a batch, sigma 0.5", atol=1e-5, rtol=1e-4)
### END HIDDEN TESTS

# %% [markdown]
# ### Check: your implementations on real digit features · 用真实特征检查你的实现
# The experiments below run on **your** metrics, through the NumPy-in, float-out wrappers defined here. The reference values were computed once with the course's
# NumPy implementations (`genlab.metrics`, checked against torchmetrics, scikit-image and SciPy; `tests/test_evaluation_reference_values.py` keeps them in step),
# so this cell tells you at once whether yours agree on real data.

# %%
train, test = load_digits("train"), load_digits("test")
x_train, y_train, x_test, y_test = train.x, train.y, test.x, test.y  # (1500, 8, 8), (297, 8, 8) in [0, 1]
f_train, f_test = gm.digits_features(x_train), gm.digits_features(x_test)  # (N, 64) float32
p_test = gm.digits_probs(x_test)
print("features", f_train.shape, f_test.shape)

def T64(a):
    return to_tensor(np.asarray(a, dtype=np.float64), dtype=FLOAT64)

def fd(a, b):
    return float(frechet_distance(T64(a), T64(b)))

def mmd2(a, b):
    return float(kid_unbiased(T64(a), T64(b)))

def kid_subsets(real, fake, subsets, subset_size, seed=SEED):
    """KID as reported: mean and std of the unbiased MMD^2 over random subsets of both sets."""
    rng = np.random.default_rng(seed)
    vals = [mmd2(real[rng.choice(len(real), subset_size, replace=False)], fake[rng.choice(len(fake), subset_size, replace=False)])
            for _ in range(subsets)]
    return float(np.mean(vals)), float(np.std(vals))

def is_score(probs):
    return float(inception_score(T64(probs)))

def prec_rec(real, fake, k=3):
    p, r = knn_precision_recall(T64(real), T64(fake), k=k)
    return float(p), float(r)

def psnr_db(a, b, data_range=1.0):
    return float(psnr(T64(a), T64(b), data_range))

def ssim_mean(a, b, data_range=1.0, sigma=1.5):
    return float(ssim(T64(a), T64(b), data_range, sigma=sigma))

# Reference values (genlab.metrics, float64) on these exact inputs.
noisy_test = np.clip(x_test + 0.1, 0, 1)
checks = {
    "FD": (fd(f_train, f_test), 0.3777597769),
    "KID (one subset of 297)": (mmd2(f_train[:297], f_test), 0.0494797848),
    "IS": (is_score(p_test), 9.4213564327),
    "precision": (prec_rec(f_train[:400], f_test)[0], 0.7979797980),
    "PSNR": (psnr_db(x_test, noisy_test), 20.5283693847),
    "SSIM": (ssim_mean(x_test, noisy_test, sigma=0.5), 0.9163031718),
}
for name, (mine, ref) in checks.items():
    print(f"{name:>24}: yours {mine:10.5f}   reference {ref:10.5f}")
    assert abs(mine - ref) <= 1e-4 * max(1.0, abs(ref)), name

# %% [markdown]
# ## 3. The floor: real digits against real digits · 基线：真实数据对真实数据
#
# Before judging a model, measure what "as good as real data" looks like with the **same** extractor and sample sizes. Here: 297 random training digits against the
# 297 test digits, repeated over a few random subsets.

# %%
rng = np.random.default_rng(SEED)
REPEATS = pick(10, 3)
floor_fd, floor_kid = [], []
for _ in range(REPEATS):
    idx = rng.choice(len(f_train), len(f_test), replace=False)
    floor_fd.append(fd(f_train[idx], f_test))
    floor_kid.append(mmd2(f_train[idx], f_test))
print(f"real vs real (297 vs 297): FD {np.mean(floor_fd):.3f} +- {np.std(floor_fd):.3f}, KID {np.mean(floor_kid):.4f} +- {np.std(floor_kid):.4f}")
print(f"train (1500) vs test (297): FD {fd(f_train, f_test):.3f} (datasheet: 0.378)")
report("evaluation/floor_fd_297", np.mean(floor_fd))
report("evaluation/floor_kid_297", np.mean(floor_kid))
report("evaluation/floor_fd_1500_vs_297", fd(f_train, f_test))

# %% [markdown]
# ## 4. FD and KID against the sample size · 样本量的影响
#
# Two disjoint halves of the training digits (750 each) come from the same distribution, so the true distance is 0. The FD estimate is **biased**: it is large for small $N$
# and falls as $N$ grows (the covariance estimate's noise adds to the trace terms). KID's estimate is unbiased: it scatters around 0 at every $N$, with an error bar that shrinks.
# Consequence: FIDs computed with different $N$ (e.g. 5k vs 50k samples) cannot be compared.

# %%
perm = np.random.default_rng(SEED + 1).permutation(len(f_train))
half_a, half_b = f_train[perm[:750]], f_train[perm[750:]]
SIZES = pick([50, 100, 200, 400, 750], [50, 100, 200, 750])
fd_n, kid_n = {}, {}
rng = np.random.default_rng(SEED + 2)
for n in SIZES:
    fds, kids = [], []
    for _ in range(REPEATS if n < 750 else 1):
        ia, ib = rng.choice(750, n, replace=False), rng.choice(750, n, replace=False)
        fds.append(fd(half_a[ia], half_b[ib]))
        kids.append(mmd2(half_a[ia], half_b[ib]))
    fd_n[n], kid_n[n] = (np.mean(fds), np.std(fds)), (np.mean(kids), np.std(kids))
    print(f"N={n:4d}: FD {fd_n[n][0]:7.3f} +- {fd_n[n][1]:.3f}   KID {kid_n[n][0]:8.4f} +- {kid_n[n][1]:.4f}")
fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
axes[0].errorbar(SIZES, [fd_n[n][0] for n in SIZES], [fd_n[n][1] for n in SIZES], marker="o", capsize=3)
axes[0].set_title("FD, real vs real"); axes[0].set_xscale("log"); axes[0].set_xlabel("N per set")
axes[1].errorbar(SIZES, [kid_n[n][0] for n in SIZES], [kid_n[n][1] for n in SIZES], marker="o", capsize=3)
axes[1].axhline(0, color="k", lw=0.8); axes[1].set_title("KID (unbiased MMD²), real vs real"); axes[1].set_xscale("log"); axes[1].set_xlabel("N per set")
fig.tight_layout()
report(f"evaluation/fd_real_vs_real_n{SIZES[0]}", fd_n[SIZES[0]][0])
report(f"evaluation/fd_real_vs_real_n{SIZES[-1]}", fd_n[SIZES[-1]][0])
report(f"evaluation/kid_real_vs_real_n{SIZES[0]}", kid_n[SIZES[0]][0])
report(f"evaluation/kid_real_vs_real_n{SIZES[-1]}", kid_n[SIZES[-1]][0])

# %% [markdown]
# ## 5. Sensitivity: noise, blur, dropped modes · 敏感性：噪声、模糊与模式丢失
#
# Degrade the 297 test digits (Gaussian pixel noise, clipped to $[0, 1]$; Gaussian blur) and compare them with the 1,500 training digits. Every metric should get worse
# monotonically with the strength of the corruption.

# %%
def all_metrics(fake_x, real_f=f_train, k=3):
    ff = gm.digits_features(fake_x)
    prec, rec = prec_rec(real_f, ff, k=k)
    dens, cov = gm.density_coverage(real_f, ff, k=5)
    kid_mean, _ = kid_subsets(real_f, ff, subsets=pick(50, 10), subset_size=min(len(ff), len(real_f)), seed=SEED)
    return {"FD": fd(real_f, ff), "KID": kid_mean, "precision": prec, "recall": rec, "density": dens, "coverage": cov}

noise_rng = np.random.default_rng(SEED + 3)
NOISE_LEVELS = pick([0.0, 0.1, 0.2, 0.3, 0.5], [0.0, 0.1, 0.3, 0.5])
BLUR_LEVELS = pick([0.0, 0.5, 0.8, 1.2, 2.0], [0.0, 0.5, 1.0, 2.0])
noise_res = {s: all_metrics(np.clip(x_test + s * noise_rng.standard_normal(x_test.shape), 0, 1).astype(np.float32)) for s in NOISE_LEVELS}
blur_res = {s: all_metrics(gaussian_filter(x_test, (0, s, s)) if s > 0 else x_test) for s in BLUR_LEVELS}
fig, axes = plt.subplots(2, 4, figsize=(12, 5))
for row, (name, res, levels) in enumerate([("noise std", noise_res, NOISE_LEVELS), ("blur sigma", blur_res, BLUR_LEVELS)]):
    for col, metric in enumerate(["FD", "KID", "precision", "recall"]):
        axes[row, col].plot(levels, [res[s][metric] for s in levels], "o-")
        axes[row, col].set_title(metric); axes[row, col].set_xlabel(name)
    print(name, "|", " | ".join(f"{s}: FD {res[s]['FD']:.2f} P {res[s]['precision']:.2f} R {res[s]['recall']:.2f}" for s in levels))
fig.tight_layout()

def monotone(values, increasing):
    d = np.diff(values)
    return bool(np.all(d >= -1e-9) if increasing else np.all(d <= 1e-9))

for name, res, levels in [("noise", noise_res, NOISE_LEVELS), ("blur", blur_res, BLUR_LEVELS)]:
    fd_up = monotone([res[s]["FD"] for s in levels], True)
    kid_up = monotone([res[s]["KID"] for s in levels], True)
    p_down = monotone([res[s]["precision"] for s in levels], False)
    print(f"{name}: FD increasing {fd_up}, KID increasing {kid_up}, precision decreasing {p_down}")
    report(f"evaluation/{name}_fd_max_level", res[levels[-1]]["FD"])
    report(f"evaluation/{name}_fd_monotone", float(fd_up))
    report(f"evaluation/{name}_precision_max_level", res[levels[-1]]["precision"])

# %% [markdown]
# **Mode dropping vs quality loss.** Now the reference is the 297 test digits and every "generator" gives 297 training digits: (a) a random sample (the ideal),
# (b) only the digits 0–4 (half the modes dropped, each sample perfect), (c) a random sample with pixel noise 0.3 (every mode present, every sample degraded).
# Precision and density measure fidelity; recall and coverage measure diversity. FD mixes both into one number.

# %%
rng = np.random.default_rng(SEED + 4)
n_fake = len(x_test)
fakes = {
    "random real sample": x_train[rng.choice(len(x_train), n_fake, replace=False)],
    "classes 0-4 only": x_train[rng.choice(np.flatnonzero(y_train < 5), n_fake, replace=False)],
    "all classes + noise 0.3": np.clip(x_train[rng.choice(len(x_train), n_fake, replace=False)] + 0.3 * rng.standard_normal((n_fake, 8, 8)), 0, 1).astype(np.float32),
}
mode_res = {name: all_metrics(x, real_f=f_test) for name, x in fakes.items()}
print(f"{'':>24} " + " ".join(f"{m:>9}" for m in mode_res["random real sample"]))
for name, res in mode_res.items():
    print(f"{name:>24} " + " ".join(f"{v:9.3f}" for v in res.values()))
for name, key in [("random real sample", "real"), ("classes 0-4 only", "dropped"), ("all classes + noise 0.3", "noisy")]:
    for metric in ("precision", "recall", "coverage", "FD"):
        report(f"evaluation/modes_{key}_{metric.lower()}", mode_res[name][metric])

# %% [markdown]
# What to look for: dropping half the classes leaves precision (and density) near the real-vs-real value but cuts recall and coverage roughly in half; noise does the
# opposite (precision and density fall first). FD goes up in both cases and cannot tell you which failure you have: report a fidelity and a diversity metric next to it.

# %% [markdown]
# ## 6. PSNR vs SSIM at equal MSE · 同一 MSE 下的 PSNR 与 SSIM
#
# Three distortions of scikit-image's `camera` photo with (nearly) the same mean squared error, hence the same PSNR: a brightness shift, Gaussian noise, and a Gaussian blur
# whose strength is chosen to match the MSE. SSIM separates them: a global brightness shift keeps the structure (SSIM stays high), noise and blur destroy it.

# %%
import skimage.data

cam = skimage.data.camera().astype(np.float64) / 255.0  # (512, 512) in [0, 1]
SHIFT = 0.06
target_mse = SHIFT ** 2
lo, hi = 0.1, 20.0
for _ in range(40):  # bisection: blur sigma with the target MSE (MSE grows with sigma)
    mid = 0.5 * (lo + hi)
    lo, hi = (mid, hi) if np.mean((gaussian_filter(cam, mid) - cam) ** 2) < target_mse else (lo, mid)
distorted = {
    "brightness +0.06": cam + SHIFT,
    "Gaussian noise": cam + SHIFT * np.random.default_rng(SEED + 5).standard_normal(cam.shape),
    f"blur sigma {lo:.2f}": gaussian_filter(cam, lo),
}
fig, axes = plt.subplots(1, 4, figsize=(13, 3.6))
axes[0].imshow(cam, cmap="gray", vmin=0, vmax=1); axes[0].set_title("original")
pq = {}
for ax, (name, img) in zip(axes[1:], distorted.items()):
    pq[name] = (psnr_db(img, cam, 1.0), ssim_mean(img, cam, 1.0))
    ax.imshow(np.clip(img, 0, 1), cmap="gray", vmin=0, vmax=1)
    ax.set_title(f"{name}\nPSNR {pq[name][0]:.2f} dB, SSIM {pq[name][1]:.3f}")
for ax in axes:
    ax.axis("off")
fig.tight_layout()
for (name, (p, s)), key in zip(pq.items(), ["brightness", "noise", "blur"]):
    print(f"{name:>18}: PSNR {p:6.2f} dB  SSIM {s:.3f}")
    report(f"evaluation/camera_{key}_psnr_db", p, "dB")
    report(f"evaluation/camera_{key}_ssim", s)

# %% [markdown]
# ## 7. Likelihood metrics for text: perplexity and bits per character · 困惑度与每字符比特数
#
# A language model assigns each next character a probability. Take the 8-character string `"abracada"` and a model that gives the true next characters the probabilities below.
# Mean NLL in nats $\bar\ell = -\frac1n\sum\ln p_i$; perplexity $= e^{\bar\ell}$ ("as uncertain as a uniform choice among that many characters"); bits per character
# $= \bar\ell/\ln 2$, and $2^{\text{bpc}}$ = per-character perplexity. For a word-level model, convert via characters: $\text{bpc} = \frac{\text{total NLL}}{(\#\text{chars})\ln 2}$,
# and word perplexity $= 2^{\text{bpc}\cdot \text{chars per word}}$. bpc compares models with different tokenisers; perplexity does not.

# %%
probs_true_char = np.array([0.5, 0.25, 0.5, 0.8, 0.4, 0.25, 0.9, 0.6])
nll = -np.log(probs_true_char)
ppl, bpc = gm.perplexity(nll), gm.bits_per_character(nll)
print(f"mean NLL {nll.mean():.4f} nats = {nll.mean() / math.log(2):.4f} bits; perplexity {ppl:.4f}; bpc {bpc:.4f}; 2**bpc = {2 ** bpc:.4f}")
print(f"a uniform model over 26 letters: perplexity 26, bpc {math.log2(26):.3f}")
print(f"if words average 5.5 characters (incl. the space), this bpc means a word perplexity of {2 ** (bpc * 5.5):.1f}")
report("evaluation/toy_perplexity", ppl)
report("evaluation/toy_bpc", bpc)

# %% [markdown]
# ## 8. A model comparison table · 模型对比表
#
# Simple generators this chapter can build in seconds (297 samples each, compared with the 297 test digits; the nearest-training-neighbour column is the mean pixel-space
# distance from each sample to its closest **training** image; for genuinely new digits — the test digits themselves — it is printed first):
#
# - **exact copies**: 297 random training digits (the perfect memoriser);
# - **independent pixels**: each pixel Bernoulli with the training mean as probability (binary samples; no correlations between pixels);
# - **Gaussian per class**: a full-covariance Gaussian fitted to each class of the training digits, samples clipped to $[0, 1]$;
# - **noisy copies**: training images plus noise of std 0.03 — a model that memorised its training set.
#
# Trained models, a VAE and a DCGAN, get their own table at the end of this section.

# %%
rng = np.random.default_rng(SEED + 6)
flat_train = x_train.reshape(len(x_train), -1).astype(np.float64)
pix_mean = flat_train.mean(0)
gen = {}
gen["exact copies of training digits"] = x_train[rng.choice(len(x_train), n_fake, replace=False)]
gen["independent pixels (Bernoulli)"] = (rng.uniform(size=(n_fake, 64)) < pix_mean).astype(np.float32).reshape(-1, 8, 8)
classes = rng.integers(0, 10, n_fake)
samples = np.empty((n_fake, 64))
for c in range(10):
    xc = flat_train[y_train == c]
    cov = np.cov(xc, rowvar=False) + 1e-3 * np.eye(64)
    sel = classes == c
    samples[sel] = rng.multivariate_normal(xc.mean(0), cov, size=int(sel.sum()))
gen["Gaussian per class"] = np.clip(samples, 0, 1).astype(np.float32).reshape(-1, 8, 8)
gen["noisy copies of training digits"] = np.clip(x_train[rng.choice(len(x_train), n_fake, replace=False)] + 0.03 * rng.standard_normal((n_fake, 8, 8)), 0, 1).astype(np.float32)

def nn_train_distance(x):
    d = ((x.reshape(len(x), 1, -1) - flat_train[None]) ** 2).sum(-1)
    return float(np.sqrt(d.min(1)).mean())

table = {}
for name, x in gen.items():
    res = all_metrics(x, real_f=f_test)
    table[name] = {"FD": res["FD"], "KID": res["KID"], "precision": res["precision"], "recall": res["recall"],
                   "coverage": res["coverage"], "IS": is_score(gm.digits_probs(x)), "NN-train dist": nn_train_distance(x)}
cols = list(table["exact copies of training digits"])
print(f"{'':>36} " + " ".join(f"{c:>13}" for c in cols))
ref_row = {"IS": is_score(p_test), "NN-train dist": nn_train_distance(x_test)}
print(f"{'test digits (the reference itself)':>36} " + " ".join(f"{ref_row[c]:13.3f}" if c in ref_row else f"{'-':>13}" for c in cols))
for name, row in table.items():
    print(f"{name:>36} " + " ".join(f"{row[c]:13.3f}" for c in cols))
image_grid(np.concatenate([gen[n][:10] for n in gen]), nrow=10,
           title="rows: exact copies / independent pixels / Gaussian per class / noisy copies");
for name, key in [("independent pixels (Bernoulli)", "bernoulli"), ("Gaussian per class", "gauss_class"), ("noisy copies of training digits", "copies")]:
    report(f"evaluation/table_{key}_fd", table[name]["FD"])
    report(f"evaluation/table_{key}_nn_train_dist", table[name]["NN-train dist"])
report("evaluation/table_test_nn_train_dist", ref_row["NN-train dist"])

# %% [markdown]
# Reading the table: the independent-pixel model has a large FD and low precision (its samples are speckled, not digits); the per-class Gaussian is much better but blurry
# and noisy. The **noisy copies** score like real data on FD, KID, precision, recall, coverage and IS: no sample-quality metric computed against a test set can detect
# memorisation, because copies of training data *are* realistic and diverse (the exact copies are literally real digits). Only the distance to the nearest **training**
# image gives it away: 0 for exact copies and far below the test digits' value for noisy copies. Check for copying explicitly (nearest-neighbour retrieval, membership inference: Chapter 08).
#
# **Why a lower FID is not "better images" in every sense · FID 更低不等于图片更好**
#
# - FID sees images only through the feature extractor: whatever it ignores (for Inception: small artefacts, text, fine texture; ours: anything that does not help to tell digits apart) is invisible, and FID can be lowered by matching ImageNet class statistics without better images (Kynkäänniemi et al. 2023).
# - It rewards memorisation (see the table) and says nothing about novelty, faithfulness to a prompt, or human preference.
# - One number mixes fidelity and diversity: truncation/guidance trade one for the other and FID moves in a U shape.
# - It depends on $N$, the resizing/JPEG pipeline and the extractor's weights: a 1-point difference between papers with different pipelines means nothing.

# %% [markdown]
# ### VAE vs DCGAN: the comparison table for trained models · 训练模型对比：VAE 与 DCGAN
#
# The question interviewers ask: "you trained a VAE and a GAN on the same data, which one is better, and how do you show it?" Train both here, briefly
# (this notebook must not depend on another chapter's checkpoint), with the course's reference trainers `genlab.{{fw}}.reference`:
#
# - **VAE**: MLP encoder 64 → (256, 256) → $2\times16$, decoder 16 → (256, 256) → 64 logits, Bernoulli likelihood with grey-level targets, Adam $10^{-3}$.
#   Its samples are the decoder **means** $\sigma(\text{logits})$ for $z\sim\mathcal N(0, I)$, what VAE papers usually show.
# - **DCGAN**: the GAN chapter's `ConvGenerator(32)` / `ConvDiscriminator(1)`, non-saturating loss, Adam with $\beta_1 = 0.5$ (Chapter 03 explains the choices).
#
# Protocol, fixed before looking at any number: 1,000 samples per model, the 297 test digits as reference, the digits features, $k=3$ for precision/recall, KID over
# random subsets of 297. The **floor** row is 1,000 random training digits scored the same way: the same sample sizes as the models (FD is biased by $N$, Section 4),
# and what a perfect model of the training distribution would get. QUICK mode trains for seconds, so its models are poor; the full run gives the numbers worth discussing.

# %%
from genlab.fw.reference import train_dcgan, train_vae

VAE_EPOCHS = pick(150, 25)
GAN_EPOCHS, GAN_LR, GAN_BATCH = pick((150, 2e-4, 64), (5, 1e-3, 32))  # QUICK: fewer, larger steps (a few seconds)
N_GEN = 1000
t0 = time.perf_counter()
vae_sampler = train_vae(x_train.reshape(len(x_train), -1), VAE_EPOCHS, z_dim=16, seed=SEED)
t_vae = time.perf_counter() - t0
t0 = time.perf_counter()
gan_sampler = train_dcgan(x_train, GAN_EPOCHS, seed=SEED, lr=GAN_LR, batch_size=GAN_BATCH)
t_gan = time.perf_counter() - t0
print(f"VAE: {VAE_EPOCHS} epochs in {t_vae:.1f} s; DCGAN: {GAN_EPOCHS} epochs (lr {GAN_LR}, batch {GAN_BATCH}) in {t_gan:.1f} s")

gen_rng = np.random.default_rng(SEED + 7)
compare_x = {
    "real floor (1000 train digits)": x_train[gen_rng.choice(len(x_train), N_GEN, replace=False)],
    "VAE (decoder means)": vae_sampler(N_GEN, gen_rng),
    "DCGAN": gan_sampler(N_GEN, gen_rng),
}
compare = {}
for name, x in compare_x.items():
    ff = gm.digits_features(x)
    prec, rec = prec_rec(f_test, ff, k=3)
    kid_mean, kid_std = kid_subsets(f_test, ff, subsets=pick(50, 10), subset_size=len(f_test), seed=SEED)
    compare[name] = {"FD": fd(f_test, ff), "KID": kid_mean, "KID std": kid_std, "precision": prec, "recall": rec}
print(f"{'vs the 297 test digits':>32} {'FD':>8} {'KID (mean ± std)':>20} {'precision':>10} {'recall':>8}")
for name, row in compare.items():
    print(f"{name:>32} {row['FD']:8.2f} {row['KID']:11.4f} ± {row['KID std']:.4f} {row['precision']:10.3f} {row['recall']:8.3f}")
image_grid(np.concatenate([compare_x[n][:12] for n in compare_x]), nrow=12,
           title="rows: real training digits / VAE decoder means / DCGAN samples");
for name, key in [("real floor (1000 train digits)", "floor"), ("VAE (decoder means)", "vae"), ("DCGAN", "gan")]:
    report(f"evaluation/compare_fd_{key}", compare[name]["FD"])
    report(f"evaluation/compare_kid_{key}", compare[name]["KID"])
    report(f"evaluation/compare_precision_{key}", compare[name]["precision"])
    report(f"evaluation/compare_recall_{key}", compare[name]["recall"])
report("evaluation/compare_train_seconds_vae", t_vae, "s")
report("evaluation/compare_train_seconds_gan", t_gan, "s")

# %% [markdown]
# **Reading the comparison · 如何解读**
#
# - **Compare with the floor, not with zero.** Even real digits score FD ≈ 0.4 and precision/recall ≈ 0.9 at these sample sizes; a model is judged by its gap to that row.
# - **The VAE's decoder means are blurry averages.** Each mean is the expectation over all the digits the decoder cannot tell apart at that $z$: smooth, "typical",
#   often a blend of two classes. They land near real digits in feature space, so **precision stays high** (in the full run, close to the floor), but the sharp
#   strokes and the variety of writing styles are missing, so few test digits lie near a VAE sample: **recall is low**, and FD is large because the features'
#   covariance is too small. (Sampling Bernoulli pixels instead of showing the means adds speckle and costs precision: the VAE trades one for the other.)
# - **The DCGAN, trained long enough, produces sharp and varied samples**: FD and KID are several times lower than the VAE's and its recall is near the floor,
#   while some malformed samples keep its precision *below* the VAE's. Which model is "better" depends on what you need; FD alone would have hidden that the
#   two fail in opposite ways. A GAN that collapses onto a few modes would keep its precision and lose recall (Section 5's "classes 0–4 only" row).
#   In QUICK mode (a few seconds of training) both models are still poor and the ranking is not meaningful.
# - **What FD does not tell you.** It only sees what the digits classifier's features see; it does not say whether the samples are new (check the distance to
#   the nearest training digit, as above), nor whether a small difference is real: KID's ± and repeated training seeds are the honest error bars. And it says
#   nothing about what a VAE offers and a GAN lacks: an encoder and a likelihood bound (ELBO).
#
# Interview answer in one line: *report FD/KID with the real-vs-real floor and the protocol, plus precision and recall to say whether a gap is fidelity or diversity.*

# %% [markdown]
# ## 9. What the seeds get wrong · 种子题目中的错误
#
# - **API that does not exist.** The seed code imports `keras_contrib.metrics` functions for IS and FID. `keras_contrib` has no such metrics (and is unmaintained for Keras 3). Compute them as above, or use `torchmetrics` / `pytorch-fid` / `clean-fid` (PyTorch) — and state the feature extractor, $N$ and the preprocessing.
# - **The Inception Score is not a "反事实损失" (counterfactual loss).** It is not a loss at all and has nothing counterfactual about it: it is $\exp(\mathbb E_x\mathrm{KL}(p(y\mid x)\Vert p(y)))$ computed from a pretrained classifier's predictions on generated samples. / IS 是基于预训练分类器预测的得分，不是损失。
# - **FID is the Fréchet *Inception* Distance**, not a "弗雷歇辛普森距离" ("Fréchet–Simpson distance"): the Fréchet (2-Wasserstein) distance between Gaussians fitted to Inception-v3 features. / FID 即 Fréchet Inception Distance。
# - **PSNR with the wrong data range** (255 for images in $[0, 1]$) inflates it by $20\log_{10}255 \approx 48$ dB; state the range and whether PSNR is averaged per image.
# - **SSIM "the same as PSNR but better"**: they measure different things (Section 6); neither replaces FID-style distribution metrics for unconditional generation.
#
# ## 10. Summary · 小结
#
# | quantity | value in this run |
# |---|---|
# | real-vs-real floor (FD, KID at 297 vs 297) | Section 3 |
# | FD vs $N$ (biased, falls with $N$), KID vs $N$ (flat around 0) | Section 4 |
# | noise/blur: FD, KID up, precision down | Section 5 |
# | mode dropping: recall and coverage down, precision kept | Section 5 |
# | PSNR equal, SSIM very different | Section 6 |
# | memorisation: fine FD, tiny nearest-training-neighbour distance | Section 8 |
# | VAE vs DCGAN: FD, KID, precision, recall beside the real floor | Section 8 |
#
# - Fix the protocol (extractor, $N$, preprocessing, reference set) before comparing numbers, and report the real-vs-real floor.
# - Use FD/KID for the overall distance, precision/density for fidelity, recall/coverage for diversity, a nearest-neighbour check for copying.
# - PSNR/SSIM need paired references; say which data range and averaging you used.
#
# **Interview drill:** the items of this chapter are in `questions/09_evaluation.yaml` (中文 / English); practise them with `genlab drill --chapter evaluation`.
# Each exercise above is linked from the items that ask about it (for example `09_evaluation#eval_frechet_distance`, `09_evaluation#eval_ssim`).
