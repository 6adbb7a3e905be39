# %% [markdown]
# # Chapter 03 · Generative adversarial networks (GAN) · 生成对抗网络
#
# **What you will be able to answer in an interview / 学完本章你能回答：**
#
# - Write down the minimax objective; derive the optimal discriminator and show that the generator then minimises a Jensen-Shannon divergence. / 写出极小极大目标，推导最优判别器及其与 JS 散度的关系。
# - Why nobody trains the generator on $\log(1 - D(G(z)))$, and what the non-saturating loss fixes. / 为什么实践中使用非饱和生成器损失。
# - What mode collapse is, how to *measure* it, what causes it, and what WGAN-GP changes. / 什么是模式坍塌，如何度量，WGAN-GP 改变了什么。
# - How a DCGAN and a conditional GAN are built; how to check that a cGAN draws the digit you asked for. / DCGAN 与条件 GAN。
# - How a super-resolution network with sub-pixel convolution (pixel shuffle, ESPCN) works, why it is trained with a content loss first, and what an adversarial term does to PSNR. / 亚像素卷积超分辨率。
# - The stability toolbox an interviewer expects: one-sided label smoothing, TTUR, gradient penalties, spectral normalisation, and what healthy loss curves look like. / 训练稳定性技巧。
#
# Seeds covered: S002-P1 (implement a GAN), S003-P1 (GAN image super-resolution), S000-Q3, S001-Q14, S001-Q28, S003-Q5 (vision applications), S004 2.3 (training, cGAN, DCGAN, progressive growing), S004 3.1-3.2 (SRGAN, ESPCN), S002-Q7 (diversity and mode collapse). The seeds' GAN code is wrong in instructive ways; Section 8 shows where.
#
# This notebook uses **{{framework}}**; its twin uses the other framework with the same exercises and the same tests.

# %% [markdown]
# ## 1. The game, short · 极小极大博弈
#
# A generator $G$ maps noise $z \sim p(z)$ to data space; a discriminator $D(x) \in (0, 1)$ estimates the probability that $x$ is real. Goodfellow et al. (2014) train them on
#
# $$\min_G \max_D\; V(D, G) = \mathbb E_{x\sim p_\text{data}}\big[\log D(x)\big] + \mathbb E_{z\sim p(z)}\big[\log\big(1 - D(G(z))\big)\big].$$
#
# **Optimal discriminator.** For a fixed $G$ with sample density $p_g$, $V = \int p_\text{data}(x)\log D(x) + p_g(x)\log(1 - D(x))\,dx$. Pointwise, $a\log y + b\log(1-y)$ is maximised at $y = a/(a+b)$, so
# $$D^*(x) = \frac{p_\text{data}(x)}{p_\text{data}(x) + p_g(x)}.$$
# **Jensen-Shannon.** Substituting $D^*$ and writing $m = \tfrac12(p_\text{data} + p_g)$:
# $$V(D^*, G) = \mathrm{KL}(p_\text{data}\,\|\,m) + \mathrm{KL}(p_g\,\|\,m) - \log 4 = 2\,\mathrm{JS}(p_\text{data}\,\|\,p_g) - \log 4,$$
# minimised (value $-\log 4$) exactly when $p_g = p_\text{data}$, where $D^* \equiv \tfrac12$.
#
# **Why the non-saturating loss.** Early in training $D$ rejects fakes confidently, $D(G(z)) \approx 0$. With the logit $\ell = \operatorname{logit} D(G(z))$, the minimax generator loss $\log(1 - \sigma(\ell))$ has gradient $-\sigma(\ell) \to 0$: the generator learns nothing exactly when it is worst. The **non-saturating** loss $-\log D(G(z)) = \operatorname{softplus}(-\ell)$ has gradient $-(1 - \sigma(\ell)) \to -1$ there, the same fixed point, and is what everyone uses.
# Both losses are computed from **logits** (`softplus`), never as `log(sigmoid(.))`.
#
# **Two honest caveats.** (1) The JS picture assumes $D$ is optimal; in practice $D$ takes a few gradient steps per $G$ step. (2) When $p_\text{data}$ and $p_g$ have (nearly) disjoint supports, JS is constant ($\log 2$) and gives no useful gradient; this motivates the Wasserstein distance (Section 3).

# %% only=torch
import math
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import trange

import genlab
from genlab import pick, report
from genlab.data import load_digits
from genlab.torch import MLP, device, images_to_numpy, to_images, to_numpy
from genlab.torch.gan import ConvDiscriminator, ConvGenerator, PatchDiscriminator, SRNet, StackedMLP
from genlab.viz import image_grid, loss_curves

SEED = 0
QUICK = genlab.is_quick()  # GENLAB_QUICK=1: small, fast runs (tests and grading)
DEVICE = device()          # CUDA when present, else CPU
if DEVICE.type == "cpu":
    torch.set_num_threads(1)  # small nets: one thread beats two (no thread sync per op)
genlab.seed_everything(SEED)
print(f"PyTorch {torch.__version__} on {DEVICE}; QUICK={QUICK}")

# %% only=tf
import time

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm, trange

import genlab
from genlab import pick, report
from genlab.data import load_digits
from genlab.tf import MLP, device, images_to_numpy, to_images, to_numpy
from genlab.tf.gan import ConvDiscriminator, ConvGenerator, PatchDiscriminator, SRNet, StackedMLP
from genlab.viz import image_grid, loss_curves

SEED = 0
QUICK = genlab.is_quick()  # GENLAB_QUICK=1: small, fast runs (tests and grading)
DEVICE = device()          # '/GPU:0' when TensorFlow sees a GPU, else '/CPU:0'
genlab.seed_everything(SEED)
print(f"TensorFlow {tf.__version__} (Keras {keras.__version__}) on {DEVICE}; QUICK={QUICK}")

# %% [markdown]
# A numerical check of the derivation on two 1-D Gaussians, $p_\text{data} = \mathcal N(0, 1)$ and $p_g = \mathcal N(\theta, 1)$: we integrate $V(D^*, G)$ on a grid and compare it with $2\,\mathrm{JS} - \log 4$ computed independently, and plot the generator's gradient under both losses.

# %%
from scipy.stats import norm

grid = np.linspace(-12, 20, 320001)
dx = grid[1] - grid[0]
log_p = norm.logpdf(grid)
print(" theta   V(D*, G)   2 JS - log 4")
for theta in [0.0, 0.5, 2.0, 8.0]:
    log_q = norm.logpdf(grid, loc=theta)
    log_sum = np.logaddexp(log_p, log_q)
    log_d_star, log_one_minus = log_p - log_sum, log_q - log_sum      # log D*, log(1 - D*), computed stably
    value = np.sum(np.exp(log_p) * log_d_star + np.exp(log_q) * log_one_minus) * dx
    log_m = log_sum - np.log(2)
    js = 0.5 * np.sum(np.exp(log_p) * (log_p - log_m) + np.exp(log_q) * (log_q - log_m)) * dx
    print(f"{theta:6.1f} {value:10.5f} {2 * js - np.log(4):14.5f}")
print(f"(-log 4 = {-np.log(4):.5f}; JS saturates at log 2 = {np.log(2):.5f} for theta = 8: far-apart distributions give no signal)")

d_fake = np.linspace(0.001, 0.999, 400)           # D(G(z))
logit = np.log(d_fake) - np.log1p(-d_fake)
fig, ax = plt.subplots(figsize=(5.5, 3.2))
ax.plot(d_fake, 1 / (1 + np.exp(-logit)), label=r"minimax  $|\partial \log(1-D)/\partial \ell| = \sigma(\ell)$")
ax.plot(d_fake, 1 - 1 / (1 + np.exp(-logit)), label=r"non-saturating  $|\partial(-\log D)/\partial \ell| = 1-\sigma(\ell)$")
ax.set_xlabel("D(G(z))  (0: the fake is rejected)"); ax.set_ylabel("gradient magnitude w.r.t. the logit")
ax.set_title("where the generator starts, only the non-saturating loss has a gradient", fontsize=9); ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## 2. Exercises: the two losses and one training step · 练习：损失函数与训练步
#
# Both functions take **logits** (the discriminator has no final sigmoid), of any shape (`(B,)` or `(B, 1)`), and return a **scalar** tensor.
#
# **What you may use** in this chapter's exercises: any {{framework}} operation (a cross-entropy *with logits*, `nn.PixelShuffle`/`depth_to_space`, autodiff for the
# penalty's gradient) — each is graded by what it computes, so `depth_to_space`'s other channel order fails Exercise 7 in TensorFlow. Nothing shipped with the course implements them.
#
# ### Exercise 1 · `discriminator_loss` (2 points)
# The binary cross-entropy of real samples against target $1 - s$ plus that of fake samples against target $0$, each **averaged over its own batch**:
# $\;\mathcal L_D = \operatorname{mean}_\text{real}\big[\operatorname{softplus}(\ell) - (1 - s)\,\ell\big] + \operatorname{mean}_\text{fake}\big[\operatorname{softplus}(\ell)\big]$
# (the BCE of a logit $\ell$ against a target $t$ is $\operatorname{softplus}(\ell) - t\ell$). $s$ is **one-sided** label smoothing (Salimans et al., 2016): only the real targets move (to 0.9 for $s = 0.1$); smoothing the fake targets would reward the generator for samples far from the data. The two batches may differ in size.

# %% solution id=gan_discriminator_loss only=torch
def discriminator_loss(real_logits, fake_logits, smooth=0.0):
    """BCE(real, 1 - smooth) averaged over the real batch + BCE(fake, 0) averaged over the fake batch. Returns a scalar."""
    ### BEGIN SOLUTION
    real_loss = F.binary_cross_entropy_with_logits(real_logits, torch.full_like(real_logits, 1.0 - smooth))
    fake_loss = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real_loss + fake_loss
    ### END SOLUTION

# %% solution id=gan_discriminator_loss only=tf
def discriminator_loss(real_logits, fake_logits, smooth=0.0):
    """BCE(real, 1 - smooth) averaged over the real batch + BCE(fake, 0) averaged over the fake batch. Returns a scalar."""
    ### BEGIN SOLUTION
    real_loss = tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.fill(tf.shape(real_logits), 1.0 - smooth), logits=real_logits)
    fake_loss = tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.zeros_like(fake_logits), logits=fake_logits)
    return tf.reduce_mean(real_loss) + tf.reduce_mean(fake_loss)
    ### END SOLUTION

# %% test id=gan_discriminator_loss_test points=2
"""discriminator_loss: mean BCE of real logits against 1 - smooth plus mean BCE of fake logits against 0.

Catches: real and fake labels swapped (the S000-Q8 seed labels real samples 0); a sigmoid applied
before a cross-entropy that expects logits; log(sigmoid(l)) that overflows to inf/NaN for confident
logits; label smoothing applied to the fake targets too, or to neither; a mean over the concatenated
batch or a sum instead of two means; a vector instead of a scalar; a graph cut.
"""
import numpy as np
from genlab.testing import assert_close, assert_finite_grads
from genlab.fw import grad_of, to_tensor as T

real, fake = np.array([2.0, 0.0]), np.array([-1.0, 0.5])
sp = lambda l: np.logaddexp(0.0, l)
assert_close(discriminator_loss(T(real), T(fake)), np.mean(sp(-real)) + np.mean(sp(fake)), "loss", shape=())
# smooth=0.2 (real targets 0.8, fake targets 0), 4 real and 3 fake logits as (B, 1) columns, two of them confident
real, fake = np.array([[3.0], [-0.5], [40.0], [1.2]]), np.array([[-2.0], [150.0], [0.7]])
assert_close(discriminator_loss(T(real), T(fake), 0.2), np.mean(sp(real) - 0.8 * real) + np.mean(sp(fake)),
             "loss with smooth=0.2, 4 real and 3 fake logits", shape=())
### BEGIN HIDDEN TESTS
def _d_oracle(r, f, s=0.0):
    return np.mean(np.logaddexp(0.0, r) - (1.0 - s) * r) + np.mean(np.logaddexp(0.0, f))

rng = np.random.default_rng(31)
for shape_r, shape_f in [((7,), (7,)), ((5, 1), (3, 1)), ((64,), (16,))]:
    r, f = rng.normal(scale=2.0, size=shape_r), rng.normal(scale=2.0, size=shape_f)
    for s in [0.0, 0.1, 0.3]:
        assert_close(discriminator_loss(T(r), T(f), s), _d_oracle(r, f, s), f"loss for shapes {shape_r}/{shape_f}, smooth={s}", shape=())
# confident logits: right answers cost ~0, wrong ones cost |logit| (log(sigmoid) gives inf/NaN here)
r, f = np.array([300.0, 40.0, -120.0]), np.array([-200.0, 150.0])
assert_close(discriminator_loss(T(r), T(f)), _d_oracle(r, f), "loss at confident logits", shape=(), rtol=1e-5)
assert_close(discriminator_loss(T(r), T(f), 0.1), _d_oracle(r, f, 0.1), "smoothed loss at confident logits", shape=(), rtol=1e-5)
r, f = rng.normal(size=6), rng.normal(size=4)
_, (g_r, g_f) = grad_of(lambda a, b: discriminator_loss(a, b, 0.1), r, f)
assert_finite_grads([g_r, g_f], ["real logits", "fake logits"])
sig = lambda l: 1.0 / (1.0 + np.exp(-l))
assert_close(g_r, (sig(r) - 0.9) / len(r), "dL/d real logits")
assert_close(g_f, sig(f) / len(f), "dL/d fake logits")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 2 · `generator_loss` (2 points)
# The **non-saturating** generator loss $\mathcal L_G = \operatorname{mean}\big[-\log D(G(z))\big] = \operatorname{mean}\big[\operatorname{softplus}(-\ell)\big]$ of the fake logits $\ell$: a scalar.

# %% solution id=gan_generator_loss only=torch
def generator_loss(fake_logits):
    """Non-saturating generator loss: mean of -log sigmoid(fake_logits) = mean softplus(-fake_logits). Returns a scalar."""
    ### BEGIN SOLUTION
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
    ### END SOLUTION

