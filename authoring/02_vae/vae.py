# %% [markdown]
# # Chapter 02 · Variational autoencoders (VAE) · 变分自编码器
#
# **What you will be able to answer in an interview / 学完本章你能回答：**
#
# - Where does the ELBO come from, and why is it a *lower* bound on $\log p(x)$? / ELBO 从何而来，为什么是 $\log p(x)$ 的下界？
# - Why do we need the reparameterisation trick, and what breaks without it? / 为什么需要重参数化技巧？
# - The closed-form KL between $\mathcal N(\mu, \sigma^2)$ and $\mathcal N(0, 1)$, from memory. / 高斯 KL 的闭式解。
# - Why the decoder outputs *logits* and how to compute a Bernoulli log-likelihood without `log(0)`. / 为什么解码器输出 logits。
# - What $\beta$ trades off in a $\beta$-VAE (rate vs. distortion). / β-VAE 中 β 权衡的是什么。
# - How to estimate a test log-likelihood properly (IWAE), and why it is tighter than the ELBO. / 如何用 IWAE 估计测试集对数似然。
# - How a conditional VAE draws a chosen digit, and how a *denoising* VAE differs from a plain autoencoder. / 条件 VAE 与去噪 VAE。
#
# Seeds covered: S002-P2 (implement a VAE), S003-P2 (VAE image denoising), S004 2.2 (architecture, reconstruction + weighted KL loss), S004 3.3 (denoising / inpainting). The seeds' code is wrong in instructive ways; the last section shows where.
#
# This notebook uses **{{framework}}**; its twin uses the other framework with the same exercises and the same tests.

# %% [markdown]
# ## 1. The maths, short · 数学推导
#
# A VAE is a latent-variable model $p_\theta(x, z) = p_\theta(x \mid z)\, p(z)$ with prior $p(z) = \mathcal N(0, I)$.
# The marginal likelihood $p_\theta(x) = \int p_\theta(x \mid z) p(z)\, dz$ is intractable, so we introduce an
# *encoder* (inference network) $q_\phi(z \mid x) = \mathcal N(\mu_\phi(x), \operatorname{diag} \sigma^2_\phi(x))$ and write
#
# $$\log p_\theta(x) = \underbrace{\mathbb E_{q_\phi(z\mid x)}\big[\log p_\theta(x\mid z)\big] - \mathrm{KL}\big(q_\phi(z\mid x)\,\|\,p(z)\big)}_{\text{ELBO}(x)} + \underbrace{\mathrm{KL}\big(q_\phi(z\mid x)\,\|\,p_\theta(z\mid x)\big)}_{\ge 0}.$$
#
# (Proof: $\log p(x) = \mathbb E_q[\log p(x,z) - \log q(z\mid x)] + \mathbb E_q[\log q(z\mid x) - \log p(z\mid x)]$, because $p(x,z) = p(z\mid x)\,p(x)$.)
# The last KL is never negative, so the ELBO is a lower bound, tight exactly when $q$ equals the true posterior.
# Maximising the ELBO over $\theta$ and $\phi$ fits the model *and* makes $q$ a better posterior approximation.
#
# * **Reconstruction term** $\mathbb E_q[\log p_\theta(x\mid z)]$: for binary pixels $p_\theta(x\mid z) = \prod_d \mathrm{Bernoulli}(x_d; \sigma(\ell_d))$ with decoder logits $\ell = f_\theta(z)$, so
#   $\log p_\theta(x\mid z) = \sum_d \big[x_d \ell_d - \operatorname{softplus}(\ell_d)\big]$. It is a **sum over pixels**: averaging over pixels (as `binary_crossentropy` does by default) silently multiplies the KL weight by the number of pixels.
# * **KL term** in closed form for diagonal Gaussians: $\mathrm{KL}\big(\mathcal N(\mu,\sigma^2)\,\|\,\mathcal N(0,1)\big) = \tfrac12 \sum_j \big(\mu_j^2 + \sigma_j^2 - 1 - \log\sigma_j^2\big)$.
#   The encoder outputs $\log\sigma^2$ ("logvar"), which is unconstrained, so $\sigma^2 = e^{\text{logvar}}$ and $\sigma = e^{\text{logvar}/2}$.
# * **Reparameterisation.** The gradient of $\mathbb E_{q_\phi}[\cdot]$ with respect to $\phi$ cannot flow through a sampling step. Writing
#   $z = \mu + \sigma \odot \varepsilon$ with $\varepsilon \sim \mathcal N(0, I)$ moves the randomness into an input, so $z$ is a differentiable function of $(\mu, \sigma)$
#   and a single sample gives a low-variance, unbiased gradient estimate (the score-function/REINFORCE estimator would also be unbiased but has far higher variance).
# * **Training loss** per batch: the negative ELBO, summed over pixels and latent dimensions, **averaged over the examples**: $\frac1B \sum_b \big[-\log p_\theta(x_b \mid z_b) + \beta\,\mathrm{KL}_b\big]$ with $\beta = 1$ for a VAE.
# * **IWAE bound.** With $K$ samples $z_k \sim q(z\mid x)$ and weights $w_k = p(x\mid z_k)p(z_k)/q(z_k\mid x)$,
#   $\mathcal L_K = \mathbb E\big[\log \tfrac1K \sum_k w_k\big]$ satisfies $\text{ELBO} = \mathcal L_1 \le \mathcal L_K \le \log p(x)$ and $\mathcal L_K \to \log p(x)$ as $K \to \infty$ (Burda et al., 2016).
#   It must be computed with `logsumexp`: the $\log w_k$ are around $-20$ here and far lower for bad samples, so $\log \sum_k \exp(\cdot)$ under- or overflows in float32.

# %% only=torch
import math
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from tqdm.auto import trange

import genlab
from genlab import pick, report
from genlab.data import load_digits
from genlab.torch import MLP, device, to_numpy, to_tensor
from genlab.viz import image_grid, loss_curves, scatter_2d

SEED = 0
QUICK = genlab.is_quick()  # GENLAB_QUICK=1: small, fast runs (tests and grading)
DEVICE = device()          # CUDA when present, else CPU
if DEVICE.type == "cpu":
    torch.set_num_threads(1)  # these MLPs are tiny: one thread beats two (no thread sync per op)
genlab.seed_everything(SEED)
print(f"PyTorch {torch.__version__} on {DEVICE}; QUICK={QUICK}")

# %% only=tf
import math
import time

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from tqdm.auto import trange

import genlab
from genlab import pick, report
from genlab.data import load_digits
from genlab.tf import MLP, device, make_loader, to_numpy, to_tensor
from genlab.viz import image_grid, loss_curves, scatter_2d

SEED = 0
QUICK = genlab.is_quick()  # GENLAB_QUICK=1: small, fast runs (tests and grading)
DEVICE = device()          # '/GPU:0' when TensorFlow sees a GPU, else '/CPU:0'
genlab.seed_everything(SEED)
print(f"TensorFlow {tf.__version__} (Keras {keras.__version__}) on {DEVICE}; QUICK={QUICK}")

# %% [markdown]
# ## 2. Data · 数据
#
# scikit-learn's 8x8 handwritten digits (real handwriting, 1,797 images), split once and for all into 1,500 training and
# 297 test images (`genlab.data`, datasheet in `datasets/digits.md`). We binarise them with a fixed threshold of 0.5,
# so each image is 64 binary pixels and the Bernoulli likelihood is exact.

# %%
train = load_digits("train", binarized=True)
test = load_digits("test", binarized=True)
x_train, y_train = train.flat(), train.y   # (1500, 64) float32 in {0, 1}, (1500,) int64
x_test, y_test = test.flat(), test.y       # (297, 64), (297,)
print(x_train.shape, x_test.shape, "mean pixel", x_train.mean().round(3))
image_grid(x_train[:40], nrow=20, title="binarised training digits");

# %% [markdown]
# ## 3. Exercises: the pieces of the ELBO · 练习：ELBO 的各个部分
#
# Every function works on {{framework}} tensors, keeps the gradient graph intact, and reduces over the **last axis**
# (pixels or latent dimensions), so it works for a batch `(B, D)` and for `(K, B, D)` stacks of samples alike.
#
# **What you may use:** any {{framework}} operation (`softplus`, `logsumexp`; in PyTorch also `torch.distributions`: a KL or a log-density from there is graded like
# your own formula, by what it computes). Nothing shipped with the course implements these exercises.
#
# ### Exercise 1 · `reparameterize` (2 points)
# Return $z = \mu + e^{\text{logvar}/2} \odot \varepsilon$. If `eps` is `None`, draw $\varepsilon \sim \mathcal N(0, I)$ with the shape of `mu`.