# %% solution id=gan_generator_loss only=tf
def generator_loss(fake_logits):
    """Non-saturating generator loss: mean of -log sigmoid(fake_logits) = mean softplus(-fake_logits). Returns a scalar."""
    ### BEGIN SOLUTION
    return tf.reduce_mean(tf.math.softplus(-fake_logits))
    ### END SOLUTION

# %% test id=gan_generator_loss_test points=2
"""generator_loss: mean softplus(-l), finite at confident logits, gradient -(1 - sigmoid(l)) / B.

Catches: the saturating minimax loss log(1 - D(G(z))) (its gradient vanishes where D rejects the
fakes); the sign flipped; a sigmoid applied to logits first; log(sigmoid(l)) that is inf for l << 0;
a sum instead of a mean; a graph cut.
"""
import numpy as np
from genlab.testing import assert_close, assert_finite_grads
from genlab.fw import grad_of, to_tensor as T

fake = np.array([0.0, 2.0, -3.0])
assert_close(generator_loss(T(fake)), np.mean(np.logaddexp(0.0, -fake)), "loss", shape=())
# a confident rejection (logit -200: log(sigmoid) is -inf in float32) and the gradient -(1 - sigmoid(l)) / B
fake = np.array([-200.0, -8.0, 1.5, 4.0, 0.3])
assert_close(generator_loss(T(fake)), np.mean(np.logaddexp(0.0, -fake)), "loss with a confident rejection", shape=())
_, (g,) = grad_of(generator_loss, fake)
assert_finite_grads([g], ["fake logits"])
assert_close(g, -(1.0 - 1.0 / (1.0 + np.exp(-fake))) / len(fake), "dL/d fake logits")
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(37)
for shape in [(9,), (4, 1), (128,)]:
    f = rng.normal(scale=3.0, size=shape)
    assert_close(generator_loss(T(f)), np.mean(np.logaddexp(0.0, -f)), f"loss for shape {shape}", shape=())
f = np.array([-200.0, -90.0, 150.0, 0.0])
assert_close(generator_loss(T(f)), np.mean(np.logaddexp(0.0, -f)), "loss at confident logits", shape=(), rtol=1e-5)
# where D rejects the fakes (logit -8) the gradient must not vanish: it is -(1 - sigmoid(l)) / B
f = np.array([-8.0, -6.0, 1.0, 3.0])
_, (g,) = grad_of(generator_loss, f)
assert_finite_grads([g], ["fake logits"])
assert_close(g, -(1.0 - 1.0 / (1.0 + np.exp(-f))) / len(f), "dL/d fake logits")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 3 · `train_step` (3 points)
# One round of Goodfellow et al.'s Algorithm 1 with **alternating** updates:
# 1. **Discriminator step**: fakes $G(z_d)$, loss `discriminator_loss(D(real), D(fake), smooth)`, one `opt_d` step. This step must not change $G$ and must not leave gradients behind that a later generator step would apply.
# 2. **Generator step**: with the **updated** $D$, loss `generator_loss(D(G(z_g)))`, one `opt_g` step. It must not change $D$.
#
# Return `(d_loss, g_loss)`, the two losses before their updates, as scalar tensors, not Python numbers (no `.item()`/`.numpy()`; in TensorFlow the step may also run as a compiled graph, `tf.function`, where `.numpy()` does not exist).
# The test replays your step in NumPy with **your** two losses (their values and gradients), so a wrong loss value costs that exercise's points only, once
# (a loss that is not a scalar, or that cuts the gradient, cannot be trained through: the step fails with it too).
# `opt_d` updates only $D$'s weights and `opt_g` only $G$'s (in PyTorch they were built over those parameters; in Keras you pass the variables to `apply_gradients`).

# %% solution id=gan_training_step only=torch
def train_step(G, D, opt_g, opt_d, real, z_d, z_g, smooth=0.0):
    """One discriminator update on real vs G(z_d), then one generator update on G(z_g) against the updated D.
    Returns (d_loss, g_loss) as scalar tensors."""
    ### BEGIN SOLUTION
    fake = G(z_d).detach()  # the D step must not reach G
    d_loss = discriminator_loss(D(real), D(fake), smooth)
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    g_loss = generator_loss(D(G(z_g)))  # gradients also land in D's .grad; opt_d.zero_grad() clears them next time
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    return d_loss.detach(), g_loss.detach()
    ### END SOLUTION

# %% solution id=gan_training_step only=tf
def train_step(G, D, opt_g, opt_d, real, z_d, z_g, smooth=0.0):
    """One discriminator update on real vs G(z_d), then one generator update on G(z_g) against the updated D.
    Returns (d_loss, g_loss) as scalar tensors."""
    ### BEGIN SOLUTION
    fake = G(z_d)
    with tf.GradientTape() as tape:
        d_loss = discriminator_loss(D(real), D(fake), smooth)
    grads = tape.gradient(d_loss, D.trainable_variables)  # only D's variables
    opt_d.apply_gradients(zip(grads, D.trainable_variables))
    with tf.GradientTape() as tape:
        g_loss = generator_loss(D(G(z_g)))  # D is already updated
    grads = tape.gradient(g_loss, G.trainable_variables)  # only G's variables
    opt_g.apply_gradients(zip(grads, G.trainable_variables))
    return d_loss, g_loss
    ### END SOLUTION

# %% test id=gan_training_step_test points=3
"""train_step: checked weight by weight against a NumPy replay of the two updates (plain SGD).

Judged against your own losses: the replay uses YOUR discriminator_loss and generator_loss (their
values and their gradients with respect to the logits, at the logits the replay computes), so a
mistake in a loss costs that exercise's points only, not this one's too.

Catches: a discriminator step that also moves G (no detach with stale gradients, or G's variables
on the D tape); a generator step that moves D; the generator step taken against the old D
(simultaneous instead of alternating updates); gradients left over from an earlier step (a
missing zero_grad); the fakes for D drawn from z_g; smoothing ignored; losses returned after the
update or not as scalars.
"""
import numpy as np
from genlab.testing import as_array, assert_close
from genlab.fw import MLP, get_weights, grad_of, make_sgd, set_weights, to_tensor as T


def _mlp_np(ws, x):  # the genlab MLP in NumPy: tanh between layers, kernels (in, out)
    h = x
    for i in range(0, len(ws), 2):
        h = h @ ws[i] + ws[i + 1]
        h = np.tanh(h) if i + 2 < len(ws) else h
    return h


def _jacobians(fn, ws, h=1e-6):
    """d fn(ws) / d ws[i] for every weight array, by central differences in float64: (out..., w...)."""
    out = []
    for i, w in enumerate(ws):
        jac = np.zeros(fn(ws).shape + w.shape)
        for idx in np.ndindex(w.shape):
            plus = [v.copy() for v in ws]; minus = [v.copy() for v in ws]
            plus[i][idx] += h; minus[i][idx] -= h
            jac[(...,) + idx] = (fn(plus) - fn(minus)) / (2 * h)
        out.append(jac)
    return out


def _your_loss(loss, *logits):
    """Your loss at these logits: its value and its gradient with respect to each (None: no gradient)."""
    value, grads = grad_of(loss, *logits)
    return float(as_array(value, "your loss")), [np.zeros_like(l) if g is None else as_array(g) for g, l in zip(grads, logits)]


def _chain(jacs, dl):
    """Gradient of the loss with respect to the weights from d logits / d weights and d loss / d logits."""
    return [np.tensordot(dl, j, axes=dl.ndim) for j in jacs]


def _step_replay(wg, wd, real, z_d, z_g, lr, smooth):
    """Alternating SGD steps with your losses: returns the new weights and the two losses before the updates."""
    fake = _mlp_np(wg, z_d)
    r, f = _mlp_np(wd, real), _mlp_np(wd, fake)
    d_val, (dl_r, dl_f) = _your_loss(lambda a, b: discriminator_loss(a, b, smooth), r, f)
    d_grads = [a + b for a, b in zip(_chain(_jacobians(lambda w: _mlp_np(w, real), wd), dl_r),
                                     _chain(_jacobians(lambda w: _mlp_np(w, fake), wd), dl_f))]
    wd_new = [w - lr * g for w, g in zip(wd, d_grads)]
    g_val, (dl_g,) = _your_loss(generator_loss, _mlp_np(wd_new, _mlp_np(wg, z_g)))
    g_grads = _chain(_jacobians(lambda w: _mlp_np(wd_new, _mlp_np(w, z_g)), wg), dl_g)
    wg_new = [w - lr * g for w, g in zip(wg, g_grads)]
    return wg_new, wd_new, d_val, g_val


rng = np.random.default_rng(41)
G, D = MLP(2, (4,), 2, activation="tanh"), MLP(2, (4,), 1, activation="tanh")
set_weights(G, [rng.normal(scale=0.8, size=w.shape) for w in get_weights(G)])
set_weights(D, [rng.normal(scale=0.8, size=w.shape) for w in get_weights(D)])
wd = [w.astype(np.float64) for w in get_weights(D)]
wg = [w.astype(np.float64) for w in get_weights(G)]
real, z_d, z_g = rng.normal(size=(6, 2)), rng.normal(size=(5, 2)), rng.normal(size=(4, 2))
want_g, want_d, d_val, g_val = _step_replay(wg, wd, real, z_d, z_g, 0.1, 0.2)
d_loss, g_loss = train_step(G, D, make_sgd(G, 0.1), make_sgd(D, 0.1), T(real), T(z_d), T(z_g), smooth=0.2)
assert_close(d_loss, d_val, "d_loss (your discriminator_loss before the update)", shape=())
assert_close(g_loss, g_val, "g_loss (your generator_loss against the updated D)", shape=())
for i, (got, want) in enumerate(zip(get_weights(D), want_d)):
    assert_close(got, want, f"D weight {i} after the step", atol=2e-5)
for i, (got, want) in enumerate(zip(get_weights(G), want_g)):
    assert_close(got, want, f"G weight {i} after the step", atol=2e-5)
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(43)
G, D = MLP(2, (4,), 2, activation="tanh"), MLP(2, (4,), 1, activation="tanh")
set_weights(G, [rng.normal(scale=0.8, size=w.shape) for w in get_weights(G)])
set_weights(D, [rng.normal(scale=0.8, size=w.shape) for w in get_weights(D)])
opt_g, opt_d = make_sgd(G, 0.2), make_sgd(D, 0.2)
wg = [w.astype(np.float64) for w in get_weights(G)]
wd = [w.astype(np.float64) for w in get_weights(D)]
for step in range(2):  # two consecutive steps: nothing may carry over from the first
    real, z_d, z_g = rng.normal(size=(6, 2)) + 1.0, rng.normal(size=(5, 2)), rng.normal(size=(3, 2))
    wg, wd, d_val, g_val = _step_replay(wg, wd, real, z_d, z_g, 0.2, 0.1)
    d_loss, g_loss = train_step(G, D, opt_g, opt_d, T(real), T(z_d), T(z_g), smooth=0.1)
    assert_close(d_loss, d_val, f"step {step}: d_loss", shape=())
    assert_close(g_loss, g_val, f"step {step}: g_loss (against the updated D, before G's update)", shape=())
    for i, (got, want) in enumerate(zip(get_weights(D), wd)):
        assert_close(got, want, f"step {step}: D weight {i} after the step", atol=2e-5)
    for i, (got, want) in enumerate(zip(get_weights(G), wg)):
        assert_close(got, want, f"step {step}: G weight {i} after the step", atol=2e-5)
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Mode collapse on a ring of Gaussians · 模式坍塌
#
# The classic test bed (Metz et al., 2017): 8 Gaussians of standard deviation 0.02 on a circle of radius 2. A generator that collapses puts all its samples on a few modes; the discriminator then learns to reject those, the generator hops to other modes, and the cycle repeats. Two numbers tell the story (Srivastava et al., 2017):
# - **high-quality share**: the fraction of samples within $3\sigma$ of their nearest mode (sample quality / precision);
# - **modes covered**: how many modes receive a fair amount of high-quality samples (diversity / recall).
#
# ### Exercise 4 · `mode_coverage` (2 points)
# For `samples` $(n, 2)$, mode `centers` $(K, 2)$ and the modes' standard deviation `std`: a sample is **high quality** if its Euclidean distance to the nearest center is **less than** $3\cdot$`std`; a mode is **covered** if **at least** `min_fraction` $\cdot n / K$ high-quality samples have it as their nearest center ($n/K$ is what a perfect generator puts there). Return `(modes_covered, high_quality_share)` as a Python `int` and `float`. Inputs may be NumPy arrays or {{framework}} tensors.

# %% solution id=gan_mode_coverage
def mode_coverage(samples, centers, std, min_fraction=0.25):
    """(number of covered modes, share of high-quality samples) of 2-D samples around mode centers."""
    ### BEGIN SOLUTION
    x = np.asarray(to_numpy(samples), dtype=np.float64)
    c = np.asarray(to_numpy(centers), dtype=np.float64)
    dist = np.sqrt(((x[:, None, :] - c[None, :, :]) ** 2).sum(-1))  # (n, K)
    nearest, good = dist.argmin(1), dist.min(1) < 3 * std
    counts = np.bincount(nearest[good], minlength=len(c))
    return int(np.sum(counts >= min_fraction * len(x) / len(c))), float(good.mean())
    ### END SOLUTION

# %% test id=gan_mode_coverage_test points=2
"""mode_coverage: high quality = closer than 3 std to the nearest mode; covered = >= min_fraction * n / K of them.

Catches: 1 or 2 std instead of 3; squared distances compared with 3 std; distances to the mirrored
centres (x + c instead of x - c); counting all samples (not only
the high-quality ones) towards coverage; a threshold relative to the number of high-quality samples
instead of n; a strict > at the threshold; the share of covered modes instead of samples; wrong types.
"""
import numpy as np
from genlab.testing import assert_close
from genlab.fw import to_tensor as T