# %% solution id=vae_reparameterize only=torch
def reparameterize(mu, logvar, eps=None):
    """Sample z ~ N(mu, exp(logvar)) as a differentiable function of mu and logvar.

    mu, logvar: tensors of the same shape (..., Z); eps: optional standard-normal noise of that shape.
    Returns z with the shape of mu.
    """
    ### BEGIN SOLUTION
    if eps is None:
        eps = torch.randn_like(mu)
    return mu + torch.exp(0.5 * logvar) * eps
    ### END SOLUTION

# %% solution id=vae_reparameterize only=tf
def reparameterize(mu, logvar, eps=None):
    """Sample z ~ N(mu, exp(logvar)) as a differentiable function of mu and logvar.

    mu, logvar: tensors of the same shape (..., Z); eps: optional standard-normal noise of that shape.
    Returns z with the shape of mu.
    """
    ### BEGIN SOLUTION
    if eps is None:
        eps = tf.random.normal(tf.shape(mu), dtype=mu.dtype)
    return mu + tf.exp(0.5 * logvar) * eps
    ### END SOLUTION

# %% test id=vae_reparameterize_test points=2
"""reparameterize: z = mu + exp(logvar / 2) * eps, with gradients reaching mu and logvar.

Catches: logvar used as the standard deviation (mu + logvar * eps); the variance exp(logvar) used
instead of the standard deviation; eps ignored or drawn when it is given; noise that is not standard
normal (uniform, wrong scale) when eps is None; a sample that cuts the graph (numpy round trip, detach).
"""
import numpy as np
from genlab.testing import assert_close, assert_finite_grads
from genlab.fw import grad_of, to_numpy, to_tensor as T

mu = np.array([[0.0, 1.0], [-2.0, 0.5]])
logvar = np.array([[0.0, np.log(4.0)], [np.log(0.25), -1.0]])
eps = np.array([[1.0, -1.0], [2.0, 0.5]])
assert_close(reparameterize(T(mu), T(logvar), T(eps)), mu + np.exp(0.5 * logvar) * eps, "z")
# gradients reach mu and logvar: dz/dmu = 1, dz/dlogvar = exp(logvar / 2) * eps / 2
eps_t = T(eps)
_, (g_mu, g_lv) = grad_of(lambda m, lv: reparameterize(m, lv, eps_t), mu, logvar)
assert_finite_grads([g_mu, g_lv], ["mu", "logvar"])
assert_close(g_lv, 0.5 * np.exp(0.5 * logvar) * eps, "dz/dlogvar")
# eps=None: fresh standard-normal noise, so 10,000 draws of row 2 have mean mu and std exp(logvar / 2)
z = to_numpy(reparameterize(T(np.tile(mu[1], (10000, 1))), T(np.tile(logvar[1], (10000, 1)))))
assert z.shape == (10000, 2), f"z has shape {z.shape}, expected (10000, 2)"
assert_close(z.mean(0), mu[1], "sample mean with eps=None", atol=0.05, rtol=0)
assert_close(z.std(0), np.exp(0.5 * logvar[1]), "sample standard deviation with eps=None", atol=0.05, rtol=0)
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(2021)
for shape in [(3, 5), (4, 2, 7)]:
    mu, logvar, eps = rng.normal(size=shape), rng.normal(size=shape), rng.normal(size=shape)
    assert_close(reparameterize(T(mu), T(logvar), T(eps)), mu + np.exp(0.5 * logvar) * eps, f"z for shape {shape}")
# gradients: dz/dmu = 1 and dz/dlogvar = exp(logvar / 2) * eps / 2 (sum over all outputs)
mu, logvar, eps = rng.normal(size=(6, 3)), rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
eps_t = T(eps)
_, (g_mu, g_lv) = grad_of(lambda m, lv: reparameterize(m, lv, eps_t), mu, logvar)
assert_finite_grads([g_mu, g_lv], ["mu", "logvar"])
assert_close(g_mu, np.ones_like(mu), "dz/dmu")
assert_close(g_lv, 0.5 * np.exp(0.5 * logvar) * eps, "dz/dlogvar")
# eps=None draws fresh standard-normal noise: check the moments of 20,000 samples
n = 20000
mu = np.tile([[1.0, -2.0, 0.0]], (n, 1))
logvar = np.tile([[np.log(4.0), np.log(0.25), 0.0]], (n, 1))
z1 = to_numpy(reparameterize(T(mu), T(logvar)))
z2 = to_numpy(reparameterize(T(mu), T(logvar)))
assert z1.shape == (n, 3), f"z has shape {z1.shape}, expected {(n, 3)}"
assert not np.allclose(z1, z2), "two calls with eps=None returned the same z: no fresh noise"
assert_close(z1.mean(0), [1.0, -2.0, 0.0], "sample mean", atol=0.06, rtol=0)
assert_close(z1.std(0), [2.0, 0.5, 1.0], "sample standard deviation", atol=0.05, rtol=0)
assert abs(float(((z1[:, 2]) ** 4).mean()) - 3.0) < 0.3, "noise is not Gaussian (4th moment of N(0,1) is 3)"
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 2 · `gaussian_kl` (2 points)
# $\mathrm{KL}\big(\mathcal N(\mu, e^{\text{logvar}})\,\|\,\mathcal N(0, I)\big) = \tfrac12\sum_j\big(\mu_j^2 + e^{\text{logvar}_j} - 1 - \text{logvar}_j\big)$ per example: input `(..., Z)`, output `(...)`.

# %% solution id=vae_gaussian_kl only=torch
def gaussian_kl(mu, logvar):
    """KL(N(mu, diag exp(logvar)) || N(0, I)), summed over the last axis: (..., Z) -> (...)."""
    ### BEGIN SOLUTION
    return 0.5 * torch.sum(mu ** 2 + torch.exp(logvar) - 1.0 - logvar, dim=-1)
    ### END SOLUTION

# %% solution id=vae_gaussian_kl only=tf
def gaussian_kl(mu, logvar):
    """KL(N(mu, diag exp(logvar)) || N(0, I)), summed over the last axis: (..., Z) -> (...)."""
    ### BEGIN SOLUTION
    return 0.5 * tf.reduce_sum(mu ** 2 + tf.exp(logvar) - 1.0 - logvar, axis=-1)
    ### END SOLUTION

# %% test id=vae_gaussian_kl_test points=2
"""gaussian_kl: the closed-form KL per example, summed over latent dimensions, with gradients.

Catches: a missing 1/2; logvar treated as the standard deviation or as the variance; a mean over
latent dimensions instead of a sum; a sum or mean over the batch (wrong shape); the sign flipped
(KL must be >= 0 and 0 only at mu = 0, logvar = 0); KL(p || q) with the arguments swapped.
"""
import numpy as np
from genlab.testing import assert_close, assert_finite_grads
from genlab.fw import grad_of, to_tensor as T

assert_close(gaussian_kl(T(np.zeros((2, 3))), T(np.zeros((2, 3)))), [0.0, 0.0], "KL at the prior")
mu, logvar = np.array([[1.0, 0.0]]), np.array([[0.0, np.log(2.0)]])
assert_close(gaussian_kl(T(mu), T(logvar)), [0.5 * (1.0 + (2.0 - 1.0 - np.log(2.0)))], "KL of one example")
mu = np.array([[0.5, -1.0, 2.0, 0.0], [1.5, 0.3, -0.7, 1.0], [-0.2, 0.8, 0.1, -1.3]])
logvar = np.array([[0.3, -0.5, 1.2, 0.0], [-1.0, 0.7, 0.2, -0.4], [0.9, -1.5, 0.0, 0.6]])
assert_close(gaussian_kl(T(mu), T(logvar)), 0.5 * np.sum(mu ** 2 + np.exp(logvar) - 1.0 - logvar, axis=-1), "KL of a batch of 3 (Z = 4)")
### BEGIN HIDDEN TESTS
def _kl_oracle(mu, logvar):
    return 0.5 * np.sum(mu ** 2 + np.exp(logvar) - 1.0 - logvar, axis=-1)

rng = np.random.default_rng(7)
for shape in [(5, 4), (3, 6, 2), (1, 16)]:
    mu, logvar = rng.normal(size=shape), rng.normal(scale=1.5, size=shape)
    assert_close(gaussian_kl(T(mu), T(logvar)), _kl_oracle(mu, logvar), f"KL for shape {shape}")
# independent reference: a Monte-Carlo estimate of E_q[log q - log p] for one example
mu, logvar = np.array([0.7, -1.2, 0.1]), np.array([-0.5, 0.8, 0.0])
z = mu + np.exp(0.5 * logvar) * rng.normal(size=(400000, 3))
log_q = -0.5 * (np.log(2 * np.pi) + logvar + (z - mu) ** 2 / np.exp(logvar))
log_p = -0.5 * (np.log(2 * np.pi) + z ** 2)
assert_close(gaussian_kl(T(mu[None]), T(logvar[None])), [np.mean(np.sum(log_q - log_p, axis=-1))], "KL vs Monte Carlo", atol=0.02, rtol=0.0)
mu, logvar = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
_, (g_mu, g_lv) = grad_of(gaussian_kl, mu, logvar)
assert_finite_grads([g_mu, g_lv], ["mu", "logvar"])
assert_close(g_mu, mu, "dKL/dmu")
assert_close(g_lv, 0.5 * (np.exp(logvar) - 1.0), "dKL/dlogvar")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 3 · `bernoulli_log_likelihood` (2 points)
# $\log p(x \mid \ell) = \sum_d \big[x_d \log\sigma(\ell_d) + (1 - x_d)\log(1 - \sigma(\ell_d))\big] = \sum_d \big[x_d\ell_d - \operatorname{softplus}(\ell_d)\big]$, summed over the last axis.
# Work from the **logits**: `log(sigmoid(l))` is `-inf` in float32 once $\ell < -104$. (Hint: a framework's "cross-entropy *with logits*" is the negative of one term.)

# %% solution id=vae_bernoulli_log_likelihood only=torch
def bernoulli_log_likelihood(x, logits):
    """log Bernoulli(x | sigmoid(logits)), summed over the last axis: (..., D) -> (...). Stable for large |logits|."""
    ### BEGIN SOLUTION
    return torch.sum(x * logits - torch.nn.functional.softplus(logits), dim=-1)
    ### END SOLUTION

# %% solution id=vae_bernoulli_log_likelihood only=tf
def bernoulli_log_likelihood(x, logits):
    """log Bernoulli(x | sigmoid(logits)), summed over the last axis: (..., D) -> (...). Stable for large |logits|."""
    ### BEGIN SOLUTION
    return tf.reduce_sum(x * logits - tf.math.softplus(logits), axis=-1)
    ### END SOLUTION

# %% test id=vae_bernoulli_log_likelihood_test points=2
"""bernoulli_log_likelihood: sum over pixels of x*l - softplus(l), finite for |logits| up to 300.

Catches: sigmoid applied twice (the decoder output treated as probabilities); log(sigmoid(l)) that
gives -inf or NaN for large logits, or an epsilon clamp (log(p + 1e-7)) that caps the penalty; a mean
over pixels instead of a sum; the sign (a loss instead of a log-likelihood); x and logits swapped;
the wrong axis for inputs with more than two dimensions.
"""
import numpy as np
from genlab.testing import assert_close, assert_finite_grads
from genlab.fw import grad_of, to_tensor as T

x = np.array([[1.0, 0.0, 1.0]]); logits = np.array([[0.0, 0.0, 2.0]])
assert_close(bernoulli_log_likelihood(T(x), T(logits)), [2 * np.log(0.5) + np.log(1 / (1 + np.exp(-2.0)))], "log-likelihood")
# a (2, 3, 4) stack (sum over the last axis only) with two confident, wrong logits: log(sigmoid(-120)) is -inf in float32
x = np.array([[[1, 0, 0, 1], [0, 1, 1, 1], [1, 1, 0, 0]], [[0, 0, 1, 0], [1, 0, 1, 1], [0, 1, 0, 1]]], dtype=float)
logits = np.array([[[-120.0, 95.0, -2.0, 0.5], [1.0, -0.3, 2.2, -1.7], [0.8, 3.1, -0.6, 1.4]],
                   [[-1.1, 0.2, 2.5, -3.0], [0.4, 1.9, -0.8, 0.0], [2.7, -1.5, 0.9, -0.2]]])
assert_close(bernoulli_log_likelihood(T(x), T(logits)), np.sum(x * logits - np.logaddexp(0.0, logits), axis=-1),
             "log-likelihood of a (2, 3, 4) stack with extreme logits")
### BEGIN HIDDEN TESTS
def _bern_oracle(x, logits):
    return np.sum(x * logits - np.logaddexp(0.0, logits), axis=-1)

rng = np.random.default_rng(3)
for shape in [(6, 64), (3, 4, 10)]:
    x = (rng.random(shape) > 0.5).astype(float)
    logits = rng.normal(scale=3.0, size=shape)
    assert_close(bernoulli_log_likelihood(T(x), T(logits)), _bern_oracle(x, logits), f"log-likelihood for shape {shape}")
# soft targets in [0, 1] (the same formula is the negative cross-entropy)
x, logits = rng.random((4, 9)), rng.normal(size=(4, 9))
assert_close(bernoulli_log_likelihood(T(x), T(logits)), _bern_oracle(x, logits), "log-likelihood with soft targets")
# extreme logits: confident and right costs ~0, confident and wrong costs |l|
x = np.array([[1.0, 0.0, 1.0, 0.0], [1.0, 1.0, 0.0, 0.0]])
logits = np.array([[300.0, -300.0, 120.0, -150.0], [-200.0, 50.0, 200.0, -1.0]])
assert_close(bernoulli_log_likelihood(T(x), T(logits)), _bern_oracle(x, logits), "log-likelihood at extreme logits", rtol=1e-5)
x, logits = (rng.random((3, 5)) > 0.5).astype(float), rng.normal(size=(3, 5))
_, (g_l,) = grad_of(lambda l: bernoulli_log_likelihood(T(x), l), logits)
assert_finite_grads([g_l], ["logits"])
assert_close(g_l, x - 1.0 / (1.0 + np.exp(-logits)), "d log p / d logits")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 4 · `log_normal` (1 point)
# The log-density of a diagonal Gaussian, summed over the last axis:
# $\log\mathcal N(z; \mu, e^{\text{logvar}}) = -\tfrac12\sum_j\big[\log 2\pi + \text{logvar}_j + (z_j - \mu_j)^2 e^{-\text{logvar}_j}\big]$. Inputs broadcast against each other.
# The IWAE bound below needs it for $\log p(z)$ (with $\mu = 0$, logvar $= 0$) and $\log q(z \mid x)$.

# %% solution id=vae_log_normal only=torch
def log_normal(z, mu, logvar):
    """log N(z; mu, diag exp(logvar)) summed over the last axis (inputs broadcast): (..., Z) -> (...)."""
    ### BEGIN SOLUTION
    return -0.5 * torch.sum(math.log(2 * math.pi) + logvar + (z - mu) ** 2 * torch.exp(-logvar), dim=-1)
    ### END SOLUTION

# %% solution id=vae_log_normal only=tf
def log_normal(z, mu, logvar):
    """log N(z; mu, diag exp(logvar)) summed over the last axis (inputs broadcast): (..., Z) -> (...)."""
    ### BEGIN SOLUTION
    return -0.5 * tf.reduce_sum(math.log(2 * math.pi) + logvar + (z - mu) ** 2 * tf.exp(-logvar), axis=-1)
    ### END SOLUTION

# %% test id=vae_log_normal_test points=1
"""log_normal: the diagonal-Gaussian log-density, checked against scipy.stats.norm.logpdf.

Catches: a missing log(2*pi) or 1/2; logvar used as the standard deviation or the variance; a density
instead of a log-density; a mean instead of a sum over dimensions; no broadcasting of mu and logvar.
"""
import numpy as np
from scipy.stats import norm
from genlab.testing import assert_close
from genlab.fw import to_tensor as T

z = np.array([[0.0, 1.0]])
assert_close(log_normal(T(z), T(np.zeros((1, 2))), T(np.zeros((1, 2)))), [norm.logpdf(0.0) + norm.logpdf(1.0)], "log N(z; 0, I)")
# K = 3 samples of B = 2 (Z = 3) against per-example mu and logvar (broadcast)
z = np.array([[[0.5, -1.0, 2.0], [1.5, 0.3, -0.7]], [[-0.2, 0.8, 0.1], [1.0, -1.3, 0.4]], [[2.2, 0.0, -0.5], [-0.9, 0.6, 1.1]]])
mu, logvar = np.array([[0.3, -0.5, 1.2], [1.0, 0.2, -0.4]]), np.array([[0.7, -1.2, 0.0], [-0.3, 1.5, 0.4]])
assert_close(log_normal(T(z), T(mu), T(logvar)), norm.logpdf(z, mu, np.exp(0.5 * logvar)).sum(-1), "log N(z; mu, exp(logvar)), broadcast")
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(11)
z, mu, logvar = rng.normal(size=(5, 3)), rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
assert_close(log_normal(T(z), T(mu), T(logvar)), norm.logpdf(z, mu, np.exp(0.5 * logvar)).sum(-1), "log density")
# broadcasting: samples (K, B, Z) against parameters (B, Z)
z, mu, logvar = rng.normal(size=(4, 2, 3)), rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
assert_close(log_normal(T(z), T(mu), T(logvar)), norm.logpdf(z, mu, np.exp(0.5 * logvar)).sum(-1), "broadcast log density")
z = rng.normal(size=(3, 16)) * 3
assert_close(log_normal(T(z), T(np.zeros((1, 16))), T(np.zeros((1, 16)))), norm.logpdf(z).sum(-1), "log prior density")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 5 · `negative_elbo` (2 points)
# The training loss: $\frac1B\sum_b\big[-\log p(x_b\mid z_b) + \beta\,\mathrm{KL}(q(z\mid x_b)\,\|\,p(z))\big]$, a scalar. `logits` are the decoder's output for a
# reparameterised sample $z_b$. Use your `bernoulli_log_likelihood` and `gaussian_kl`: sum over pixels and latent dimensions, mean over the batch.
# The test judges this function against **your** two helpers (the expected loss is built from them), so a mistake in a helper costs the helper's points only, once.