centers = np.array([[0.0, 0.0], [10.0, 0.0]])
samples = np.array([[0.01, 0.0], [0.0, -0.02], [10.5, 0.0], [10.0, 0.08]])
covered, share = mode_coverage(samples, centers, std=0.02)
assert isinstance(covered, int) and isinstance(share, float), "return a Python int and a Python float"
assert (covered, share) == (1, 0.5), f"got {(covered, share)}, expected (1, 0.5)"
# three modes off the origin, std 0.1 (high quality: distance < 0.3), n = 12 samples
centers = np.array([[1.0, 2.0], [-3.0, 0.5], [2.5, -1.5]])
offsets = [[0.05, 0.0], [0.0, 0.25], [-0.06, 0.08],   # mode 0: 3 high-quality samples (distances 0.05, 0.25, 0.1)
           [0.09, 0.12], [0.0, -0.28],                # mode 1: 2 high-quality samples (0.15, 0.28)
           [0.12, 0.0], [0.3, 0.4], [0.0, -0.9]]      # mode 2: 1 high-quality sample (0.12); 0.5 and 0.9 are too far
samples = np.concatenate([centers[[0, 0, 0, 1, 1, 2, 2, 2]] + offsets, [[0.0, 0.0], [5.0, 5.0], [-1.0, -3.0], [0.5, -0.4]]])
# 6 of 12 samples are high quality; min_fraction 0.5 asks for 0.5 * 12 / 3 = 2 per mode: modes 0 and 1 (exactly 2)
covered, share = mode_coverage(T(samples), T(centers), std=0.1, min_fraction=0.5)
assert isinstance(covered, int) and isinstance(share, float), "return a Python int and a Python float"
assert covered == 2, f"min_fraction=0.5: modes covered: got {covered}, expected 2"
assert_close(share, 0.5, "high-quality share of 12 samples around 3 modes", shape=())
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(47)
angles = 2 * np.pi * np.arange(8) / 8
ring = np.stack([2 * np.cos(angles), 2 * np.sin(angles)], 1) + [0.7, -0.3]  # off the origin: no symmetry hides a sign
std = 0.02

def _around(k, n, radius):  # n points at exactly `radius` from mode k, random directions
    phi = rng.uniform(0, 2 * np.pi, n)
    return ring[k] + radius * np.stack([np.cos(phi), np.sin(phi)], 1)

# n = 800, K = 8: a mode needs >= 0.25 * 100 = 25 high-quality samples
parts = [_around(0, 100, 0.03), _around(1, 25, 0.055), _around(2, 24, 0.01), _around(3, 40, 0.07),
         _around(4, 30, 0.045), _around(5, 200, 0.2), _around(6, 381, 0.7)]
x = np.concatenate(parts)
assert len(x) == 800
# high quality: modes 0 (100), 1 (25), 2 (24), 4 (30) -> 179 samples; covered: 0, 1, 4 (2 has 24 < 25)
covered, share = mode_coverage(x, ring, std)
assert isinstance(covered, int) and isinstance(share, float), "return a Python int and a Python float"
assert covered == 3, f"modes covered: got {covered}, expected 3"
assert_close(share, 179 / 800, "high-quality share", shape=())
covered, _ = mode_coverage(x, ring, std, min_fraction=0.24)  # threshold 24: mode 2 counts now
assert covered == 4, f"with min_fraction=0.24: got {covered}, expected 4"
covered, share = mode_coverage(T(x), T(ring), std, min_fraction=1.0)
assert (covered, round(share, 6)) == (1, round(179 / 800, 6)), f"tensor inputs, min_fraction=1: got {(covered, share)}"
# a perfect sampler covers everything; a collapsed one covers one mode with perfect quality
k = rng.integers(0, 8, 4000)
perfect = ring[k] + std * rng.normal(size=(4000, 2))
covered, share = mode_coverage(perfect, ring, std)
assert covered == 8 and abs(share - (1 - np.exp(-4.5))) < 0.01, f"perfect sampler: {(covered, share)}"
collapsed = ring[3] + std * rng.normal(size=(4000, 2))
covered, share = mode_coverage(collapsed, ring, std)
assert covered == 1 and share > 0.98, f"collapsed sampler: {(covered, share)}"
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 5 · `gradient_penalty` (3 points)
# WGAN-GP (Gulrajani et al., 2017) keeps the critic $D$ approximately 1-Lipschitz by penalising its gradient norm on points **between** the two distributions:
# $$\hat x = \alpha\, x_\text{real} + (1 - \alpha)\, x_\text{fake},\quad \alpha \sim U(0, 1) \text{ per example},\qquad \mathrm{GP} = \lambda\; \operatorname{mean}_i \big(\lVert \nabla_{\hat x} D(\hat x_i) \rVert_2 - 1\big)^2,$$
# with the $L_2$ norm taken per example over **all** its features (for images: every pixel and channel). `alpha` is a tensor of shape `(B,)` or `None` (then draw it). The penalty enters the critic's loss, so it must be **differentiable with respect to the critic's weights**: a gradient of a gradient (`create_graph=True` in PyTorch; a tape inside the caller's tape in TensorFlow).

# %% solution id=gan_gradient_penalty only=torch
def gradient_penalty(critic, real, fake, alpha=None, weight=10.0):
    """weight * mean over examples of (||grad_x critic(x_hat)||_2 - 1)^2 at x_hat = alpha * real + (1 - alpha) * fake.

    real, fake: (B, ...) tensors; alpha: (B,) or None (drawn from U(0, 1)). Returns a scalar that is
    differentiable with respect to the critic's parameters."""
    ### BEGIN SOLUTION
    if alpha is None:
        alpha = torch.rand(real.shape[0], device=real.device, dtype=real.dtype)
    a = alpha.reshape(-1, *([1] * (real.dim() - 1)))
    x_hat = (a * real + (1 - a) * fake).detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    norm = torch.sqrt(torch.sum(grad.reshape(grad.shape[0], -1) ** 2, dim=1) + 1e-12)
    return weight * torch.mean((norm - 1.0) ** 2)
    ### END SOLUTION

# %% solution id=gan_gradient_penalty only=tf
def gradient_penalty(critic, real, fake, alpha=None, weight=10.0):
    """weight * mean over examples of (||grad_x critic(x_hat)||_2 - 1)^2 at x_hat = alpha * real + (1 - alpha) * fake.

    real, fake: (B, ...) tensors; alpha: (B,) or None (drawn from U(0, 1)). Returns a scalar that is
    differentiable with respect to the critic's parameters."""
    ### BEGIN SOLUTION
    if alpha is None:
        alpha = tf.random.uniform([tf.shape(real)[0]], dtype=real.dtype)
    a = tf.reshape(alpha, [-1] + [1] * (len(real.shape) - 1))
    x_hat = a * real + (1 - a) * fake
    with tf.GradientTape() as tape:  # nested in the caller's tape, so the penalty stays differentiable
        tape.watch(x_hat)
        out = critic(x_hat)
    grad = tape.gradient(out, x_hat)
    norm = tf.sqrt(tf.reduce_sum(tf.reshape(grad, (tf.shape(grad)[0], -1)) ** 2, axis=1) + 1e-12)
    return weight * tf.reduce_mean((norm - 1.0) ** 2)
    ### END SOLUTION

# %% test id=gan_gradient_penalty_test points=3
"""gradient_penalty: checked with a linear critic (gradient w everywhere), a quadratic critic (gradient
depends on the interpolation point) and a small MLP critic (gradient w.r.t. its weights by finite differences).

Catches: the penalty at the real or the fake points instead of the interpolates; alpha on the wrong side;
alpha drawn per feature instead of per example, or not uniform; the squared norm, the L1 norm, or one norm
over the whole batch; the weight ignored; a one-sided penalty max(0, norm - 1)^2; a penalty that is not
differentiable with respect to the critic (no create_graph / no outer tape).
"""
import numpy as np
from genlab.testing import assert_close, assert_finite_grads
from genlab.fw import MLP, flat, get_weights, grad_of, param_grads, set_weights, to_tensor as T

rng = np.random.default_rng(53)
w = rng.normal(size=(6, 1)); W = T(w)
real, fake, alpha = rng.normal(size=(5, 2, 3)), rng.normal(size=(5, 2, 3)), rng.random(5)
gp = gradient_penalty(lambda x: flat(x) @ W, T(real), T(fake), T(alpha), weight=10.0)
assert_close(gp, 10.0 * (np.linalg.norm(w) - 1.0) ** 2, "penalty of a linear critic", shape=())
# a quadratic critic (x.w)^2: its gradient 2 (x.w) w depends on where it is taken, and its norm is below 1 on some rows
def _quad_gp(w, real, fake, alpha, weight):  # NumPy oracle
    a = alpha.reshape(-1, *([1] * (real.ndim - 1)))
    s = (a * real + (1 - a) * fake).reshape(len(real), -1) @ w  # (B, 1): x_hat . w
    return weight * np.mean((2 * np.abs(s[:, 0]) * np.linalg.norm(w) - 1.0) ** 2)

rng_v = np.random.default_rng(54)
w2 = 0.5 * rng_v.normal(size=(6, 1)); W2 = T(w2)
gp = gradient_penalty(lambda x: (flat(x) @ W2) ** 2, T(real), T(fake), T(alpha), weight=2.5)
assert_close(gp, _quad_gp(w2, real, fake, alpha, 2.5), "penalty of a quadratic critic, weight 2.5", shape=())
# the penalty is differentiable w.r.t. the critic's weights: compare with finite differences of the oracle
_, (g_w,) = grad_of(lambda v: gradient_penalty(lambda x: (flat(x) @ v) ** 2, T(real), T(fake), T(alpha), weight=2.5), w2)
assert_finite_grads([g_w], ["the critic's weights"])
num = np.array([(_quad_gp(w2 + 1e-6 * e[:, None], real, fake, alpha, 2.5) - _quad_gp(w2 - 1e-6 * e[:, None], real, fake, alpha, 2.5)) / 2e-6
                for e in np.eye(6)])[:, None]
assert_close(g_w, num, "d penalty / d critic weights", atol=1e-3, rtol=1e-3)
# alpha=None: one U(0, 1) draw per example. real = u (unit norm), fake = 0: x_hat . u = alpha, the norm is
# 2 alpha and the penalty mean (2 alpha - 1)^2 -> 1/3 (for 20,000 examples)
u = np.full((6, 1), 1 / np.sqrt(6)); U = T(u)
gp = gradient_penalty(lambda x: (flat(x) @ U) ** 2, T(np.tile(u.T, (20000, 1))), T(np.zeros((20000, 6))), None, weight=1.0)
assert_close(gp, 1 / 3, "penalty with alpha=None (expected 1/3)", shape=(), atol=0.015, rtol=0)
### BEGIN HIDDEN TESTS
def _quad_oracle(w, real, fake, alpha, weight):
    a = alpha.reshape(-1, *([1] * (real.ndim - 1)))
    s = (a * real + (1 - a) * fake).reshape(len(real), -1) @ w  # (B, 1)
    norm = 2 * np.abs(s[:, 0]) * np.linalg.norm(w)
    return weight * np.mean((norm - 1.0) ** 2)

for shape in [(7, 3), (4, 2, 3, 2)]:
    d = int(np.prod(shape[1:]))
    w = rng.normal(scale=0.5, size=(d, 1)); W = T(w)
    real, fake, alpha = rng.normal(size=shape), rng.normal(size=shape), rng.random(shape[0])
    for weight in [10.0, 2.5]:
        gp = gradient_penalty(lambda x: (flat(x) @ W) ** 2, T(real), T(fake), T(alpha), weight=weight)
        assert_close(gp, _quad_oracle(w, real, fake, alpha, weight), f"quadratic critic, shape {shape}, weight {weight}", shape=())
# a critic with gradient norm < 1 is penalised too (two-sided)
w = np.full((3, 1), 0.1); W = T(w)
x = rng.normal(size=(4, 3))
assert_close(gradient_penalty(lambda x: flat(x) @ W, T(x), T(x + 1), T(rng.random(4)), weight=1.0), (np.linalg.norm(w) - 1) ** 2, "penalty for a small gradient", shape=())
# alpha=None: one U(0, 1) draw per example. real = w (unit norm), fake = 0: x_hat . w = alpha, norm = 2 alpha,
# so the penalty is mean (2 alpha - 1)^2 -> 1/3
n, d = 20000, 6
w = np.full((d, 1), 1 / np.sqrt(d)); W = T(w)
gp = gradient_penalty(lambda x: (flat(x) @ W) ** 2, T(np.tile(w.T, (n, 1))), T(np.zeros((n, d))), None, weight=1.0)
assert_close(gp, 1 / 3, "penalty with random alpha (expected 1/3)", shape=(), atol=0.015, rtol=0)
# differentiable w.r.t. the critic's weights: compare with finite differences of a NumPy replay
def _mlp_fwd(ws, x):
    acts, h = [], x
    for i in range(0, len(ws), 2):
        h = h @ ws[i] + ws[i + 1]
        if i + 2 < len(ws):
            h = np.tanh(h); acts.append(h)
    return acts

def _mlp_input_grad(ws, x):
    acts = _mlp_fwd(ws, x)
    g = np.ones((len(x), 1)) @ ws[-2].T
    for i in reversed(range(len(acts))):
        g = (g * (1 - acts[i] ** 2)) @ ws[2 * i].T
    return g

def _gp_np(ws, real, fake, alpha, weight):
    x_hat = alpha[:, None] * real + (1 - alpha[:, None]) * fake
    return weight * np.mean((np.linalg.norm(_mlp_input_grad(ws, x_hat), axis=1) - 1) ** 2)

critic = MLP(2, (5, 5), 1, activation="tanh")
set_weights(critic, [rng.normal(scale=0.9, size=v.shape) for v in get_weights(critic)])
ws = [v.astype(np.float64) for v in get_weights(critic)]
real, fake, alpha = rng.normal(size=(8, 2)), rng.normal(size=(8, 2)), rng.random(8)
assert_close(gradient_penalty(critic, T(real), T(fake), T(alpha), weight=3.0), _gp_np(ws, real, fake, alpha, 3.0), "MLP critic penalty", shape=())
grads = param_grads(lambda: gradient_penalty(critic, T(real), T(fake), T(alpha), weight=3.0), critic)[:-1]
assert_finite_grads(grads, [f"critic weight {i}" for i in range(len(grads))])  # the last bias cannot matter
h = 1e-6
for i, v in enumerate(ws[:-1]):
    num = np.zeros_like(v)
    for idx in np.ndindex(v.shape):
        plus = [u.copy() for u in ws]; minus = [u.copy() for u in ws]
        plus[i][idx] += h; minus[i][idx] -= h
        num[idx] = (_gp_np(plus, real, fake, alpha, 3.0) - _gp_np(minus, real, fake, alpha, 3.0)) / (2 * h)
    assert_close(grads[i], num, f"d penalty / d critic weight {i}", atol=2e-4, rtol=2e-3)
### END HIDDEN TESTS

# %% [markdown]
# The data, and a check of the metric on real samples (a perfect generator): all 8 modes and $1 - e^{-9/2} \approx 98.9\%$ of samples within $3\sigma$.

# %%
RING_K, RING_RADIUS, RING_STD = 8, 2.0, 0.02
_angles = 2 * np.pi * np.arange(RING_K) / RING_K
RING_CENTERS = (RING_RADIUS * np.stack([np.cos(_angles), np.sin(_angles)], 1)).astype(np.float32)
Z_RING, RING_BATCH, RING_EVAL = 2, 256, 2500

def ring_sample(n, rng):
    """n points from the mixture: a uniformly chosen center plus N(0, RING_STD^2 I) noise."""
    k = rng.integers(0, RING_K, n)
    return (RING_CENTERS[k] + RING_STD * rng.standard_normal((n, 2))).astype(np.float32)

real_ring = ring_sample(RING_EVAL, np.random.default_rng(SEED))
print("real data: modes covered %d of 8, high-quality share %.3f" % mode_coverage(real_ring, RING_CENTERS, RING_STD))

# %% [markdown]
# ### Four training runs · 四种训练设置
#
# All four use the same networks, a $2\times128$ ReLU MLP for $G$ (noise $z \in \mathbb R^2$) and for $D$, batch 256, Adam with learning rates that decay linearly to zero (which sharpens the final samples):
# 1. **plain**: the non-saturating GAN with your `train_step`, both learning rates $10^{-3}$, $\beta_1 = 0.5$;
# 2. **D too fast**: the same, but the generator's learning rate is $10^{-4}$: the discriminator learns 10x faster;
# 3. **R1**: the plain GAN plus the zero-centred gradient penalty $\tfrac{\gamma}{2}\,\mathbb E_\text{real}\lVert\nabla_x D(x)\rVert^2$ on real data (Mescheder et al., 2018), $\gamma = 0.1$;
# 4. **WGAN-GP**: a critic (no sigmoid, no cross-entropy) trained 5 steps per generator step on $D(\text{fake}) - D(\text{real}) + \mathrm{GP}$ (your Exercise 5, $\lambda = 10$), generator loss $-D(G(z))$, Adam $(\beta_1, \beta_2) = (0.5, 0.9)$.
#
# **Three seeds in one model.** One seed can be lucky, so the first three runs train three seeds each. Rather than three models one after the other, they train one *stacked* model (`StackedMLP`): every layer holds the three seeds' weights as a $(3, \text{in}, \text{out})$ tensor and runs one batched matrix product on inputs of shape $(3, B, 2)$, so one call of your `train_step` updates all three seeds with fewer, larger operations. The seeds stay independent (seed $s$ only meets its own weights) and each starts from the weights it would get alone. Your losses average over every logit, which is the mean of the three seeds' own losses: each seed's gradient is a third of its own, a scale Adam's normalised update ignores. WGAN-GP trains one seed, unstacked: your `gradient_penalty` draws one $\alpha$ per example of a $(B, \dots)$ batch and takes each example's norm over all its features, which on a stacked $(3, B, 2)$ batch would mix the seeds.

# %% only=torch
def train_ring(kind, steps, lr_g, lr_d, seeds=(SEED,), n_critic=1, gp_weight=10.0, r1_gamma=0.1, n_snapshots=5):
    """Train one ring GAN per seed: kind 'ns' (non-saturating, via train_step), 'ns-r1' (plus R1 on real data) or
    'wgan-gp'. The seeds' networks are stacked into one batched model (StackedMLP: inputs (S, B, 2), one step
    updates every seed; each seed starts from the weights it would get alone). WGAN-GP takes one seed: your
    gradient_penalty is written for (B, ...) batches. Returns ({"D": [...], "G": [...]} losses per generator
    step, averaged over the seeds, {seed: {step: samples from fixed noise}})."""
    if kind == "wgan-gp" and len(seeds) != 1:
        raise ValueError("train WGAN-GP one seed per call")
    nets, z_fixed = [], []
    for seed in seeds:
        genlab.seed_everything(seed)
        nets.append((MLP(Z_RING, (128, 128), 2), MLP(2, (128, 128), 1)))
        z_fixed.append(torch.randn(RING_EVAL, Z_RING))
    if kind == "wgan-gp":
        (G, D), z_fixed, batch = nets[0], z_fixed[0][None], (RING_BATCH,)
    else:
        G, D, z_fixed, batch = StackedMLP([g for g, _ in nets]), StackedMLP([d for _, d in nets]), torch.stack(z_fixed), (len(seeds), RING_BATCH)
    G, D, z_fixed = G.to(DEVICE), D.to(DEVICE), z_fixed.to(DEVICE)
    rng = np.random.default_rng(seeds[0])
    betas = (0.5, 0.9) if kind == "wgan-gp" else (0.5, 0.999)
    opt_g = torch.optim.Adam(G.parameters(), lr=lr_g, betas=betas)
    opt_d = torch.optim.Adam(D.parameters(), lr=lr_d, betas=betas)
    decay = [torch.optim.lr_scheduler.LambdaLR(o, lambda s: 1.0 - s / steps) for o in (opt_g, opt_d)]
    snap_at = set(np.linspace(0, steps, n_snapshots + 1).astype(int)[1:])
    real = lambda: torch.as_tensor(ring_sample(int(np.prod(batch)), rng).reshape(*batch, 2), device=DEVICE)
    noise = lambda: torch.randn(*batch, Z_RING, device=DEVICE)
    hist, snaps = {"D": [], "G": []}, {seed: {} for seed in seeds}
    for step in trange(1, steps + 1, desc=f"ring {kind}", leave=False):
        if kind == "ns":
            d_loss, g_loss = train_step(G, D, opt_g, opt_d, real(), noise(), noise())
        elif kind == "ns-r1":
            x_real, x_fake = real().requires_grad_(True), G(noise()).detach()
            real_logits = D(x_real)
            (grad,) = torch.autograd.grad(real_logits.sum(), x_real, create_graph=True)
            d_loss = discriminator_loss(real_logits, D(x_fake)) + 0.5 * r1_gamma * grad.pow(2).sum(-1).mean()
            opt_d.zero_grad(); d_loss.backward(); opt_d.step()
            g_loss = generator_loss(D(G(noise())))
            opt_g.zero_grad(); g_loss.backward(); opt_g.step()
        else:
            for _ in range(n_critic):
                x_real, x_fake = real(), G(noise()).detach()
                d_loss = D(x_fake).mean() - D(x_real).mean() + gradient_penalty(D, x_real, x_fake, weight=gp_weight)
                opt_d.zero_grad(); d_loss.backward(); opt_d.step()
            g_loss = -D(G(noise())).mean()
            opt_g.zero_grad(); g_loss.backward(); opt_g.step()
        for sched in decay:
            sched.step()
        hist["D"].append(d_loss.item()); hist["G"].append(g_loss.item())
        if step in snap_at:
            with torch.no_grad():
                samples = to_numpy(G(z_fixed[0]) if kind == "wgan-gp" else G(z_fixed))
            for i, seed in enumerate(seeds):
                snaps[seed][step] = samples if kind == "wgan-gp" else samples[i]
    return hist, snaps

# %% only=tf
def train_ring(kind, steps, lr_g, lr_d, seeds=(SEED,), n_critic=1, gp_weight=10.0, r1_gamma=0.1, n_snapshots=5):
    """Train one ring GAN per seed: kind 'ns' (non-saturating, via train_step), 'ns-r1' (plus R1 on real data) or
    'wgan-gp'. The seeds' networks are stacked into one batched model (StackedMLP: inputs (S, B, 2), one step
    updates every seed; each seed starts from the weights it would get alone). WGAN-GP takes one seed: your
    gradient_penalty is written for (B, ...) batches. Between two snapshots the steps run in one compiled
    loop (no Python or host round trip per step). Returns ({"D": [...], "G": [...]} losses per generator
    step, averaged over the seeds, {seed: {step: samples from fixed noise}})."""
    if kind == "wgan-gp" and len(seeds) != 1:
        raise ValueError("train WGAN-GP one seed per call")
    nets, z_fixed = [], []
    for seed in seeds:
        genlab.seed_everything(seed)
        nets.append((MLP(Z_RING, (128, 128), 2), MLP(2, (128, 128), 1)))
        z_fixed.append(tf.random.normal((RING_EVAL, Z_RING)))
    if kind == "wgan-gp":
        (G, D), z_fixed, batch = nets[0], z_fixed[0], (RING_BATCH,)
    else:
        G, D, z_fixed, batch = StackedMLP([g for g, _ in nets]), StackedMLP([d for _, d in nets]), tf.stack(z_fixed), (len(seeds), RING_BATCH)
    rng = np.random.default_rng(seeds[0])
    beta_1, beta_2 = (0.5, 0.9) if kind == "wgan-gp" else (0.5, 0.999)
    opt_g = keras.optimizers.Adam(keras.optimizers.schedules.PolynomialDecay(lr_g, steps, 0.0), beta_1=beta_1, beta_2=beta_2)
    opt_d = keras.optimizers.Adam(keras.optimizers.schedules.PolynomialDecay(lr_d, steps * n_critic, 0.0), beta_1=beta_1, beta_2=beta_2)
    n_d = n_critic if kind == "wgan-gp" else 1

    def r1_step(x_real, z_d, z_g):
        with tf.GradientTape() as tape:
            with tf.GradientTape() as inner:
                inner.watch(x_real)
                real_logits = D(x_real)
            grad = inner.gradient(real_logits, x_real)
            d_loss = discriminator_loss(real_logits, D(G(z_d))) + 0.5 * r1_gamma * tf.reduce_mean(tf.reduce_sum(grad ** 2, axis=-1))
        opt_d.apply_gradients(zip(tape.gradient(d_loss, D.trainable_variables), D.trainable_variables))
        with tf.GradientTape() as tape:
            g_loss = generator_loss(D(G(z_g)))
        opt_g.apply_gradients(zip(tape.gradient(g_loss, G.trainable_variables), G.trainable_variables))
        return d_loss, g_loss

    def wgan_step(x_real, z_d, z_g):  # x_real, z_d: (n_critic, B, 2), one batch per critic step
        for i in range(n_critic):
            x_fake = G(z_d[i])
            with tf.GradientTape() as tape:
                d_loss = tf.reduce_mean(D(x_fake)) - tf.reduce_mean(D(x_real[i])) + gradient_penalty(D, x_real[i], x_fake, weight=gp_weight)
            opt_d.apply_gradients(zip(tape.gradient(d_loss, D.trainable_variables), D.trainable_variables))
        with tf.GradientTape() as tape:
            g_loss = -tf.reduce_mean(D(G(z_g)))
        opt_g.apply_gradients(zip(tape.gradient(g_loss, G.trainable_variables), G.trainable_variables))
        return d_loss, g_loss

    step_fn = {"ns": lambda x, z_d, z_g: train_step(G, D, opt_g, opt_d, x, z_d, z_g), "ns-r1": r1_step, "wgan-gp": wgan_step}[kind]
    step_args = lambda x_real, z_d, z_g, i: (x_real[i, 0], z_d[i, 0], z_g[i]) if n_d == 1 else (x_real[i], z_d[i], z_g[i])

    @tf.function(input_signature=[tf.TensorSpec((None, n_d, *batch, 2), tf.float32)] * 2 + [tf.TensorSpec((None, *batch, 2), tf.float32)])
    def train_steps(x_real, z_d, z_g):
        """len(x_real) generator steps in one graph: x_real, z_d (n, n_d, *batch, 2), z_g (n, *batch, 2)."""
        def body(i, d_hist, g_hist):
            d_loss, g_loss = step_fn(*step_args(x_real, z_d, z_g, i))
            return i + 1, d_hist.write(i, d_loss), g_hist.write(i, g_loss)

        n = tf.shape(z_g)[0]
        hists = (tf.TensorArray(tf.float32, size=n), tf.TensorArray(tf.float32, size=n))
        _, d_hist, g_hist = tf.while_loop(lambda i, *_: i < n, body, (tf.constant(0), *hists))
        return d_hist.stack(), g_hist.stack()

    snap_at = np.linspace(0, steps, n_snapshots + 1).astype(int)
    hist, snaps = {"D": [], "G": []}, {seed: {} for seed in seeds}
    with tf.device(DEVICE):
        for start, stop in zip(tqdm(snap_at[:-1], desc=f"ring {kind}", leave=False), snap_at[1:]):
            n = int(stop - start)
            x_real = ring_sample(n * n_d * int(np.prod(batch)), rng).reshape(n, n_d, *batch, 2)
            z = rng.standard_normal((n * (n_d + 1) * int(np.prod(batch)), Z_RING)).astype(np.float32)
            z_d, z_g = z[:n * n_d * int(np.prod(batch))].reshape(n, n_d, *batch, 2), z[n * n_d * int(np.prod(batch)):].reshape(n, *batch, 2)
            if start == 0:  # step 1 runs eagerly: it creates the optimizers' variables, which the compiled loop may not
                d_loss, g_loss = step_fn(*(tf.constant(a) for a in step_args(x_real, z_d, z_g, 0)))
                hist["D"].append(float(d_loss)); hist["G"].append(float(g_loss))
                x_real, z_d, z_g = x_real[1:], z_d[1:], z_g[1:]
            d_hist, g_hist = train_steps(x_real, z_d, z_g)
            hist["D"] += d_hist.numpy().tolist(); hist["G"] += g_hist.numpy().tolist()
            samples = to_numpy(G(z_fixed))
            for i, seed in enumerate(seeds):
                snaps[seed][int(stop)] = samples if kind == "wgan-gp" else samples[i]
    return hist, snaps