# %% solution id=vae_negative_elbo only=torch
def negative_elbo(x, logits, mu, logvar, beta=1.0):
    """Mean over the batch of -log p(x|z) + beta * KL(q(z|x) || p(z)). x, logits: (B, D); mu, logvar: (B, Z). Returns a scalar."""
    ### BEGIN SOLUTION
    return torch.mean(-bernoulli_log_likelihood(x, logits) + beta * gaussian_kl(mu, logvar))
    ### END SOLUTION

# %% solution id=vae_negative_elbo only=tf
def negative_elbo(x, logits, mu, logvar, beta=1.0):
    """Mean over the batch of -log p(x|z) + beta * KL(q(z|x) || p(z)). x, logits: (B, D); mu, logvar: (B, Z). Returns a scalar."""
    ### BEGIN SOLUTION
    return tf.reduce_mean(-bernoulli_log_likelihood(x, logits) + beta * gaussian_kl(mu, logvar))
    ### END SOLUTION

# %% test id=vae_negative_elbo_test points=2
"""negative_elbo: a scalar, sum over pixels and latent dimensions, mean over the batch, beta on the KL only.

Judged against your own helpers: the expected loss (and its gradients) are computed from YOUR
bernoulli_log_likelihood and gaussian_kl, so a mistake in one of them costs that exercise's points
only, not this one's too.

Catches: a mean over pixels (the S002-P2 seed's reduce_mean over binary_crossentropy); a sum over
the batch; beta applied to the reconstruction term or ignored; the ELBO instead of its negative; a
vector instead of a scalar; a graph cut that leaves mu, logvar or the logits without gradients.
"""
import numpy as np
from genlab.testing import as_array, assert_close
from genlab.fw import grad_of, to_tensor as T


def _from_your_helpers(x, logits, mu, logvar, beta=1.0):
    """The loss built from your own bernoulli_log_likelihood and gaussian_kl."""
    rec = as_array(bernoulli_log_likelihood(T(x), T(logits)), "bernoulli_log_likelihood")
    kl = as_array(gaussian_kl(T(mu), T(logvar)), "gaussian_kl")
    return np.mean(-rec + beta * kl)


x = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]]); logits = np.array([[0.5, -1.0, 2.0], [1.5, 0.0, -0.5]])
mu = np.array([[0.3, -1.0], [1.2, 0.4]]); logvar = np.array([[0.5, -0.3], [0.0, 1.0]])
assert_close(negative_elbo(T(x), T(logits), T(mu), T(logvar), beta=0.5), _from_your_helpers(x, logits, mu, logvar, 0.5),
             "loss with beta=0.5 (from your helpers)", shape=())
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(5)
x = (rng.random((8, 64)) > 0.6).astype(float)
logits, mu, logvar = rng.normal(scale=2, size=(8, 64)), rng.normal(size=(8, 16)), rng.normal(size=(8, 16))
for beta in [1.0, 0.25, 4.0]:
    assert_close(negative_elbo(T(x), T(logits), T(mu), T(logvar), beta=beta), _from_your_helpers(x, logits, mu, logvar, beta),
                 f"loss with beta={beta} (from your helpers)", shape=())
assert_close(negative_elbo(T(x[:3]), T(logits[:3]), T(mu[:3]), T(logvar[:3])),
             _from_your_helpers(x[:3], logits[:3], mu[:3], logvar[:3]), "loss of a smaller batch (from your helpers)", shape=())
# gradients, from your helpers' own gradients: the loss is the mean of -rec + beta * kl over their entries
n_rec = as_array(bernoulli_log_likelihood(T(x), T(logits)), "bernoulli_log_likelihood").size
n_kl = as_array(gaussian_kl(T(mu), T(logvar)), "gaussian_kl").size
_, (h_logits,) = grad_of(lambda l: bernoulli_log_likelihood(T(x), l), logits)
_, (h_mu, h_logvar) = grad_of(gaussian_kl, mu, logvar)
_, grads = grad_of(lambda l, m, lv: negative_elbo(T(x), l, m, lv, beta=2.0), logits, mu, logvar)
for got, helper, scale, name in [(grads[0], h_logits, -1.0 / n_rec, "logits"), (grads[1], h_mu, 2.0 / n_kl, "mu"),
                                 (grads[2], h_logvar, 2.0 / n_kl, "logvar")]:
    if helper is None:  # your helper cuts the graph: that costs the helper's points, not these
        continue
    assert got is not None, f"no gradient reaches {name}: is the graph cut (detach/numpy/stop_gradient)?"
    assert_close(got, scale * as_array(helper), f"d loss / d {name} with beta=2 (from your helpers' gradients)")
### END HIDDEN TESTS

# %% [markdown]
# ## 4. The model and its training · 模型与训练
#
# Encoder and decoder are two-layer MLPs (`genlab.{{fw}}.MLP`, 256 units, ReLU). The encoder outputs $2Z$ numbers, split into $\mu$ and logvar;
# the decoder outputs 64 **logits** (no sigmoid: the likelihood takes logits). The same class serves the conditional VAE later
# (`num_classes > 0`: the one-hot label is concatenated to the encoder's and the decoder's input).

# %% only=torch
class VAE(torch.nn.Module):
    def __init__(self, x_dim=64, z_dim=16, hidden=(256, 256), num_classes=0):
        super().__init__()
        self.z_dim, self.num_classes = z_dim, num_classes
        self.encoder = MLP(x_dim + num_classes, hidden, 2 * z_dim)  # x (+ label) -> (mu, logvar)
        self.decoder = MLP(z_dim + num_classes, hidden, x_dim)      # z (+ label) -> logits

    def encode(self, x):                       # (B, D) -> (B, Z), (B, Z)
        mu, logvar = self.encoder(x).chunk(2, dim=-1)
        return mu, logvar

    def decode(self, z):                       # (..., Z) -> (..., D) logits
        return self.decoder(z)


def vae_loss(model, x, y=None, x_in=None, beta=1.0):
    """Negative ELBO of a batch. x: targets (B, 64); x_in: what the encoder sees (default x; noisy for denoising); y: labels (CVAE)."""
    x_in = x if x_in is None else x_in
    enc_in = x_in if y is None else conditional_input(x_in, y, model.num_classes)
    mu, logvar = model.encode(enc_in)
    z = reparameterize(mu, logvar)
    dec_in = z if y is None else conditional_input(z, y, model.num_classes)
    return negative_elbo(x, model.decode(dec_in), mu, logvar, beta)


def train_vae(model, x, y=None, epochs=100, beta=1.0, lr=1e-3, batch_size=100, corrupt=None, loss_fn=None, desc="VAE"):
    """Adam on the negative ELBO with a cosine learning-rate decay; returns the mean loss per epoch.

    corrupt: optional function x -> noisy x (denoising VAE); loss_fn: replaces vae_loss (same signature).
    """
    loss_fn = loss_fn or vae_loss
    model.to(DEVICE).train()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    X = to_tensor(x, device_=DEVICE)
    Y = None if y is None else torch.as_tensor(y, device=DEVICE)
    gen = torch.Generator(device="cpu").manual_seed(SEED)
    history = []
    # The data already sit on DEVICE: slicing a fresh permutation each epoch is cheaper than a DataLoader.
    for epoch in (bar := trange(epochs, desc=desc, leave=False)):
        perm = torch.randperm(len(X), generator=gen).to(DEVICE)
        total = 0.0
        for start in range(0, len(X), batch_size):
            idx = perm[start:start + batch_size]
            xb = X[idx]
            x_in = None if corrupt is None else corrupt(xb)
            loss = loss_fn(model, xb, None if Y is None else Y[idx], x_in=x_in, beta=beta)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        sched.step()
        history.append(total / len(X))
        bar.set_postfix(loss=f"{history[-1]:.2f}")
    return history

# %% only=tf
class VAE(keras.Model):
    def __init__(self, x_dim=64, z_dim=16, hidden=(256, 256), num_classes=0, **kwargs):
        super().__init__(**kwargs)
        self.z_dim, self.num_classes = z_dim, num_classes
        self.encoder = MLP(x_dim + num_classes, hidden, 2 * z_dim)  # x (+ label) -> (mu, logvar)
        self.decoder = MLP(z_dim + num_classes, hidden, x_dim)      # z (+ label) -> logits

    def encode(self, x):                       # (B, D) -> (B, Z), (B, Z)
        mu, logvar = tf.split(self.encoder(x), 2, axis=-1)
        return mu, logvar

    def decode(self, z):                       # (..., Z) -> (..., D) logits
        shape = tf.shape(z)                    # Dense layers want (N, Z): flatten leading axes
        out = self.decoder(tf.reshape(z, (-1, z.shape[-1])))
        return tf.reshape(out, tf.concat([shape[:-1], [-1]], axis=0))


def vae_loss(model, x, y=None, x_in=None, beta=1.0):
    """Negative ELBO of a batch. x: targets (B, 64); x_in: what the encoder sees (default x; noisy for denoising); y: labels (CVAE)."""
    x_in = x if x_in is None else x_in
    enc_in = x_in if y is None else conditional_input(x_in, y, model.num_classes)
    mu, logvar = model.encode(enc_in)
    z = reparameterize(mu, logvar)
    dec_in = z if y is None else conditional_input(z, y, model.num_classes)
    return negative_elbo(x, model.decode(dec_in), mu, logvar, beta)


def train_vae(model, x, y=None, epochs=100, beta=1.0, lr=1e-3, batch_size=100, corrupt=None, loss_fn=None, desc="VAE"):
    """Adam on the negative ELBO with a cosine learning-rate decay; returns the mean loss per epoch.

    corrupt: optional function x -> noisy x (denoising VAE); loss_fn: replaces vae_loss (same signature).
    """
    loss_fn = loss_fn or vae_loss
    steps = epochs * math.ceil(len(x) / batch_size)
    opt = keras.optimizers.Adam(learning_rate=keras.optimizers.schedules.CosineDecay(lr, steps))
    opt.build(model.trainable_variables)  # its slots made now: a compiled step that creates variables is traced twice
    ds = make_loader(x, np.zeros(len(x), np.int64) if y is None else y, batch_size=batch_size, seed=SEED)  # reshuffled each epoch

    @tf.function(input_signature=ds.element_spec)  # batch size left open: one trace, also for the short last batch
    def step(xb, yb):
        with tf.GradientTape() as tape:
            x_in = None if corrupt is None else corrupt(xb)
            loss = loss_fn(model, xb, None if y is None else yb, x_in=x_in, beta=beta)
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    history = []
    with tf.device(DEVICE):
        for epoch in (bar := trange(epochs, desc=desc, leave=False)):
            total, n = 0.0, 0
            for xb, yb in ds:
                total += float(step(xb, yb)) * int(xb.shape[0])
                n += int(xb.shape[0])
            history.append(total / n)
            bar.set_postfix(loss=f"{history[-1]:.2f}")
    return history

# %% [markdown]
# Train the main model: $Z = 16$, 300 epochs over the 1,500 training digits (well under a minute on 2 CPU cores; QUICK mode: 30 epochs).

# %%
EPOCHS = pick(300, 30)
genlab.seed_everything(SEED)
vae = VAE(z_dim=16)
t0 = time.time()
history = train_vae(vae, x_train, epochs=EPOCHS)
train_seconds = time.time() - t0
print(f"{EPOCHS} epochs in {train_seconds:.1f} s; final training loss {history[-1]:.2f} nats")
report("vae/train_seconds", train_seconds, "s")
loss_curves({"train -ELBO": history}, ylabel="nats per image", title="VAE training");

# %% [markdown]
# ## 5. Reconstructions, samples, interpolation · 重建、采样与插值
#
# Reconstructions decode the posterior mean $\mu(x)$; samples decode $z \sim \mathcal N(0, I)$. We show the Bernoulli **means** $\sigma(\ell)$ (grey levels), not binary draws.
# Interpolating linearly between the codes of two test digits shows a smooth latent space: every point in between decodes to something digit-like.

# %% only=torch
@torch.no_grad()
def decode_probs(model, z, y=None):
    """Bernoulli means sigmoid(logits) as NumPy, for pictures."""
    model.eval()
    z = to_tensor(z, device_=DEVICE)
    if y is not None:
        z = conditional_input(z, torch.as_tensor(y, device=DEVICE), model.num_classes)
    return to_numpy(torch.sigmoid(model.decode(z)))


@torch.no_grad()
def encode_mean(model, x, y=None):
    model.eval()
    x = to_tensor(x, device_=DEVICE)
    if y is not None:
        x = conditional_input(x, torch.as_tensor(y, device=DEVICE), model.num_classes)
    return to_numpy(model.encode(x)[0])

# %% only=tf
def decode_probs(model, z, y=None):
    """Bernoulli means sigmoid(logits) as NumPy, for pictures."""
    z = to_tensor(z)
    if y is not None:
        z = conditional_input(z, tf.constant(y, tf.int64), model.num_classes)
    return to_numpy(tf.sigmoid(model.decode(z)))


def encode_mean(model, x, y=None):
    x = to_tensor(x)
    if y is not None:
        x = conditional_input(x, tf.constant(y, tf.int64), model.num_classes)
    return to_numpy(model.encode(x)[0])

# %%
rng = np.random.default_rng(SEED)
recon = decode_probs(vae, encode_mean(vae, x_test[:12]))
image_grid(np.concatenate([x_test[:12], recon]), nrow=12, title="test digits (top) and their reconstructions (bottom)")
samples = decode_probs(vae, rng.standard_normal((40, vae.z_dim)).astype(np.float32))
image_grid(samples, nrow=20, title="samples: z ~ N(0, I), decoded")
z_a, z_b = encode_mean(vae, x_test[[0, 5]])
path = np.stack([(1 - t) * z_a + t * z_b for t in np.linspace(0, 1, 10)]).astype(np.float32)
image_grid(decode_probs(vae, path), nrow=10, title=f"interpolation from a {y_test[0]} to a {y_test[5]}");

# %% [markdown]
# ## 6. How good is the model? The IWAE bound · 用 IWAE 评估对数似然
#
# The test-set negative ELBO is an *upper* bound on the negative log-likelihood (NLL). The importance-weighted bound with $K$
# samples is tighter: $-\mathcal L_K$ decreases towards the NLL as $K$ grows. We report both in **nats per image**.
#
# ### Exercise 6 · `iwae_bound` (2 points)
# Given `(K, B)` tensors $\log p(x\mid z_k)$, $\log p(z_k)$ and $\log q(z_k\mid x)$ for $K$ samples of each of $B$ images, return the `(B,)` bound
# $\mathcal L_K = \log \frac1K \sum_k \exp\big(\log p(x\mid z_k) + \log p(z_k) - \log q(z_k\mid x)\big)$, computed stably (log-sum-exp).

# %% solution id=vae_iwae_bound only=torch
def iwae_bound(log_px_z, log_pz, log_qz):
    """Importance-weighted lower bound on log p(x): inputs (K, B), output (B,). Stable for any magnitude."""
    ### BEGIN SOLUTION
    log_w = log_px_z + log_pz - log_qz                                   # (K, B)
    return torch.logsumexp(log_w, dim=0) - math.log(log_w.shape[0])
    ### END SOLUTION

# %% solution id=vae_iwae_bound only=tf
def iwae_bound(log_px_z, log_pz, log_qz):
    """Importance-weighted lower bound on log p(x): inputs (K, B), output (B,). Stable for any magnitude."""
    ### BEGIN SOLUTION
    log_w = log_px_z + log_pz - log_qz                                   # (K, B)
    return tf.reduce_logsumexp(log_w, axis=0) - tf.math.log(tf.cast(tf.shape(log_w)[0], log_w.dtype))
    ### END SOLUTION

# %% test id=vae_iwae_bound_test points=2
"""iwae_bound: logsumexp over the K samples (axis 0) minus log K, one value per image.

Catches: log(mean(exp(.))) that overflows or underflows for log-weights around +-1000; a missing
-log K, or -log B; the mean of the log-weights (that is the ELBO estimate, not L_K); the wrong axis (K vs B);
log q added instead of subtracted; max instead of logsumexp.
"""
import numpy as np
from scipy.special import logsumexp
from genlab.testing import assert_close
from genlab.fw import to_tensor as T