# %%
RING_STEPS = pick(8000, 400)
RING_SEEDS = pick([0, 1, 2], [0])
RING_RUNS = {  # name -> settings
    "plain": dict(kind="ns", lr_g=1e-3, lr_d=1e-3),
    "D too fast": dict(kind="ns", lr_g=1e-4, lr_d=1e-3),
    "R1": dict(kind="ns-r1", lr_g=1e-3, lr_d=1e-3, r1_gamma=0.1),
    "WGAN-GP": dict(kind="wgan-gp", lr_g=5e-4, lr_d=5e-4, n_critic=5, steps=pick(5000, 100), seeds=[0]),
}
ring_results = {}
print(f"{'run':>11} {'seed':>4} {'G steps':>8} {'modes':>6} {'HQ share':>9} {'time, all seeds':>16}")
for name, cfg in RING_RUNS.items():
    cfg = dict(cfg)
    steps, seeds = cfg.pop("steps", RING_STEPS), cfg.pop("seeds", RING_SEEDS)
    t0 = time.time()
    hist, snaps = train_ring(steps=steps, seeds=seeds, **cfg)  # all seeds at once
    seconds = time.time() - t0
    for seed in seeds:
        modes, hq = mode_coverage(snaps[seed][steps], RING_CENTERS, RING_STD)
        ring_results[name, seed] = dict(modes=modes, hq=hq, hist=hist, snaps=snaps[seed], seconds=seconds / len(seeds))
        print(f"{name:>11} {seed:>4} {steps:>8} {modes:>4}/8 {hq:>9.1%} {seconds:>15.1f}s")
for name in RING_RUNS:
    runs = [r for (n, _), r in ring_results.items() if n == name]
    key = name.lower().replace("-", "").replace(" ", "_")
    report(f"gan/ring_{key}_modes_min", min(r["modes"] for r in runs))
    report(f"gan/ring_{key}_hq_mean", float(np.mean([r["hq"] for r in runs])))
    report(f"gan/ring_{key}_seconds", float(np.mean([r["seconds"] for r in runs])), "s")  # per seed

# %% [markdown]
# **What the table shows (full mode; QUICK runs are too short to judge).** Two full runs for reference, modes covered for seeds 0/1/2 (HQ share):
#
# | run | PyTorch | TensorFlow |
# |---|---|---|
# | plain | 7/8/8 (93-95%) | 6/8/8 (91-95%) |
# | D too fast | 5/2/4 (72-95%) | 2/8/6 (78-93%) |
# | R1 | 8/8/8 (84-91%) | 8/8/8 (86-93%) |
# | WGAN-GP (seed 0) | 8 (71%) | 8 (67%) |
#
# - The **plain** GAN's samples are sharp (high HQ share) but it can lose a mode for good: a mode that $D$ has learned to reject early stops receiving samples, and nothing in the loss brings them back.
# - **D too fast** collapses in five of six runs (one TensorFlow seed kept all 8 modes, which is why we look at three seeds): the discriminator's verdicts change faster than the generator can follow, so the generator chases the few modes $D$ currently accepts (its loss climbs while $D$'s stays far below $2\log 2$). TTUR also gives $D$ the larger learning rate, but by a modest factor; how much imbalance a pair tolerates depends on the networks and the data, so watch the losses and the samples.
# - **R1** stops $D$ from building steep walls at the real data (its gradient there is penalised), which damps the oscillation around the equilibrium that makes plain GANs overshoot and drop modes (Mescheder et al. prove local convergence with it): all 8 modes on every seed with a high HQ share. It is the stabilised GAN of this chapter.
# - **WGAN-GP** also covers all modes (the critic's gradient does not vanish when the supports are disjoint), but its samples stay blurrier around each mode in this budget: the Wasserstein distance charges a sample by how far it must move, so a sample just outside $3\sigma$ costs almost nothing, and the 1-Lipschitz critic cannot carve sharp peaks. It also costs five critic steps, each with a double backward pass, per generator step (5,000 generator steps here, 25,000 critic steps).

# %% [markdown]
# Samples from fixed noise over training (seed 0), real modes in red:

# %%
fig, axes = plt.subplots(len(RING_RUNS), 5, figsize=(11, 2.3 * len(RING_RUNS)), squeeze=False)
for row, name in zip(axes, RING_RUNS):
    res = ring_results[name, 0]
    for ax, (step, pts) in zip(row, sorted(res["snaps"].items())):
        ax.scatter(pts[:, 0], pts[:, 1], s=1, alpha=0.3)
        ax.scatter(RING_CENTERS[:, 0], RING_CENTERS[:, 1], s=12, c="red", marker="x")
        ax.set_xlim(-2.6, 2.6); ax.set_ylim(-2.6, 2.6); ax.set_xticks([]); ax.set_yticks([]); ax.set_aspect("equal")
        ax.set_title(f"{name}, step {step}", fontsize=8)
    modes, hq = res["modes"], res["hq"]
    row[-1].set_title(f"{name}: {modes}/8 modes, {hq:.0%} HQ", fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# ### Reading the loss curves · 损失曲线怎么看
#
# At the equilibrium $D \equiv \tfrac12$ the discriminator loss (two cross-entropies) is $2\log 2 \approx 1.39$ and the non-saturating generator loss is $\log 2 \approx 0.69$ (dashed lines). A **healthy** run hovers around them with noise. When the discriminator **wins** (its loss well below $2\log 2$, while the generator's loss climbs well above $\log 2$), the generator receives gradients that only say "move away from here": it chases the few modes $D$ currently rates as real, the classic route to collapse. A discriminator loss exactly at 0 means $D$ separates perfectly and $G$ learns nothing; a collapse does not need to go that far. A WGAN critic's loss is different: $-(\text{critic loss})$ estimates the Wasserstein distance and should shrink towards 0 as training succeeds. The curves of the stacked runs are the mean over their three seeds (the losses your `train_step` returns).

# %%
def smooth(values, window=pick(200, 20)):
    v = np.asarray(values)
    return np.convolve(v, np.ones(window) / window, mode="valid")

fig, axes = plt.subplots(1, len(RING_RUNS), figsize=(13, 3))
for ax, name in zip(axes, RING_RUNS):
    hist = ring_results[name, 0]["hist"]
    ax.plot(smooth(hist["D"]), label="D / critic loss")
    ax.plot(smooth(hist["G"]), label="G loss")
    if RING_RUNS[name]["kind"] != "wgan-gp":
        ax.axhline(2 * np.log(2), ls="--", c="C0", lw=0.8); ax.axhline(np.log(2), ls="--", c="C1", lw=0.8)
    n_seeds = len(RING_RUNS[name].get("seeds", RING_SEEDS))  # a batched run's losses are the mean over its seeds
    ax.set_title(name if n_seeds == 1 else f"{name} (mean of {n_seeds} seeds)", fontsize=9)
    ax.set_xlabel("generator step"); ax.legend(fontsize=7)
fig.tight_layout()
plt.show()
for name in RING_RUNS:
    hist = ring_results[name, 0]["hist"]
    tail = slice(-max(1, len(hist["D"]) // 5), None)
    print(f"{name:>12}: mean losses over the last fifth of training: D {np.mean(hist['D'][tail]):.3f}, G {np.mean(hist['G'][tail]):.3f}")

# %% [markdown]
# ## 4. DCGAN on the digits · 手写数字上的 DCGAN
#
# Radford et al.'s recipe, scaled to 8x8 images: a convolutional generator (dense layer to a $2\times2$ map, then twice *upsample + 3x3 conv*, `tanh` output in $[-1, 1]$) and a convolutional discriminator (two $4\times4$ stride-2 convolutions with LeakyReLU 0.2, no pooling), Adam with lr $2\cdot10^{-4}$ and $\beta_1 = 0.5$. Two deliberate departures: no BatchNorm (the networks stay identical across frameworks, and the digits do not need it) and nearest-neighbour upsampling instead of transposed convolutions (no checkerboard artefacts; Odena et al., 2016). Images are the grey-level digits scaled to $[-1, 1]$; training uses your `train_step` (batch 64; QUICK mode trains 6 epochs with batch 32 and lr $10^{-3}$, enough for recognisable digits, not for the quality figures). One-sided label smoothing made the FD slightly worse in probes here, so `smooth=0`.

# %%
dig_train, dig_test = load_digits("train"), load_digits("test")
X_DIG = dig_train.x[..., None] * 2.0 - 1.0      # (1500, 8, 8, 1) in [-1, 1], framework-neutral layout
Y_DIG = dig_train.y
Z_DIG, DIG_SMOOTH = 32, 0.0
DIG_BATCH, DIG_LR = pick(64, 32), pick(2e-4, 1e-3)  # QUICK: fewer, larger steps

def to_unit(images):
    """Generator output in the framework's layout, values in [-1, 1] -> (N, 8, 8) NumPy in [0, 1]."""
    return np.clip((images_to_numpy(images)[..., 0] + 1.0) / 2.0, 0.0, 1.0)

print(ConvGenerator(Z_DIG)); print(ConvDiscriminator(1))

# %% only=torch
def generate(G, z, y=None):
    """Images from codes z (and labels y for a conditional generator), no gradients."""
    with torch.no_grad():
        z = torch.as_tensor(z, dtype=torch.float32, device=DEVICE)
        if y is not None:
            z = torch.cat([z, F.one_hot(torch.as_tensor(y, device=DEVICE).long(), 10).float()], dim=1)
        return G(z)


def cgan_step(G, D, opt_g, opt_d, real, y, z_d, z_g, smooth=0.0):
    """train_step for a conditional GAN: G sees [z, one-hot y], D sees the image with label maps."""
    onehot = F.one_hot(y, 10).float()
    fake = G(torch.cat([z_d, onehot], dim=1)).detach()
    d_loss = discriminator_loss(D(label_maps(real, y, 10)), D(label_maps(fake, y, 10)), smooth)
    opt_d.zero_grad(); d_loss.backward(); opt_d.step()
    g_loss = generator_loss(D(label_maps(G(torch.cat([z_g, onehot], dim=1)), y, 10)))
    opt_g.zero_grad(); g_loss.backward(); opt_g.step()
    return d_loss.detach(), g_loss.detach()


def train_dcgan(epochs, conditional=False, lr=DIG_LR, seed=SEED, snapshot_epochs=(), desc="DCGAN"):
    """Train a (conditional) DCGAN on the digits. Returns (G, losses per step, {epoch: (40, 8, 8) samples})."""
    genlab.seed_everything(seed)
    k = 10 if conditional else 0
    G, D = ConvGenerator(Z_DIG + k).to(DEVICE), ConvDiscriminator(1 + k).to(DEVICE)
    opt_g = torch.optim.Adam(G.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.999))
    X, Y = to_images(X_DIG, device_=DEVICE), torch.as_tensor(Y_DIG, device=DEVICE)
    gen = torch.Generator().manual_seed(seed)
    z_fixed, y_fixed = torch.randn(40, Z_DIG, generator=gen), np.arange(40) % 10
    hist, snaps = {"D": [], "G": []}, {}
    for epoch in (bar := trange(1, epochs + 1, desc=desc, leave=False)):
        perm = torch.randperm(len(X), generator=gen).to(DEVICE)
        for s in range(0, len(X) - DIG_BATCH + 1, DIG_BATCH):  # drop the last partial batch
            idx = perm[s:s + DIG_BATCH]
            z_d, z_g = torch.randn(DIG_BATCH, Z_DIG, device=DEVICE), torch.randn(DIG_BATCH, Z_DIG, device=DEVICE)
            if conditional:
                d_loss, g_loss = cgan_step(G, D, opt_g, opt_d, X[idx], Y[idx], z_d, z_g, DIG_SMOOTH)
            else:
                d_loss, g_loss = train_step(G, D, opt_g, opt_d, X[idx], z_d, z_g, DIG_SMOOTH)
            hist["D"].append(d_loss.item()); hist["G"].append(g_loss.item())
        if epoch in snapshot_epochs:
            snaps[epoch] = to_unit(generate(G, z_fixed, y_fixed if conditional else None))
        bar.set_postfix(D=f"{hist['D'][-1]:.2f}", G=f"{hist['G'][-1]:.2f}")
    return G, hist, snaps

# %% only=tf
def generate(G, z, y=None):
    """Images from codes z (and labels y for a conditional generator)."""
    z = tf.convert_to_tensor(np.asarray(z), dtype=tf.float32)
    if y is not None:
        z = tf.concat([z, tf.one_hot(np.asarray(y), 10)], axis=1)
    return G(z)


def cgan_step(G, D, opt_g, opt_d, real, y, z_d, z_g, smooth=0.0):
    """train_step for a conditional GAN: G sees [z, one-hot y], D sees the image with label maps."""
    onehot = tf.one_hot(tf.cast(y, tf.int32), 10)
    fake = G(tf.concat([z_d, onehot], axis=1))
    with tf.GradientTape() as tape:
        d_loss = discriminator_loss(D(label_maps(real, y, 10)), D(label_maps(fake, y, 10)), smooth)
    opt_d.apply_gradients(zip(tape.gradient(d_loss, D.trainable_variables), D.trainable_variables))
    with tf.GradientTape() as tape:
        g_loss = generator_loss(D(label_maps(G(tf.concat([z_g, onehot], axis=1)), y, 10)))
    opt_g.apply_gradients(zip(tape.gradient(g_loss, G.trainable_variables), G.trainable_variables))
    return d_loss, g_loss


def train_dcgan(epochs, conditional=False, lr=DIG_LR, seed=SEED, snapshot_epochs=(), desc="DCGAN"):
    """Train a (conditional) DCGAN on the digits. Returns (G, losses per step, {epoch: (40, 8, 8) samples}).
    Each epoch runs as one compiled loop over its mini-batches (no Python or host round trip per step);
    the first step runs alone and eagerly, as it creates the optimizers' variables."""
    genlab.seed_everything(seed)
    k = 10 if conditional else 0
    G, D = ConvGenerator(Z_DIG + k), ConvDiscriminator(1 + k)
    opt_g = keras.optimizers.Adam(lr, beta_1=0.5)
    opt_d = keras.optimizers.Adam(lr, beta_1=0.5)
    X, Y = tf.constant(X_DIG, tf.float32), tf.constant(Y_DIG, tf.int32)
    rng, n_batches = np.random.default_rng(seed), len(X_DIG) // DIG_BATCH  # the last partial batch is dropped
    z_fixed, y_fixed = tf.random.normal((40, Z_DIG), seed=seed), np.arange(40) % 10

    def step(idx, z):  # one mini-batch: idx (B,) example indices, z (2, B, Z_DIG) codes for the D and G steps
        real, y = tf.gather(X, idx), tf.gather(Y, idx)
        if conditional:
            return cgan_step(G, D, opt_g, opt_d, real, y, z[0], z[1], DIG_SMOOTH)
        return train_step(G, D, opt_g, opt_d, real, z[0], z[1], DIG_SMOOTH)

    @tf.function(input_signature=[tf.TensorSpec((None, DIG_BATCH), tf.int32), tf.TensorSpec((None, 2, DIG_BATCH, Z_DIG), tf.float32)])
    def train_batches(idx, z):
        """Mini-batches idx (n, B), codes z (n, 2, B, Z_DIG) in one graph."""
        def body(i, d_hist, g_hist):
            d_loss, g_loss = step(idx[i], z[i])
            return i + 1, d_hist.write(i, d_loss), g_hist.write(i, g_loss)

        n = tf.shape(idx)[0]
        hists = (tf.TensorArray(tf.float32, size=n), tf.TensorArray(tf.float32, size=n))
        _, d_hist, g_hist = tf.while_loop(lambda i, *_: i < n, body, (tf.constant(0), *hists))
        return d_hist.stack(), g_hist.stack()

    hist, snaps = {"D": [], "G": []}, {}
    with tf.device(DEVICE):
        for epoch in (bar := trange(1, epochs + 1, desc=desc, leave=False)):
            idx = rng.permutation(len(X_DIG))[:n_batches * DIG_BATCH].reshape(n_batches, DIG_BATCH).astype(np.int32)
            z = rng.standard_normal((n_batches, 2, DIG_BATCH, Z_DIG)).astype(np.float32)
            if epoch == 1:  # step 1 runs eagerly: it creates the optimizers' variables, which the compiled loop may not
                d_loss, g_loss = step(tf.constant(idx[0]), tf.constant(z[0]))
                hist["D"].append(float(d_loss)); hist["G"].append(float(g_loss))
                idx, z = idx[1:], z[1:]
            d_hist, g_hist = train_batches(idx, z)
            hist["D"] += d_hist.numpy().tolist(); hist["G"] += g_hist.numpy().tolist()
            if epoch in snapshot_epochs:
                snaps[epoch] = to_unit(generate(G, z_fixed, y_fixed if conditional else None))
            bar.set_postfix(D=f"{hist['D'][-1]:.2f}", G=f"{hist['G'][-1]:.2f}")
    return G, hist, snaps

# %% [markdown]
# Train the unconditional DCGAN and watch a fixed set of 40 codes over training. Quality is measured as in Chapter 09: the Fréchet distance (FD) between 1,000 samples and the 297 test digits in the feature space of the course's digits classifier; the floor is the FD of 1,000 real training digits against the same test digits (the same sample size as the models': the FD's bias depends on it, Chapter 09).

# %%
from genlab.metrics import digits_features, digits_probs, frechet_distance, precision_recall

DIG_EPOCHS = pick(150, 6)
snapshot_epochs = sorted({max(1, DIG_EPOCHS // 10), DIG_EPOCHS // 4, DIG_EPOCHS // 2, DIG_EPOCHS})
t0 = time.time()
G_dc, hist_dc, snaps_dc = train_dcgan(DIG_EPOCHS, snapshot_epochs=snapshot_epochs)
dcgan_seconds = time.time() - t0
fig, axes = plt.subplots(len(snaps_dc), 1, figsize=(10, 1.1 * len(snaps_dc)))
for ax, (epoch, imgs) in zip(np.atleast_1d(axes), sorted(snaps_dc.items())):
    ax.imshow(np.concatenate(list(imgs[:20]), axis=1), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_title(f"epoch {epoch}", fontsize=8); ax.axis("off")
fig.tight_layout(); plt.show()

eval_rng = np.random.default_rng(SEED + 7)
f_test = digits_features(dig_test.x)
floor_rng = np.random.default_rng(SEED + 8)  # 1,000 real digits: the same sample size as the models (FD depends on N)
f_floor = digits_features(dig_train.x[floor_rng.choice(len(dig_train.x), 1000, replace=False)])
fd_floor = frechet_distance(f_floor, f_test)
dcgan_samples = to_unit(generate(G_dc, eval_rng.standard_normal((1000, Z_DIG)).astype(np.float32)))
fd_dcgan = frechet_distance(digits_features(dcgan_samples), f_test)
prec_dc, rec_dc = precision_recall(f_test, digits_features(dcgan_samples[:len(dig_test.x)]), k=3)
print(f"{DIG_EPOCHS} epochs in {dcgan_seconds:.0f} s; FD to the test digits: DCGAN {fd_dcgan:.2f} (real floor {fd_floor:.2f}); "
      f"precision / recall {prec_dc:.2f} / {rec_dc:.2f}")
report("gan/dcgan_fd", fd_dcgan); report("gan/fd_floor", fd_floor); report("gan/dcgan_seconds", dcgan_seconds, "s")
loss_curves({"D loss": smooth(hist_dc["D"]), "G loss": smooth(hist_dc["G"])}, xlabel="step", title="DCGAN losses (moving average)");

# %% [markdown]
# ## 5. A conditional GAN draws the digit you ask for · 条件 GAN
#
# Mirza & Osindero (2014): give **both** networks the label. The generator gets $[z, \text{one-hot}(y)]$; the discriminator gets the image with the label maps of Exercise 6 and must reject *real images with the wrong label* as well as fakes, so the generator has to respect the label. To check it we ask for 100 samples of each digit and let the course's digits classifier (test accuracy about 95%) say what they show.

# %% [markdown]
# ### Exercise 6 · `label_maps` (1 point)
# A conditional discriminator must see the label too. For images it is given as $K$ extra **constant channels**: channel $k$ is all ones if the label is $k$, else all zeros, appended **after** the image channels on {{framework}}'s channel axis (PyTorch: axis 1 of `(N, C, H, W)`; Keras: the last axis of `(N, H, W, C)`). `y` holds integer labels `(N,)`.

# %% solution id=gan_label_maps only=torch
def label_maps(images, y, num_classes):
    """Append num_classes one-hot constant channels to a (N, C, H, W) batch -> (N, C + num_classes, H, W)."""
    ### BEGIN SOLUTION
    onehot = F.one_hot(y.long(), num_classes).to(images.dtype)            # (N, K)
    maps = onehot[:, :, None, None].expand(-1, -1, images.shape[2], images.shape[3])
    return torch.cat([images, maps], dim=1)
    ### END SOLUTION

# %% solution id=gan_label_maps only=tf
def label_maps(images, y, num_classes):
    """Append num_classes one-hot constant channels to a (N, H, W, C) batch -> (N, H, W, C + num_classes)."""
    ### BEGIN SOLUTION
    onehot = tf.one_hot(tf.cast(y, tf.int32), num_classes, dtype=images.dtype)   # (N, K)
    shape = tf.shape(images)
    maps = tf.broadcast_to(onehot[:, None, None, :], (shape[0], shape[1], shape[2], num_classes))
    return tf.concat([images, maps], axis=-1)
    ### END SOLUTION

# %% test id=gan_label_maps_test points=1
"""label_maps: image channels first, then K one-hot constant maps, on the framework's channel axis.

Catches: the label maps before the image channels; the wrong axis; num_classes ignored (10 assumed,
or one_hot without it: as wide as the largest label + 1); maps of H x H pixels; an off-by-one one-hot; the label as one channel holding the class number; a graph cut on the images.
"""
import numpy as np
from genlab.testing import assert_close_images, assert_finite_grads
from genlab.fw import CHANNEL_AXIS, grad_of, to_images, to_labels

# 3 images of 2 x 5 pixels with C = 2 channels, K = 4 classes (expected values in the neutral layout (N, H, W, C);
# assert_close_images compares in this framework's layout, CHANNEL_AXIS)
x = np.random.default_rng(59).random((3, 2, 5, 2))
want = np.concatenate([x, np.broadcast_to(np.eye(4)[[2, 0, 1]][:, None, None, :], (3, 2, 5, 4))], axis=-1)
assert_close_images(label_maps(to_images(x), to_labels([2, 0, 1]), 4), want, "images with label maps", CHANNEL_AXIS)
_, (g,) = grad_of(lambda t: label_maps(t, to_labels([2, 0, 1]), 4), to_images(x))
assert_finite_grads([g], ["images"])
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(61)
for n, h, w, c, k in [(5, 8, 7, 1, 10), (3, 2, 5, 2, 4), (1, 6, 3, 3, 7)]:
    x, y = rng.normal(size=(n, h, w, c)), rng.integers(0, k, n)
    want = np.concatenate([x, np.broadcast_to(np.eye(k)[y][:, None, None, :], (n, h, w, k))], axis=-1)
    assert_close_images(label_maps(to_images(x), to_labels(y), k), want, f"label maps for (N, H, W, C, K) = {(n, h, w, c, k)}",
                        CHANNEL_AXIS)
x = rng.normal(size=(4, 3, 3, 1))
_, (g,) = grad_of(lambda t: label_maps(t, to_labels([1, 2, 3, 4]), 5), to_images(x))
assert_finite_grads([g], ["images"])
### END HIDDEN TESTS

# %%
t0 = time.time()
G_c, hist_c, snaps_c = train_dcgan(DIG_EPOCHS, conditional=True, snapshot_epochs=(DIG_EPOCHS,), desc="cGAN")
cgan_seconds = time.time() - t0
wanted = np.repeat(np.arange(10), 100)
cgan_samples = to_unit(generate(G_c, eval_rng.standard_normal((1000, Z_DIG)).astype(np.float32), wanted))
predicted = digits_probs(cgan_samples).argmax(1)
cgan_acc = float(np.mean(predicted == wanted))
per_digit = [float(np.mean(predicted[wanted == d] == d)) for d in range(10)]
fd_cgan = frechet_distance(digits_features(cgan_samples), f_test)
print(f"{DIG_EPOCHS} epochs in {cgan_seconds:.0f} s; the classifier reads the requested digit in {cgan_acc:.1%} of 1,000 samples")
print("per digit:", " ".join(f"{d}:{a:.0%}" for d, a in enumerate(per_digit)))
print(f"FD to the test digits: cGAN {fd_cgan:.2f} (DCGAN {fd_dcgan:.2f}, real floor {fd_floor:.2f})")
report("gan/cgan_requested_digit_accuracy", cgan_acc); report("gan/cgan_fd", fd_cgan); report("gan/cgan_seconds", cgan_seconds, "s")
image_grid(cgan_samples.reshape(10, 100, 8, 8)[:, :12].reshape(-1, 8, 8), nrow=12, title="cGAN: each row asks for one digit");

# %% [markdown]
# **Latent interpolation · 隐空间插值.** Moving $z$ on a straight line between two codes (same label) changes the *style* smoothly (slant, thickness); moving the one-hot label between two classes with $z$ fixed morphs one digit into another. Smooth paths mean the generator has not memorised isolated training images.

# %%
steps_i = np.linspace(0, 1, 10, dtype=np.float32)[:, None]
interp_rng = np.random.default_rng(SEED + 11)
rows = []
for digit in [0, 2, 3, 5, 8]:
    z0, z1 = interp_rng.standard_normal((2, 1, Z_DIG)).astype(np.float32)
    rows.append(to_unit(generate(G_c, (1 - steps_i) * z0 + steps_i * z1, np.full(10, digit))))
z_fixed_i = np.repeat(interp_rng.standard_normal((1, Z_DIG)).astype(np.float32), 10, axis=0)
with_label = lambda a, b: np.concatenate([z_fixed_i, (1 - steps_i) * np.eye(10, dtype=np.float32)[a] + steps_i * np.eye(10, dtype=np.float32)[b]], 1)
rows.append(to_unit(generate(G_c, with_label(1, 7))))
rows.append(to_unit(generate(G_c, with_label(4, 9))))
image_grid(np.concatenate(rows), nrow=10, title="rows 1-5: z interpolated, label fixed | rows 6-7: label 1->7 and 4->9, z fixed");


# %% [markdown]
# ## 6. Super-resolution done right · 超分辨率
#
# **Task.** Given a low-resolution (LR) image, produce the high-resolution (HR) one, here $\times 2$. We make the LR images ourselves: crop each HR photo to even size and downscale it with an anti-aliased bicubic filter (`skimage.transform.rescale(hr, 0.5, order=3, anti_aliasing=True)`). The baseline is **bicubic upsampling** of the LR image back to HR size (`skimage.transform.resize(..., order=3)`, computed once in NumPy, so both frameworks use the same numbers).
#
# **Data.** Grey-level versions of the photos that ship with scikit-image (no downloads). Two whole images, *astronaut* and *camera*, are held out for testing; the network trains on random LR patches ($32\times32$, batch 16) of the other photos, with flips and transposes, and with most flat patches (sky, background) redrawn. PSNR and SSIM are measured on the **whole** held-out images (4-pixel border removed), not on patches: flat patches give an infinite or meaningless PSNR.
#
# **Network (ESPCN, Shi et al., 2016).** All convolutions run at **low** resolution, the last one produces $r^2 = 4$ channels per output pixel, and your `pixel_shuffle` rearranges them into the HR grid: the network is cheap and learns its own upsampling. It predicts the **residual** over the bicubic image, $\hat y = \text{bicubic}(x) + \mathrm{PS}(f(x))$, so at initialisation it is exactly bicubic and training only has to learn the missing detail.
#
# **Losses.** First a content loss. PSNR is a function of the MSE, yet an **L1** loss reaches a higher PSNR here (and in EDSR, Lim et al., 2017): its gradient does not shrink with the error, so small residuals keep being corrected. In probes on this machine L1 gained +1.16 dB over bicubic where MSE plateaued at +0.87 dB. L1 needs a short learning-rate warm-up: at full rate from the first step the ReLUs died within 20 steps and the network stayed exactly bicubic (+0.00 dB), a silent failure worth checking for. Then, as in SRGAN (Ledig et al., 2017), fine-tune with $\mathcal L = \text{L1} + \lambda\,\mathcal L_G^\text{adv}$ ($\lambda = 10^{-3}$) against a patch discriminator: the adversarial term rewards realistic texture, which typically costs a little PSNR (the perception-distortion trade-off, Blau & Michaeli, 2018).


# %% [markdown]
# ### Exercise 7 · `pixel_shuffle` (2 points)
# The sub-pixel convolution of ESPCN (Shi et al., 2016) computes $r^2$ channels per output channel **at low resolution** and then rearranges them into an $r\times$ larger image. Written for a batch in the framework-neutral $(N, H, W, C r^2)$ layout:
# $$\text{out}[n,\; h r + i,\; w r + j,\; c] = \text{in}[n,\; h,\; w,\; c\, r^2 + i\, r + j],\qquad 0 \le i, j < r.$$
# Implement it on {{framework}}'s layout (PyTorch `(N, C r^2, H, W)` -> `(N, C, H r, W r)`; Keras `(N, H, W, C r^2)` -> `(N, H r, W r, C)`) with reshapes and a transpose.
# This channel order is PyTorch's `nn.PixelShuffle`; TensorFlow's `tf.nn.depth_to_space` reads channel $(i\,r + j)\,C + c$ instead. The two agree for $C = 1$ and differ otherwise, which matters whenever weights move between frameworks.

# %% solution id=gan_pixel_shuffle only=torch
def pixel_shuffle(x, r):
    """(N, C*r*r, H, W) -> (N, C, H*r, W*r); input channel c*r*r + i*r + j goes to sub-pixel (i, j) of channel c."""
    ### BEGIN SOLUTION
    n, cr2, h, w = x.shape
    c = cr2 // (r * r)
    return x.reshape(n, c, r, r, h, w).permute(0, 1, 4, 2, 5, 3).reshape(n, c, h * r, w * r)
    ### END SOLUTION

# %% solution id=gan_pixel_shuffle only=tf
def pixel_shuffle(x, r):
    """(N, H, W, C*r*r) -> (N, H*r, W*r, C); input channel c*r*r + i*r + j goes to sub-pixel (i, j) of channel c."""
    ### BEGIN SOLUTION
    shape = tf.shape(x)
    n, h, w = shape[0], shape[1], shape[2]
    c = x.shape[-1] // (r * r)
    x = tf.reshape(x, (n, h, w, c, r, r))
    x = tf.transpose(x, (0, 1, 4, 2, 5, 3))        # (n, h, i, w, j, c)
    return tf.reshape(x, (n, h * r, w * r, c))
    ### END SOLUTION

# %% test id=gan_pixel_shuffle_test points=2
"""pixel_shuffle: out[n, h*r + i, w*r + j, c] = in[n, h, w, c*r*r + i*r + j] (framework-neutral layout).

Catches: a reshape without the transpose; i and j swapped; TensorFlow's depth_to_space channel order
((i*r + j)*C + c) for C > 1; H and W mixed up on non-square inputs; r hard-coded to 2; a graph cut.
"""
import numpy as np
from genlab.testing import assert_close_images, assert_finite_grads
from genlab.fw import CHANNEL_AXIS, grad_of, to_images

# expected values in the neutral layout (N, H, W, C); assert_close_images compares in this framework's layout (CHANNEL_AXIS)
x = np.arange(8, dtype=float).reshape(1, 1, 2, 4)        # (N, H, W, C r^2) with r = 2, C = 1
want = np.array([[0, 1, 4, 5], [2, 3, 6, 7]], dtype=float)[None, :, :, None]
assert_close_images(pixel_shuffle(to_images(x), 2), want, "2x2 sub-pixels of two pixels", CHANNEL_AXIS)
# C = 2 output channels, r = 3, 2 x 3 input pixels: input channel c*9 + i*3 + j goes to sub-pixel (i, j) of channel c
x = np.random.default_rng(71).normal(size=(2, 2, 3, 18))
want = np.zeros((2, 6, 9, 2))
for c in range(2):
    for i in range(3):
        for j in range(3):
            want[:, i::3, j::3, c] = x[:, :, :, c * 9 + i * 3 + j]
assert_close_images(pixel_shuffle(to_images(x), 3), want, "pixel shuffle of (2, 2, 3, 18) with r=3", CHANNEL_AXIS)
### BEGIN HIDDEN TESTS
def _ps_oracle(x, r):
    n, h, w, cr2 = x.shape
    c = cr2 // (r * r)
    out = np.zeros((n, h * r, w * r, c))
    for i in range(r):
        for j in range(r):
            for k in range(c):
                out[:, i::r, j::r, k] = x[:, :, :, k * r * r + i * r + j]
    return out

rng = np.random.default_rng(67)
for shape, r in [((2, 3, 5, 4), 2), ((1, 4, 2, 12), 2), ((3, 2, 3, 18), 3), ((1, 5, 7, 9), 3)]:
    x = rng.normal(size=shape)
    assert_close_images(pixel_shuffle(to_images(x), r), _ps_oracle(x, r), f"pixel shuffle of {shape}, r={r}", CHANNEL_AXIS)
x = rng.normal(size=(2, 3, 4, 8))
_, (g,) = grad_of(lambda t: pixel_shuffle(t, 2) ** 2, to_images(x))
assert_finite_grads([g], ["input"])
assert_close_images(g, 2 * x, "gradient of sum(out^2)", CHANNEL_AXIS)
### END HIDDEN TESTS

# %%
from skimage import color, data as skdata, transform
from genlab.metrics import psnr as psnr_metric, ssim as ssim_metric

SR_TRAIN = ["brick", "chelsea", "coffee", "coins", "grass", "gravel", "hubble_deep_field", "immunohistochemistry",
            "moon", "page", "retina", "rocket", "stereo_motorcycle", "text"]
SR_TEST = ["astronaut", "camera"]
SR_BORDER = 4

def grey_photo(name):
    img = getattr(skdata, name)()
    img = img[0] if name == "stereo_motorcycle" else img  # (left, right, disparity): the left view
    img = img[..., :3] if img.ndim == 3 else img
    return color.rgb2gray(img) if img.ndim == 3 else img.astype(np.float64) / 255.0

def degrade(hr):
    """(HR cropped to even size, LR = anti-aliased bicubic x0.5, bicubic upsample of LR), float32 in [0, 1]."""
    hr = hr[: hr.shape[0] // 2 * 2, : hr.shape[1] // 2 * 2]
    lr = np.clip(transform.rescale(hr, 0.5, order=3, anti_aliasing=True), 0, 1)
    up = np.clip(transform.resize(lr, hr.shape, order=3), 0, 1)
    return hr.astype(np.float32), lr.astype(np.float32), up.astype(np.float32)

sr_train = [degrade(grey_photo(n)) for n in SR_TRAIN]
sr_test = {n: degrade(grey_photo(n)) for n in SR_TEST}
print("training photos:", ", ".join(f"{n} {t[0].shape}" for n, t in zip(SR_TRAIN, sr_train)))

def sr_patches(n, size, rng, flat_std=0.05, flat_reject=0.7):
    """n aligned (LR, bicubic, HR) patch triples (LR size x size) from random photos and positions, with random
    flips and transposes (all 8 symmetries of the square); a flat patch (HR std < flat_std) is redrawn with
    probability flat_reject, so training sees more edges and texture. Returns three NHWC float32 arrays."""
    lrs, ups, hrs = [], [], []
    while len(lrs) < n:
        hr, lr, up = sr_train[rng.integers(len(sr_train))]
        y, x = rng.integers(lr.shape[0] - size + 1), rng.integers(lr.shape[1] - size + 1)
        trip = [lr[y:y + size, x:x + size], up[2 * y:2 * y + 2 * size, 2 * x:2 * x + 2 * size], hr[2 * y:2 * y + 2 * size, 2 * x:2 * x + 2 * size]]
        if trip[2].std() < flat_std and rng.random() < flat_reject:
            continue
        if rng.random() < 0.5:
            trip = [t[:, ::-1] for t in trip]
        if rng.random() < 0.5:
            trip = [t[::-1] for t in trip]
        if rng.random() < 0.5:
            trip = [t.T for t in trip]
        for lst, t in zip((lrs, ups, hrs), trip):
            lst.append(t)
    return [np.ascontiguousarray(np.stack(lst)[..., None]) for lst in (lrs, ups, hrs)]

def sr_scores(pred, hr):
    """(PSNR, SSIM) of a whole image against its HR original, border removed, data range 1."""
    c = slice(SR_BORDER, -SR_BORDER)
    p, h = np.clip(pred, 0, 1)[c, c].astype(np.float64), hr[c, c].astype(np.float64)
    return psnr_metric(p, h, data_range=1.0), ssim_metric(p, h, data_range=1.0)

baseline = {n: sr_scores(up, hr) for n, (hr, lr, up) in sr_test.items()}
print("bicubic:", ", ".join(f"{n} {p:.2f} dB / SSIM {s:.4f}" for n, (p, s) in baseline.items()))

# %% [markdown]
# Your pixel shuffle against the bicubic baseline on one held-out image: with a zero residual the network *is* bicubic, and a residual of $r^2$ constant channels shuffles into a constant HR offset.

# %%
SR_WIDTH, SR_DEPTH, SR_PATCH, SR_BATCH, SR_LR = 32, 4, 32, 16, 1e-3
SR_STEPS, SR_WARMUP = pick(2400, 150), pick(100, 30)
SR_ADV_STEPS, SR_ADV_LAMBDA, SR_ADV_LR = pick(300, 30), 1e-3, 1e-4
hr0, lr0, up0 = sr_test["camera"]
offset = np.full((1, *lr0.shape, 4), 0.01, np.float32)
shifted = images_to_numpy(pixel_shuffle(to_images(offset), 2))[0, ..., 0]
assert shifted.shape == hr0.shape and np.allclose(shifted, 0.01)
print(f"camera: LR {lr0.shape} -> HR {hr0.shape}; bicubic PSNR {sr_scores(up0, hr0)[0]:.2f} dB")

# %% only=torch
def sr_forward(net, lr, up):
    """Residual super-resolution: bicubic + pixel_shuffle(net(LR)); the LR input is centred at 0."""
    return up + pixel_shuffle(net(lr - 0.5), 2)


def super_resolve(net, lr, up):
    """Whole NumPy LR image (h, w) and its bicubic upsample (2h, 2w) -> NumPy SR image (2h, 2w)."""
    with torch.no_grad():
        out = sr_forward(net, to_images(lr[None, ..., None], device_=DEVICE), to_images(up[None, ..., None], device_=DEVICE))
    return images_to_numpy(out)[0, ..., 0]


def train_sr(net, steps, adversarial=False, seed=SEED):
    """Content-loss training (L1, Adam, linear warm-up then cosine decay) or adversarial fine-tuning
    (L1 + lambda * non-saturating G loss against a PatchDiscriminator). Returns the loss history."""
    rng = np.random.default_rng(seed)
    net.to(DEVICE).train()
    opt = torch.optim.Adam(net.parameters(), lr=SR_ADV_LR if adversarial else SR_LR, betas=(0.5, 0.999) if adversarial else (0.9, 0.999))
    warmup_cosine = lambda t: min(1.0, (t + 1) / SR_WARMUP) * 0.5 * (1 + math.cos(math.pi * t / steps))
    sched = None if adversarial else torch.optim.lr_scheduler.LambdaLR(opt, warmup_cosine)
    if adversarial:
        disc = PatchDiscriminator(32).to(DEVICE)
        opt_d = torch.optim.Adam(disc.parameters(), lr=SR_ADV_LR, betas=(0.5, 0.999))
    history = {"l1": [], "D": [], "G adv": []}
    for step in trange(steps, desc="SR adversarial" if adversarial else "SR content", leave=False):
        lr_b, up_b, hr_b = (to_images(a, device_=DEVICE) for a in sr_patches(SR_BATCH, SR_PATCH, rng))
        sr_b = sr_forward(net, lr_b, up_b)
        content = F.l1_loss(sr_b, hr_b)
        loss = content
        if adversarial:
            d_loss = discriminator_loss(disc(hr_b - 0.5), disc(sr_b.detach() - 0.5))
            opt_d.zero_grad(); d_loss.backward(); opt_d.step()
            adv = generator_loss(disc(sr_b - 0.5))
            loss = content + SR_ADV_LAMBDA * adv
            history["D"].append(d_loss.item()); history["G adv"].append(adv.item())
        opt.zero_grad(); loss.backward(); opt.step()
        if sched is not None:
            sched.step()
        history["l1"].append(content.item())
    return history

# %% only=tf
def sr_forward(net, lr, up):
    """Residual super-resolution: bicubic + pixel_shuffle(net(LR)); the LR input is centred at 0."""
    return up + pixel_shuffle(net(lr - 0.5), 2)


def super_resolve(net, lr, up):
    """Whole NumPy LR image (h, w) and its bicubic upsample (2h, 2w) -> NumPy SR image (2h, 2w)."""
    with tf.device(DEVICE):
        out = sr_forward(net, to_images(lr[None, ..., None]), to_images(up[None, ..., None]))
    return images_to_numpy(out)[0, ..., 0]


def train_sr(net, steps, adversarial=False, seed=SEED):
    """Content-loss training (L1, Adam, linear warm-up then cosine decay) or adversarial fine-tuning
    (L1 + lambda * non-saturating G loss against a PatchDiscriminator). Returns the loss history."""
    rng = np.random.default_rng(seed)
    if adversarial:
        opt = keras.optimizers.Adam(SR_ADV_LR, beta_1=0.5)
        disc = PatchDiscriminator(32)
        opt_d = keras.optimizers.Adam(SR_ADV_LR, beta_1=0.5)
        opt_d.build(disc.trainable_variables)
    else:
        opt = keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(0.0, steps - SR_WARMUP, warmup_target=SR_LR,
                                                                           warmup_steps=SR_WARMUP))
    opt.build(net.trainable_variables)  # slots made now: a compiled step that creates variables is traced twice

    @tf.function
    def content_step(lr_b, up_b, hr_b):
        with tf.GradientTape() as tape:
            content = tf.reduce_mean(tf.abs(sr_forward(net, lr_b, up_b) - hr_b))
        opt.apply_gradients(zip(tape.gradient(content, net.trainable_variables), net.trainable_variables))
        return content, 0.0, 0.0

    @tf.function
    def adversarial_step(lr_b, up_b, hr_b):
        sr_b = sr_forward(net, lr_b, up_b)
        with tf.GradientTape() as tape:
            d_loss = discriminator_loss(disc(hr_b - 0.5), disc(sr_b - 0.5))
        opt_d.apply_gradients(zip(tape.gradient(d_loss, disc.trainable_variables), disc.trainable_variables))
        with tf.GradientTape() as tape:
            sr_b = sr_forward(net, lr_b, up_b)
            content = tf.reduce_mean(tf.abs(sr_b - hr_b))
            adv = generator_loss(disc(sr_b - 0.5))
            loss = content + SR_ADV_LAMBDA * adv
        opt.apply_gradients(zip(tape.gradient(loss, net.trainable_variables), net.trainable_variables))
        return content, d_loss, adv

    step_fn = adversarial_step if adversarial else content_step
    history = {"l1": [], "D": [], "G adv": []}
    with tf.device(DEVICE):
        for step in trange(steps, desc="SR adversarial" if adversarial else "SR content", leave=False):
            content, d_loss, adv = step_fn(*(tf.constant(a) for a in sr_patches(SR_BATCH, SR_PATCH, rng)))
            history["l1"].append(float(content))
            if adversarial:
                history["D"].append(float(d_loss)); history["G adv"].append(float(adv))
    return history

# %% [markdown]
# Train with the content loss, then fine-tune a copy adversarially, and score both on the held-out photos.

# %%
genlab.seed_everything(SEED)
sr_net = SRNet(SR_WIDTH, SR_DEPTH, scale=2, activation="relu")
weights = genlab.fw.get_weights(sr_net)
genlab.fw.set_weights(sr_net, weights[:-2] + [np.zeros_like(weights[-2]), np.zeros_like(weights[-1])])  # start at bicubic
t0 = time.time()
sr_hist = train_sr(sr_net, SR_STEPS)
sr_seconds = time.time() - t0
sr_content = {n: super_resolve(sr_net, lr, up) for n, (hr, lr, up) in sr_test.items()}
residual = np.mean([np.abs(sr_content[n] - sr_test[n][2]).mean() for n in SR_TEST])
print(f"mean |SR - bicubic| = {residual:.4f} (0 would mean the network died and still outputs bicubic)")

sr_adv_net = SRNet(SR_WIDTH, SR_DEPTH, scale=2, activation="relu")
genlab.fw.set_weights(sr_adv_net, genlab.fw.get_weights(sr_net))
t0 = time.time()
adv_hist = train_sr(sr_adv_net, SR_ADV_STEPS, adversarial=True)
adv_seconds = time.time() - t0
sr_adv = {n: super_resolve(sr_adv_net, lr, up) for n, (hr, lr, up) in sr_test.items()}

rows = {"bicubic": {n: sr_test[n][2] for n in SR_TEST}, "ESPCN, content loss": sr_content, "ESPCN + adversarial": sr_adv}
scores = {name: {n: sr_scores(img[n], sr_test[n][0]) for n in SR_TEST} for name, img in rows.items()}
print(f"content training {SR_STEPS} steps in {sr_seconds:.0f} s; adversarial fine-tuning {SR_ADV_STEPS} steps in {adv_seconds:.0f} s")
print(f"{'method':>22} " + " ".join(f"{n:>20}" for n in SR_TEST) + f" {'mean PSNR':>10} {'mean SSIM':>10}")
for name, sc in scores.items():
    print(f"{name:>22} " + " ".join(f"{sc[n][0]:>9.2f} dB {sc[n][1]:.4f}" for n in SR_TEST)
          + f" {np.mean([v[0] for v in sc.values()]):>10.2f} {np.mean([v[1] for v in sc.values()]):>10.4f}")
mean_psnr = {name: float(np.mean([v[0] for v in sc.values()])) for name, sc in scores.items()}
gain = mean_psnr["ESPCN, content loss"] - mean_psnr["bicubic"]
print(f"PSNR gain over bicubic: content {gain:+.2f} dB, adversarial {mean_psnr['ESPCN + adversarial'] - mean_psnr['bicubic']:+.2f} dB")
report("gan/sr_psnr_bicubic_db", mean_psnr["bicubic"], "dB")
report("gan/sr_psnr_content_db", mean_psnr["ESPCN, content loss"], "dB")
report("gan/sr_psnr_adversarial_db", mean_psnr["ESPCN + adversarial"], "dB")
report("gan/sr_psnr_gain_db", gain, "dB")
report("gan/sr_ssim_content", float(np.mean([v[1] for v in scores["ESPCN, content loss"].values()])))
report("gan/sr_seconds", sr_seconds, "s")

# %% [markdown]
# **Reading the numbers.** In the full run (PyTorch, about 2 minutes of training on one core when the machine is idle) the content-loss network gains about +1.1 dB PSNR over bicubic on the held-out photos, with a higher SSIM. The adversarial fine-tuning with $\lambda = 10^{-3}$ leaves PSNR and SSIM unchanged within a few hundredths of a dB: at this weight the patch discriminator (its loss stays near $2\log 2$) barely moves the generator. In a probe with $\lambda = 10^{-2}$ the gain over bicubic vanished (+0.01 dB) and SSIM fell below bicubic. That is the perception-distortion trade-off: $\lambda$ chooses where you sit on it, and PSNR/SSIM can only tell you what you gave up, not what texture you gained (for that, SRGAN used human opinion scores).

# %%
crops = {"astronaut": (slice(40, 200), slice(150, 310)), "camera": (slice(60, 220), slice(190, 350))}
fig, axes = plt.subplots(2, 4, figsize=(12, 6.4))
for ax_row, n in zip(axes, SR_TEST):
    ys, xs = crops[n]
    panels = [("HR original", sr_test[n][0])] + [(name, rows[name][n]) for name in rows]
    for ax, (name, img) in zip(ax_row, panels):
        ax.imshow(np.clip(img[ys, xs], 0, 1), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        sub = "" if name == "HR original" else f"\n{scores[name][n][0]:.2f} dB, SSIM {scores[name][n][1]:.3f}"
        ax.set_title(f"{n}: {name}{sub}", fontsize=8); ax.axis("off")
fig.tight_layout(); plt.show()

# %% [markdown]
# ## 7. Training stability: what an interviewer expects · 训练稳定性
#
# | trick | what it does | seen in this notebook |
# |---|---|---|
# | non-saturating $G$ loss | keeps the generator's gradient alive when $D$ rejects its samples | Section 1, Exercise 2 |
# | one-sided label smoothing (real target 0.9) | stops $D$ from becoming over-confident on real data; smoothing fake targets would be wrong (it rewards samples where $p_\text{data} = 0$) | Exercise 1, the DCGANs |
# | TTUR: separate learning rates (Heusel et al., 2017) | with suitably decaying step sizes the two-time-scale updates provably converge to a local Nash equilibrium; in practice $D$ gets the larger rate (e.g. $4\cdot10^{-4}$ vs $10^{-4}$ in SAGAN). The ratio matters: the "D too fast" run above (10x) collapses | Section 3 |
# | gradient penalty (WGAN-GP), or R1 on real data | makes the critic smooth (Lipschitz), so its gradients point toward the data everywhere | Exercise 5, Section 3 |
# | spectral normalisation (Miyato et al., 2018) | divides each weight matrix by its largest singular value (one power-iteration step per update), a cheap Lipschitz bound without a penalty; `torch.nn.utils.parametrizations.spectral_norm`, `keras.layers.SpectralNormalization` | not trained here |
# | Adam with $\beta_1 = 0.5$, small lr | less momentum: the opponents' moving targets make long momentum harmful | everywhere |
# | minibatch discrimination / feature matching / unrolling | let $D$ see diversity, or let $G$ anticipate $D$'s response | named only |
#
# **Healthy vs failing curves.** Healthy: $D$ loss near $2\log 2$ minus a little, $G$ loss near $\log 2$ plus a little, both noisy but flat; samples improve. Failing: $D$ loss $\to 0$ and $G$ loss rising (discriminator wins, gradients carry no information about the data), or both losses oscillating with a long period while samples hop between modes (collapse), or NaNs (learning rate or an unstable loss written as `log(sigmoid(.))`). Loss values alone do not measure sample quality: look at samples and at metrics such as FD and mode coverage.

# %% [markdown]
# ## 8. Spot the bug: the seeds' GAN code · 找错：种子代码的问题
#
# **S000-Q8 (TensorFlow "optimise a GAN").**
# ```python
# generated_images = generator(x)                       # x is a batch of real data
# disc_loss = loss(real_output, tf.zeros_like(real_output)) + loss(fake_output, tf.zeros_like(fake_output))
# ```
# 1. The generator is fed **real data**, not noise: a generator maps $z \sim p(z)$ (or a condition) to data. *Fix:* `generator(tf.random.normal((B, z_dim)))`.
# 2. Real samples are labelled **0**, like the fakes: the discriminator learns to call everything fake and the game has no equilibrium. *Fix:* real targets 1 (Exercise 1).
# 3. Both networks are `Dense(...)` stacks on inputs of width 100, while the generator outputs width 1: the discriminator's input width is something the generator never produces. The last layers apply `sigmoid` and the losses are called with `(y_pred, y_true)` swapped (`BinaryCrossentropy()(y_true, y_pred)` is the Keras order). *Fix:* the generator's output shape equals the data shape; the discriminator returns logits and the loss uses `from_logits=True` (or our `discriminator_loss`).
#
# **S002-P1 (PyTorch "implement a GAN").**
# ```python
# real_output = discriminator(real_images).view(-1)                # shape (B,)
# real_loss = criterion(real_output, real_labels)                  # real_labels: torch.ones(B, 1)
# fake_output = discriminator(fake_images).view(-1)                # fake_images not detached
# ```
# 1. `nn.BCELoss` with input `(B,)` and target `(B, 1)` raises a size-mismatch error (and where a loss silently broadcasts such shapes, it averages a $B \times B$ matrix of wrong pairs). *Fix:* targets with the logits' shape: `torch.ones_like(logits)`.
# 2. The fakes are **not detached** in the discriminator step, so `d_loss.backward()` also runs through $G$ and fills $G$'s `.grad`. Here `generator_optimizer.zero_grad()` happens to clear them before the generator step, so the result is only twice the work; drop that `zero_grad` (or accumulate over steps) and $G$ is updated to make its fakes *easier to reject*. *Fix:* `G(z).detach()` (Exercise 3 checks that nothing of the D step reaches $G$).
# 3. `Sigmoid` + `BCELoss` instead of logits + `BCEWithLogitsLoss`: $\log(\sigma(\ell))$ saturates to $-\infty$ for confident logits (Exercise 1). The MNIST `data_loader` is also never defined; data downloads at run time are avoided in this course.
#
# **S003-P1 (TensorFlow "super-resolution GAN").**
# 1. The generator receives **random noise** `z` instead of the low-resolution image: nothing ties the output to the input, so it cannot be super-resolution. *Fix:* $G(\text{LR})$, trained with a content loss against the matching HR image (Section 6).
# 2. `keras.preprocessing.image.resize` does not exist (`tf.image.resize` does); the generator is built for 32x32 images but called on noise vectors of width 100; the discriminator is built for 32x32 inputs but trained on 64x64 targets. Fashion-MNIST is downloaded at run time.
# 3. Nothing is compiled, every step uses the same first batch `x_train[:batch_size]`, and `generator.train_on_batch(z, real_labels)` would fit the generator's *images* to the labels 1 directly, with no path through the discriminator: there is no adversarial training at all. *Fix:* a content loss plus a small adversarial term computed through $D$ (Section 6).
#
# **S004 3.1** calls ESPCN a ResNet: it is the *efficient sub-pixel convolution network*, a few convolutions at low resolution followed by a pixel shuffle (Exercise 7). **S004 2.3** calls PGGAN a "per-pixel loss GAN": it is *Progressive Growing of GANs* (Karras et al., 2018), which trains at 4x4 and adds layers up to 1024x1024.

# %% [markdown]
# ## 9. Summary · 小结
#
# | quantity | where |
# |---|---|
# | modes covered and high-quality share: balanced, collapsing, WGAN-GP | Section 3 table |
# | DCGAN and cGAN Fréchet distance vs the real floor; cGAN requested-digit accuracy | Sections 4-5 |
# | super-resolution PSNR / SSIM vs bicubic, content and adversarial | Section 6 |
#
# - $D^* = p_\text{data}/(p_\text{data} + p_g)$; with it the minimax value is $2\,\mathrm{JS} - \log 4$. Train $G$ with the non-saturating loss, everything from logits.
# - Mode collapse is measurable (modes covered, high-quality share); a discriminator that learns much faster than the generator usually causes it, and a gradient penalty on $D$ (R1 here, WGAN-GP's on interpolates) prevented it in every run.
# - Conditioning = give both networks the label; check it with an independent classifier.
# - Super-resolution: pixel shuffle at low resolution, residual over bicubic, content loss first; an adversarial term trades PSNR for texture.
#
# **Interview drill:** the items of this chapter are in `questions/03_gan.yaml` (中文 / English); practise them with `genlab drill --chapter gan`. Each exercise above is linked from the items that ask about it (for example `03_gan#gan_gradient_penalty`, `03_gan#gan_pixel_shuffle`).