lp = np.log(np.array([[0.5], [0.25]])); zero = np.zeros((2, 1))
assert_close(iwae_bound(T(lp), T(zero), T(zero)), [np.log(0.375)], "bound of two weights")
# K = 3 samples of B = 2 images, log-weights near -1000 and -520 (exp of them is 0 in float32)
lpx = np.array([[-1000.0, -520.5], [-1002.0, -518.0], [-999.0, -523.0]])
lpz = np.array([[-3.0, -2.5], [-1.0, -4.0], [-2.0, -3.5]]); lqz = np.array([[-1.5, -0.5], [-2.5, -1.0], [-0.8, -2.2]])
assert_close(iwae_bound(T(lpx), T(lpz), T(lqz)), logsumexp(lpx + lpz - lqz, axis=0) - np.log(3), "bound (K=3, B=2)")
### BEGIN HIDDEN TESTS
def _iwae_oracle(a, b, c):
    return logsumexp(a + b - c, axis=0) - np.log(a.shape[0])

rng = np.random.default_rng(17)
K, B = 7, 3
a, b, c = rng.normal(-20, 3, (K, B)), rng.normal(-8, 2, (K, B)), rng.normal(-6, 2, (K, B))
assert_close(iwae_bound(T(a), T(b), T(c)), _iwae_oracle(a, b, c), "bound (K=7, B=3)")
# log-weights far from zero: naive exp under- or overflows in float32
for offset in (-1000.0, 800.0):
    a = offset + rng.normal(0, 2, (50, 4))
    assert_close(iwae_bound(T(a), T(np.zeros((50, 4))), T(np.zeros((50, 4)))), _iwae_oracle(a, 0 * a, 0 * a), f"bound with log-weights near {offset}", rtol=1e-5)
# K = 1 is the ELBO estimate itself
a, b, c = rng.normal(size=(1, 5)), rng.normal(size=(1, 5)), rng.normal(size=(1, 5))
assert_close(iwae_bound(T(a), T(b), T(c)), (a + b - c)[0], "bound with K=1")
# equal weights: L_K equals the common log-weight
a = np.full((9, 2), -3.0)
assert_close(iwae_bound(T(a), T(np.zeros((9, 2))), T(np.zeros((9, 2)))), [-3.0, -3.0], "bound with equal weights")
### END HIDDEN TESTS

# %% only=torch
@torch.no_grad()
def evaluate(model, x, k=1000, elbo_samples=10, batch=32):
    """Test-set -ELBO (mean of elbo_samples single-sample estimates) and -L_K (IWAE, K = k), nats per image."""
    model.eval()
    X = to_tensor(x, device_=DEVICE)
    nelbo = float(np.mean([vae_loss(model, X).item() for _ in range(elbo_samples)]))
    bounds = []
    for xb in X.split(batch):
        mu, logvar = model.encode(xb)                          # (B, Z)
        z = reparameterize(mu, logvar, torch.randn(k, *mu.shape, device=DEVICE))  # (K, B, Z)
        log_px_z = bernoulli_log_likelihood(xb, model.decode(z))                  # (K, B)
        log_pz = log_normal(z, torch.zeros_like(z), torch.zeros_like(z))
        log_qz = log_normal(z, mu, logvar)
        bounds.append(iwae_bound(log_px_z, log_pz, log_qz))                       # (B,)
    return nelbo, -torch.cat(bounds).mean().item()

# %% only=tf
def evaluate(model, x, k=1000, elbo_samples=10, batch=32):
    """Test-set -ELBO (mean of elbo_samples single-sample estimates) and -L_K (IWAE, K = k), nats per image."""
    X = to_tensor(x)
    nelbo = float(np.mean([float(vae_loss(model, X)) for _ in range(elbo_samples)]))

    @tf.function(input_signature=[tf.TensorSpec([None, X.shape[1]], tf.float32)])  # one trace for every batch size
    def bound(xb):
        mu, logvar = model.encode(xb)                          # (B, Z)
        z = reparameterize(mu, logvar, tf.random.normal(tf.concat([[k], tf.shape(mu)], 0)))  # (K, B, Z)
        log_px_z = bernoulli_log_likelihood(xb, model.decode(z))                            # (K, B)
        log_pz = log_normal(z, tf.zeros_like(z), tf.zeros_like(z))
        log_qz = log_normal(z, mu, logvar)
        return iwae_bound(log_px_z, log_pz, log_qz)                                         # (B,)

    with tf.device(DEVICE):
        bounds = [bound(X[i:i + batch]) for i in range(0, len(x), batch)]
    return nelbo, -float(tf.reduce_mean(tf.concat(bounds, 0)))

# %%
K = pick(1000, 50)
test_nelbo, test_iwae = evaluate(vae, x_test, k=K)
train_nelbo, _ = evaluate(vae, x_train[:300], k=2)
print(f"train -ELBO {train_nelbo:.2f} | test -ELBO {test_nelbo:.2f} | test IWAE NLL (K={K}) {test_iwae:.2f} nats per image")
print("IWAE bound <= -ELBO:", test_iwae <= test_nelbo)
report("vae/test_neg_elbo_nats", test_nelbo, "nats")
report("vae/test_iwae_nll_nats", test_iwae, "nats")

# %% [markdown]
# Reading the numbers: the gap between the test $-$ELBO and the IWAE NLL is roughly the KL between $q(z\mid x)$ and the true posterior (the
# "inference gap"), about a nat here. The gap between training and test $-$ELBO is overfitting: 1,500 images are few for two 256-unit MLPs.
# For scale: 64 fair coin flips cost $64 \ln 2 \approx 44.4$ nats; an independent-pixel model with the training set's pixel frequencies costs far more than the VAE.

# %%
p = np.clip(x_train.mean(0), 1e-3, 1 - 1e-3)
independent_nll = -np.mean(np.sum(x_test * np.log(p) + (1 - x_test) * np.log(1 - p), axis=1))
print(f"independent-pixel baseline: {independent_nll:.2f} nats per test image; VAE (IWAE): {test_iwae:.2f}")
report("vae/independent_pixel_nll_nats", independent_nll, "nats")

# %% [markdown]
# ### Sample quality with `genlab.metrics` · 样本质量
#
# Likelihood is not the only yardstick. Chapter 09's metrics compare **samples** with real digits in the feature space of a small digits classifier that ships
# with the course (`datasets/digits_classifier.md`): the Fréchet distance (FID-style, lower is better) and k-NN precision/recall (Kynkäänniemi et al., 2019).
# Real samples of the model are Bernoulli **draws** $x \sim p(x\mid z)$, $z \sim p(z)$, so we binarise nothing by hand. The floor is the same numbers for 297
# training digits against the 297 test digits: a model cannot be expected to beat real data.

# %%
from genlab.metrics import digits_features, frechet_distance, precision_recall

n = len(x_test)
draw_rng = np.random.default_rng(SEED + 3)
model_draws = (draw_rng.random((n, 64)) < decode_probs(vae, draw_rng.standard_normal((n, vae.z_dim)).astype(np.float32))).astype(np.float32)
real_subset = x_train[draw_rng.choice(len(x_train), n, replace=False)]
f_test, f_real, f_model = (digits_features(a) for a in (x_test, real_subset, model_draws))
floor_fd, model_fd = frechet_distance(f_real, f_test), frechet_distance(f_model, f_test)
(p_real, r_real), (p_model, r_model) = precision_recall(f_test, f_real, k=3), precision_recall(f_test, f_model, k=3)
print(f"Frechet distance to the test digits: real training digits {floor_fd:.3f} | VAE draws {model_fd:.3f}")
print(f"precision / recall (k=3):            real training digits {p_real:.2f} / {r_real:.2f} | VAE draws {p_model:.2f} / {r_model:.2f}")
report("vae/fd_real_floor", floor_fd)
report("vae/fd_samples", model_fd)
report("vae/sample_precision", p_model)
report("vae/sample_recall", r_model)

# %% [markdown]
# ### Training on the tighter bound · 直接优化 IWAE 下界
#
# Nothing forces us to *train* on the ELBO: maximising $\mathcal L_K$ (here $K = 10$) is the IWAE of Burda et al. It usually buys a better test log-likelihood,
# at the price of an encoder that is a good *proposal* rather than a good posterior approximation, so the same model's ELBO gets worse. Both numbers below are for the same test set.

# %% only=torch
def iwae_loss(model, x, y=None, x_in=None, beta=1.0, k=10):
    """-mean L_K over the batch (the IWAE training objective); same signature as vae_loss."""
    mu, logvar = model.encode(x)
    z = reparameterize(mu, logvar, torch.randn(k, *mu.shape, device=mu.device))   # (K, B, Z)
    log_w_terms = (bernoulli_log_likelihood(x, model.decode(z)), log_normal(z, torch.zeros_like(z), torch.zeros_like(z)),
                   log_normal(z, mu, logvar))
    return -torch.mean(iwae_bound(*log_w_terms))

# %% only=tf
def iwae_loss(model, x, y=None, x_in=None, beta=1.0, k=10):
    """-mean L_K over the batch (the IWAE training objective); same signature as vae_loss."""
    mu, logvar = model.encode(x)
    z = reparameterize(mu, logvar, tf.random.normal(tf.concat([[k], tf.shape(mu)], 0)))  # (K, B, Z)
    log_w_terms = (bernoulli_log_likelihood(x, model.decode(z)), log_normal(z, tf.zeros_like(z), tf.zeros_like(z)),
                   log_normal(z, mu, logvar))
    return -tf.reduce_mean(iwae_bound(*log_w_terms))

# %%
genlab.seed_everything(SEED)
iwae_model = VAE(z_dim=16)
t0 = time.time()
iwae_history = train_vae(iwae_model, x_train, epochs=pick(500, 20), loss_fn=iwae_loss, desc="IWAE k=10")
iwae_seconds = time.time() - t0
iw_nelbo, iw_nll = evaluate(iwae_model, x_test, k=K)
print(f"trained on L_10 for {iwae_seconds:.0f} s: test -ELBO {iw_nelbo:.2f}, test IWAE NLL (K={K}) {iw_nll:.2f} nats")
print(f"trained on the ELBO:        test -ELBO {test_nelbo:.2f}, test IWAE NLL (K={K}) {test_iwae:.2f} nats")
report("vae/iwae_trained_test_neg_elbo_nats", iw_nelbo, "nats")
report("vae/iwae_trained_test_iwae_nll_nats", iw_nll, "nats")
report("vae/iwae_trained_train_seconds", iwae_seconds, "s")

# %% [markdown]
# ## 7. A 2-D latent map · 二维隐空间
#
# With $Z = 2$ we can look at the latent space directly: the posterior means of the test digits, coloured by class (the labels were never used in training),
# and the decoder's output over a grid of $z$ values spaced by the prior's quantiles.

# %%
from scipy.stats import norm

genlab.seed_everything(SEED)
vae2 = VAE(z_dim=2)
train_vae(vae2, x_train, epochs=pick(150, 15), desc="VAE z=2")
scatter_2d(encode_mean(vae2, x_test), y_test, title="posterior means of the test digits (z = 2)")
grid = norm.ppf(np.linspace(0.05, 0.95, 12))  # prior quantiles: equal probability mass between rows
zz = np.array([[a, b] for b in grid[::-1] for a in grid], dtype=np.float32)
image_grid(decode_probs(vae2, zz), nrow=12, scale=0.55, title="decoder over a 12x12 grid of z (z1 left to right, z2 bottom to top)");

# %% [markdown]
# ## 8. $\beta$-VAE: rate versus distortion · β-VAE：率失真权衡
#
# Weighting the KL by $\beta$ (Higgins et al., 2017) trades the **rate** $R = \mathbb E_x\,\mathrm{KL}(q(z\mid x)\,\|\,p(z))$ (nats of information the code carries about $x$)
# against the **distortion** $D = -\mathbb E\,\log p(x\mid z)$. Every $\beta$ gives one point on the curve; $-\text{ELBO} = D + R$ only for $\beta = 1$.
# Large $\beta$ pushes dimensions to the prior (they become "inactive": posterior collapse); small $\beta$ buys sharp reconstructions with an expensive code.

# %% only=torch
@torch.no_grad()
def rate_distortion(model, x):
    """Test-set rate (mean KL, nats), distortion (mean -log p(x|z), nats) and the number of active latent dims (mean KL > 0.01)."""
    model.eval()
    X = to_tensor(x, device_=DEVICE)
    mu, logvar = model.encode(X)
    z = reparameterize(mu, logvar)
    per_dim_kl = 0.5 * (mu ** 2 + logvar.exp() - 1 - logvar).mean(0)
    return (gaussian_kl(mu, logvar).mean().item(), -bernoulli_log_likelihood(X, model.decode(z)).mean().item(),
            int((per_dim_kl > 0.01).sum()))

# %% only=tf
def rate_distortion(model, x):
    """Test-set rate (mean KL, nats), distortion (mean -log p(x|z), nats) and the number of active latent dims (mean KL > 0.01)."""
    X = to_tensor(x)
    mu, logvar = model.encode(X)
    z = reparameterize(mu, logvar)
    per_dim_kl = tf.reduce_mean(0.5 * (mu ** 2 + tf.exp(logvar) - 1 - logvar), axis=0)
    return (float(tf.reduce_mean(gaussian_kl(mu, logvar))), float(tf.reduce_mean(-bernoulli_log_likelihood(X, model.decode(z)))),
            int(tf.reduce_sum(tf.cast(per_dim_kl > 0.01, tf.int32))))

# %%
BETAS = pick([0.25, 0.5, 1.0, 2.0, 4.0], [0.5, 2.0])
rd = {}
for beta in BETAS:
    genlab.seed_everything(SEED)
    model_b = VAE(z_dim=16)
    train_vae(model_b, x_train, epochs=pick(100, 15), beta=beta, desc=f"beta={beta}")
    rd[beta] = rate_distortion(model_b, x_test)
    print(f"beta={beta:<5} rate {rd[beta][0]:6.2f} nats  distortion {rd[beta][1]:6.2f} nats  active dims {rd[beta][2]:2d}/16")
    report(f"vae/beta_{beta}_rate_nats", rd[beta][0], "nats")
fig, ax = plt.subplots(figsize=(5, 3.5))
rates, dists = [rd[b][0] for b in BETAS], [rd[b][1] for b in BETAS]
ax.plot(rates, dists, "o-")
for b in BETAS:
    ax.annotate(f"β={b}", rd[b][:2], textcoords="offset points", xytext=(5, 5))
ax.set_xlabel("rate R (nats)"); ax.set_ylabel("distortion D (nats)"); ax.set_title("β-VAE on the test digits"); ax.grid(alpha=0.3)
fig.tight_layout()

# %% [markdown]
# What to look for: as $\beta$ grows the rate falls and the distortion rises; at large $\beta$ the number of active dimensions drops, and at $\beta = 4$ typically
# none is left: $q(z\mid x) = p(z)$ for every $x$, the decoder ignores $z$ and draws the average digit. That is **posterior collapse**, the same failure a too-powerful
# decoder (e.g. an autoregressive one) causes at $\beta = 1$. Remedies an interviewer expects: KL annealing (warm-up of $\beta$), free bits, a weaker decoder, $\delta$-VAE.

# %% [markdown]
# ## 9. A conditional VAE that draws a chosen digit · 条件 VAE
#
# Give both the encoder and the decoder the label: $q(z\mid x, y)$ and $p(x\mid z, y)$ (Sohn et al., 2015). The latent code no longer needs to store the class,
# so it captures style (slant, thickness), and at sampling time we choose $y$.
#
# ### Exercise 7 · `conditional_input` (1 point)
# Concatenate a batch `h` of shape `(B, D)` (images or latent codes) with the one-hot encoding of integer labels `y` (shape `(B,)`) along the feature axis: output `(B, D + num_classes)`, same float dtype as `h`.

# %% solution id=vae_conditional_input only=torch
def conditional_input(h, y, num_classes=10):
    """[h, one_hot(y)] along the last axis: h (B, D) float, y (B,) int -> (B, D + num_classes)."""
    ### BEGIN SOLUTION
    onehot = torch.nn.functional.one_hot(y.long(), num_classes).to(h.dtype)
    return torch.cat([h, onehot], dim=-1)
    ### END SOLUTION

# %% solution id=vae_conditional_input only=tf
def conditional_input(h, y, num_classes=10):
    """[h, one_hot(y)] along the last axis: h (B, D) float, y (B,) int -> (B, D + num_classes)."""
    ### BEGIN SOLUTION
    onehot = tf.one_hot(tf.cast(y, tf.int32), num_classes, dtype=h.dtype)
    return tf.concat([h, onehot], axis=-1)
    ### END SOLUTION

# %% test id=vae_conditional_input_test points=1
"""conditional_input: features first, then a one-hot block of width num_classes; gradients still reach h.

Catches: concatenation along the batch axis; the label appended as one number instead of one-hot;
an off-by-one one-hot (label 0 -> column 1); num_classes ignored (fixed at 10, or one_hot without it:
as wide as the largest label + 1); one-hot before the features; an integer or boolean result that
breaks the Dense/Linear layer.
"""
import numpy as np
from genlab.testing import assert_close, assert_finite_grads
from genlab.fw import grad_of, to_labels as L, to_tensor as T

h = np.array([[0.5, -1.0], [2.0, 0.0]])
out = conditional_input(T(h), L(np.array([0, 2])), num_classes=4)
assert_close(out, [[0.5, -1.0, 1, 0, 0, 0], [2.0, 0.0, 0, 0, 1, 0]], "conditioned input (num_classes=4)")
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(9)
for num_classes in (10, 4):
    h, y = rng.normal(size=(6, 5)), rng.integers(0, num_classes, 6)
    want = np.concatenate([h, np.eye(num_classes)[y]], axis=1)
    got = conditional_input(T(h), L(y), num_classes=num_classes)
    assert_close(got, want, f"conditioned input with {num_classes} classes")
    assert "float" in str(got.dtype), f"result dtype {got.dtype} is not floating point"
assert_close(conditional_input(T(h[:2]), L(np.array([1, 0])), num_classes=3), np.concatenate([h[:2], np.eye(3)[[1, 0]]], axis=1),
             "conditioned input, labels below num_classes - 1")
y = np.array([9, 0, 3])
_, (g_h,) = grad_of(lambda t: conditional_input(t, L(y), 10), rng.normal(size=(3, 4)))
assert_finite_grads([g_h], ["h"])
assert_close(g_h, np.ones((3, 4)), "d out / d h")
### END HIDDEN TESTS

# %%
genlab.seed_everything(SEED)
cvae = VAE(z_dim=8, num_classes=10)
train_vae(cvae, x_train, y_train, epochs=pick(200, 20), desc="CVAE")
n_per = 10
labels = np.repeat(np.arange(10), n_per)
z = np.random.default_rng(SEED).standard_normal((len(labels), cvae.z_dim)).astype(np.float32)
cvae_samples = decode_probs(cvae, z, labels)
image_grid(cvae_samples, nrow=n_per, title="CVAE: row d shows samples drawn with label d");

# %% [markdown]
# Does the CVAE draw the digit we ask for? A classifier trained on the **real** binarised training digits (logistic regression, scikit-learn) labels the samples.
# Its accuracy on the real test digits is the ceiling for this check.

# %%
from sklearn.linear_model import LogisticRegression

judge = LogisticRegression(max_iter=2000).fit(x_train, y_train)
judge_test_acc = judge.score(x_test, y_test)
many = np.repeat(np.arange(10), pick(100, 20))
z = np.random.default_rng(SEED + 1).standard_normal((len(many), cvae.z_dim)).astype(np.float32)
cvae_acc = judge.score((decode_probs(cvae, z, many) > 0.5).astype(np.float32), many)
print(f"judge accuracy on real test digits {judge_test_acc:.3f}; on CVAE samples of the requested digit {cvae_acc:.3f}")
report("vae/cvae_requested_digit_accuracy", cvae_acc)

# %% [markdown]
# ## 10. A denoising VAE (seed S003-P2 done right) · 去噪 VAE
#
# As in the seed: add Gaussian noise with standard deviation 0.5 to the **grey-level** digits and clip to $[0, 1]$. Feed the **noisy** image to the encoder and score the
# decoder against the **clean** image: $\mathcal L = \mathbb E_{\tilde x \sim C(\tilde x\mid x)}\big[\mathbb E_{q(z\mid\tilde x)}\log p(x\mid z) - \mathrm{KL}(q(z\mid\tilde x)\,\|\,p(z))\big]$.
# It is still a VAE (sampling step and KL term included: the seed's version had neither, so it was a plain autoencoder).
# Grey levels in $[0, 1]$ with the Bernoulli cross-entropy are the usual practical choice (strictly, the Bernoulli density is not normalised for non-binary $x$; the
# *continuous Bernoulli* of Loaiza-Ganem & Cunningham, 2019, fixes that).
#
# We compare, by PSNR against the clean test images (higher is better): the noisy input, a VAE trained on clean digits and given the noisy input, and the denoising VAE.
# Both VAEs denoise by mapping the input onto the digit manifold they learned; training on corrupted inputs teaches the encoder to ignore the noise.

# %% only=torch
NOISE = 0.5

def add_noise(x):
    """x + N(0, NOISE^2), clipped to [0, 1] (the seed's corruption)."""
    return torch.clamp(x + NOISE * torch.randn_like(x), 0.0, 1.0)

# %% only=tf
NOISE = 0.5

def add_noise(x):
    """x + N(0, NOISE^2), clipped to [0, 1] (the seed's corruption)."""
    return tf.clip_by_value(x + NOISE * tf.random.normal(tf.shape(x)), 0.0, 1.0)

# %%
grey_train, grey_test = load_digits("train").flat(), load_digits("test").flat()
models = {}
for name, corrupt in [("VAE on clean digits", None), ("denoising VAE", add_noise)]:
    genlab.seed_everything(SEED)
    models[name] = VAE(z_dim=16)
    train_vae(models[name], grey_train, epochs=pick(200, 20), corrupt=corrupt, desc=name)
noise_rng = np.random.default_rng(SEED + 2)
x_noisy = np.clip(grey_test + NOISE * noise_rng.standard_normal(grey_test.shape), 0, 1).astype(np.float32)

def psnr(a, b):
    return 10 * np.log10(1.0 / np.mean((a - b) ** 2))  # data range 1

outputs = {"noisy input": x_noisy}
outputs.update({name: decode_probs(m, encode_mean(m, x_noisy)) for name, m in models.items()})
for name, img in outputs.items():
    print(f"{name:>20}: PSNR {psnr(img, grey_test):5.2f} dB")
report("vae/denoise_psnr_noisy_db", psnr(x_noisy, grey_test), "dB")
report("vae/denoise_psnr_clean_vae_db", psnr(outputs["VAE on clean digits"], grey_test), "dB")
report("vae/denoise_psnr_dvae_db", psnr(outputs["denoising VAE"], grey_test), "dB")
image_grid(np.concatenate([grey_test[:12], x_noisy[:12], outputs["VAE on clean digits"][:12], outputs["denoising VAE"][:12]]), nrow=12,
           title="clean / noisy (sigma 0.5) / VAE trained on clean digits / denoising VAE");

# %% [markdown]
# ## 11. What the seeds' VAE code gets wrong · 种子代码错在哪里
#
# **S002-P2 ("implement a VAE", TensorFlow)**
# 1. The loss is computed **once, outside** `tf.GradientTape`, from variables (`z_mean`, `logits`) that do not exist at that point; inside the loop the tape records nothing, so `tape.gradient` returns `None`. *Fix:* compute the loss from the model's outputs inside the tape (`vae_loss` above).
# 2. `decode` applies a sigmoid and `call` names the result `logits`. Probabilities passed where logits are expected get a second sigmoid; `log(sigmoid(.))` on probabilities is also numerically unsafe. *Fix:* the decoder returns logits; the likelihood uses `x*l - softplus(l)` (Exercise 3).
# 3. `reduce_mean` of `binary_crossentropy` averages over pixels and `reduce_mean` in the KL averages over latent dimensions: the two terms are on different scales (the effective $\beta$ becomes $Z/D$), so this is not the ELBO. *Fix:* sum over pixels and latent dimensions, mean over the batch (Exercise 5).
# 4. `for x_batch in x_train` iterates over **single images**, not batches, and the data is downloaded at run time (`mnist.load_data()`).
# 5. It plots 1,000 samples on a 10x10 subplot grid: `plt.subplot(10, 10, 101)` raises an error.
#
# **S003-P2 ("VAE image denoising")**
# 1. The "VAE" has **no sampling step and no KL term**: `Sequential([encoder, Dense(latent), Dense(latent), decoder])` is a deterministic autoencoder (and the two stacked linear layers collapse into one linear map). *Fix:* encoder outputs $(\mu, \log\sigma^2)$, reparameterise, add the KL (Section 10).
# 2. Three stride-2 transposed convolutions from 7x7 give **56x56** outputs for 28x28 targets: the loss cannot even be computed.
# 3. `epochs`, `batches` and `batch_size` are undefined, every step trains on the same first batch, and `evaluate` runs after every step.
#
# ## 12. Summary · 小结
#
# | quantity | value in this run |
# |---|---|
# | test $-$ELBO, IWAE NLL (ELBO-trained) | printed in Section 6 |
# | test IWAE NLL (trained on $\mathcal L_{10}$) | printed in Section 6 |
# | CVAE requested-digit accuracy | printed in Section 9 |
# | denoising: PSNR of noisy input, clean-trained VAE, denoising VAE | printed in Section 10 |
#
# - The ELBO = reconstruction − KL is a lower bound on $\log p(x)$; the gap is $\mathrm{KL}(q(z\mid x)\,\|\,p(z\mid x))$.
# - Reparameterise so gradients reach $\mu$ and $\sigma$; parameterise $\log\sigma^2$; compute likelihoods from logits.
# - Sum over pixels and latent dimensions, average over examples; $\beta$ moves the model along the rate-distortion curve.
# - Report log-likelihoods with a tight estimator (IWAE with large $K$), in nats per image, on held-out data.
#
# **Interview drill:** the items of this chapter are in `questions/02_vae.yaml` (中文 / English); practise them with `genlab drill --chapter vae`.
# Each exercise above is linked from the items that ask about it (for example `02_vae#vae_gaussian_kl`).
