# %% [markdown]
# # Chapter 08 · Privacy and security · 隐私与安全
#
# **What you will be able to answer in an interview / 学完本章你能回答：**
#
# - Why does a trained model leak its training data, and how do you *measure* the leak (membership inference: loss threshold, LiRA, ROC, AUC, TPR at 1% FPR)? / 模型为什么会泄露训练数据，如何度量？
# - What exactly do $\varepsilon$ and $\delta$ promise a data owner? The Gaussian mechanism, composition, amplification by subsampling. / $(\varepsilon, \delta)$ 差分隐私到底保证了什么？
# - Write DP-SGD from scratch: per-example gradients, clipping each example, Gaussian noise, Poisson sampling, and an RDP accountant that agrees with the `dp-accounting` library. / 从零实现 DP-SGD 与 RDP 隐私会计。
# - What privacy costs in accuracy (the privacy-utility curve) and in speed, and why DP makes the attack fail. / 隐私的代价：精度与速度。
# - Federated averaging with non-IID clients: why weights are averaged by client size, what client drift is, what secure aggregation adds, and why FL alone is not DP. / 联邦平均、客户端漂移、安全聚合。
# - How a text watermark is detected (green-list z-score) and how it can be removed. / 文本水印的检测与局限。
# - Pseudonymisation vs. anonymisation, k-anonymity and its failure by linkage, encryption at rest, access control and audit logs. / 假名化与匿名化、k-匿名、静态加密、访问控制与审计。
#
# Seeds covered: S000-Q9 (encryption, differential privacy, federated learning, anonymisation, access control, audit) and S004 ch.8 (data privacy in generative AI).
# The seed's "differential privacy" code only shrinks a number each epoch: no clipping, no noise, no accounting, so nothing private happens. Section 9 corrects it.
#
# This notebook uses **{{framework}}**; its twin uses the other framework with the same exercises and the same tests.

# %% [markdown]
# ## 1. The definitions, short · 定义
#
# **Differential privacy** (Dwork et al., 2006). A randomised algorithm $M$ is $(\varepsilon, \delta)$-DP if for every pair of datasets $D, D'$ that differ in one person's record
# and every set of outcomes $S$:
# $$\Pr[M(D) \in S] \le e^{\varepsilon}\,\Pr[M(D') \in S] + \delta.$$
# *What it promises a data owner:* whatever an attacker concludes from the output (the trained model), they would have concluded almost as well without your record:
# any test "was Alice in the training set?" has true-positive rate at most $e^\varepsilon\cdot$FPR $+\,\delta$. With $\varepsilon = 1$ that is at most 2.7x the false-positive rate.
# $\delta$ is the probability that the guarantee fails outright, so it must be far below $1/n$ (we use $10^{-5}$ for $n = 1{,}500$). DP protects against *membership* and *reconstruction* of individuals;
# it does not hide population statistics (that is the point of learning).
#
# **The Gaussian mechanism.** Release $f(D) + \mathcal N(0, \sigma^2 I)$. If $f$ has $\ell_2$-sensitivity $\Delta = \max_{D \sim D'}\|f(D) - f(D')\|_2$, then
# $\sigma = \Delta\sqrt{2\ln(1.25/\delta)}/\varepsilon$ gives $(\varepsilon, \delta)$-DP for $\varepsilon < 1$ (Dwork & Roth, 2014, Thm A.1). This classical calibration is loose; DP-SGD uses an accountant instead.
#
# **Composition.** Running $k$ mechanisms costs privacy: naively $k\varepsilon$; the advanced composition theorem gives about $\varepsilon\sqrt{2k\ln(1/\delta')}$.
# Rényi DP (Mironov, 2017) composes exactly by *adding* the Rényi divergences of each order $\alpha$: $\mathrm{RDP}_\text{total}(\alpha) = \sum_t \mathrm{RDP}_t(\alpha)$.
#
# **Subsampling amplifies privacy.** If each step sees a random subset in which each record is included independently with probability $q$ (**Poisson sampling**), a record is usually not used at all,
# so a step costs roughly $q$ times less. The accountant's formula is only valid for the sampling it assumes: shuffling into fixed-size batches is a *different* mechanism.
#
# **RDP of the Poisson-subsampled Gaussian** (Mironov, Talwar, Zhang, 2019), for integer $\alpha \ge 2$ and noise multiplier $\sigma$ (noise std / sensitivity):
# $$\mathrm{RDP}(\alpha) = \frac{1}{\alpha - 1}\log A_\alpha,\qquad A_\alpha = \sum_{i=0}^{\alpha}\binom{\alpha}{i}(1-q)^{\alpha-i}q^{i}\exp\!\Big(\frac{i^2 - i}{2\sigma^2}\Big),$$
# and for $q = 1$ (no subsampling) $\mathrm{RDP}(\alpha) = \alpha/(2\sigma^2)$. After $T$ steps the RDP is $T\cdot\mathrm{RDP}(\alpha)$.
#
# **From RDP to $(\varepsilon, \delta)$.** The classic conversion (Mironov, 2017) is $\varepsilon = \mathrm{RDP}(\alpha) + \log(1/\delta)/(\alpha - 1)$.
# We teach the **improved** conversion (Balle et al., 2020; Canonne, Kamath, Steinke, 2020) that `dp-accounting` and Opacus use:
# $$\varepsilon = \min_\alpha\; \mathrm{RDP}(\alpha) + \log\frac{\alpha - 1}{\alpha} - \frac{\log\delta + \log\alpha}{\alpha - 1}.$$
#
# **DP-SGD** (Abadi et al., 2016). Each step: sample a batch $B$ by Poisson sampling with rate $q$ (expected size $qN$); compute **per-example** gradients $g_i$; clip **each** to norm $C$:
# $\bar g_i = g_i \min(1, C/\|g_i\|_2)$; add noise and average by the *expected* batch size:
# $$\tilde g = \frac{1}{qN}\Big(\sum_{i\in B}\bar g_i + \mathcal N(0, \sigma^2 C^2 I)\Big).$$
# Clipping bounds one example's influence (sensitivity $C$ under add/remove-one); the noise hides it; dividing by the fixed $qN$ (not by $|B|$, which depends on who is in the batch) keeps the sensitivity argument intact.

# %% only=torch
import inspect
import math
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import roc_auc_score, roc_curve
from tqdm.auto import tqdm, trange

import genlab
from genlab import pick, report
from genlab.data import load_digits
from genlab.privacy import bigram_logits, fixed_features, green_mask, split_by_digit, toy_patients, tpr_at_fpr
from genlab.torch import MLP, get_weights, set_weights, to_labels, to_numpy, to_tensor
from genlab.torch.privacy import per_example_grads, predict_logits, train_classifier
from genlab.torch.reference import train_vae
from genlab.viz import image_grid

SEED = 0
QUICK = genlab.is_quick()  # GENLAB_QUICK=1: small, fast runs (tests and grading)
torch.set_num_threads(1)   # the models here are tiny: one thread beats two, and the timings are comparable
genlab.seed_everything(SEED)
print(f"PyTorch {torch.__version__} on the CPU (the models are tiny); QUICK={QUICK}")

# %% only=tf
import inspect
import math
import time

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from sklearn.metrics import roc_auc_score, roc_curve
from tqdm.auto import tqdm, trange

import genlab
from genlab import pick, report
from genlab.data import load_digits
from genlab.privacy import bigram_logits, fixed_features, green_mask, split_by_digit, toy_patients, tpr_at_fpr
from genlab.tf import MLP, get_weights, set_weights, to_labels, to_numpy, to_tensor
from genlab.tf.privacy import per_example_grads, predict_logits, train_classifier
from genlab.tf.reference import train_vae
from genlab.viz import image_grid

SEED = 0
QUICK = genlab.is_quick()  # GENLAB_QUICK=1: small, fast runs (tests and grading)
genlab.seed_everything(SEED)
print(f"TensorFlow {tf.__version__} (Keras {keras.__version__}); QUICK={QUICK}")

# %% [markdown]
# **Knobs, in one place.** `QUICK` shrinks sizes (epochs, number of shadow models, grid points, rounds), not hyper-parameters: the DP-SGD runs are the same in both modes.

# %%
TARGET_EPOCHS = pick(200, 30)      # the overfit target classifier, trained on the members only
N_SHADOW = pick(16, 4)             # LiRA shadow models (Carlini et al. use 64+; 16 is enough to see the effect)
VAE_EPOCHS = pick(300, 20)         # the generative model we attack
N_VAE_SAMPLES = pick(10000, 2000)  # samples drawn from it for the distance attack
DELTA = 1e-5                       # far below 1 / n = 1 / 1500
EPS_GRID = pick([0.5, 1.0, 2.0, 3.0, 5.0, 10.0], [1.0, 3.0])
DP_STEPS, DP_RATE, DP_CLIP, DP_LR = 100, 0.2, 1.0, 3.0  # few large Poisson batches (expected 300 of 1,500)
FED_ROUNDS = pick(30, 4)
FED_CLIENTS = 5

# %% [markdown]
# ## 2. Data · 数据
#
# scikit-learn's 8x8 digits (1,500 training and 297 test images, `genlab.data`). For the attacks we split the training set once into **members** (750 images a target model is
# trained on) and **non-members** (the other 750, from the same distribution): an attack must tell them apart.
# The private classifiers use **fixed random Fourier features** of the pixels (`genlab.privacy.fixed_features`): a map drawn from a seed, never fitted to data, so it costs no privacy,
# and it turns DP-SGD's job into a well-conditioned linear problem (Tramèr & Boneh, 2021: "differentially private learning needs better features").

# %%
train, test = load_digits("train"), load_digits("test")
x_train, y_train, x_test, y_test = train.flat(), train.y, test.flat(), test.y   # (1500, 64), (1500,), (297, 64), (297,)
perm = np.random.default_rng(SEED).permutation(len(x_train))
members, nonmembers = np.sort(perm[:750]), np.sort(perm[750:])
phi_train, phi_test = fixed_features(x_train), fixed_features(x_test)          # (1500, 512), (297, 512)
print(x_train.shape, phi_train.shape, "feature norm", np.linalg.norm(phi_train, axis=1).mean().round(2))
image_grid(x_train[:20], nrow=20, title="training digits");

# %% [markdown]
# ## 3. Why models leak: membership inference · 模型为何泄露：成员推断
#
# A model fits its training examples better than unseen ones. An attacker who can query the model and knows a candidate record $(x, y)$ guesses "member" when the model's
# loss on it is low (Yeom et al., 2018). We overfit a target MLP (64-256-256-10, no regularisation) on the members and attack it.

# %%
genlab.seed_everything(SEED)
target = MLP(64, (256, 256), 10)
t0 = time.time()
target_history = train_classifier(target, x_train[members], y_train[members], epochs=TARGET_EPOCHS, lr=1e-3, batch_size=50, seed=SEED)
logits_in, logits_out = predict_logits(target, x_train[members]), predict_logits(target, x_train[nonmembers])
target_train_acc = (logits_in.argmax(1) == y_train[members]).mean()
target_test_acc = (predict_logits(target, x_test).argmax(1) == y_test).mean()
print(f"target trained in {time.time() - t0:.1f} s: final loss {target_history[-1]:.4f}, "
      f"train accuracy {target_train_acc:.3f}, test accuracy {target_test_acc:.3f}")

# %% [markdown]
# ### Exercise 1 · `membership_scores` (2 points)
# The loss-threshold attack's score for each example: **minus** its cross-entropy loss, $s(x, y) = \log \operatorname{softmax}(\ell(x))_y$ (higher = more likely a member).
# Input: logits `(N, K)` and integer labels `(N,)`; output `(N,)`. Work from the logits with a log-softmax: `log(softmax(.))` is `-inf` once a logit gap exceeds ~104 in float32.
# Any {{framework}} operation is fine.

# %% solution id=privacy_membership_inference only=torch
def membership_scores(logits, labels):
    """Loss-threshold attack scores: log softmax(logits)[label] = -cross-entropy, per example. (N, K), (N,) -> (N,)."""
    ### BEGIN SOLUTION
    return torch.log_softmax(logits, dim=-1).gather(-1, labels.long()[..., None])[..., 0]
    ### END SOLUTION

# %% solution id=privacy_membership_inference only=tf
def membership_scores(logits, labels):
    """Loss-threshold attack scores: log softmax(logits)[label] = -cross-entropy, per example. (N, K), (N,) -> (N,)."""
    ### BEGIN SOLUTION
    return tf.gather(tf.nn.log_softmax(logits, axis=-1), tf.cast(labels, tf.int32), batch_dims=1)
    ### END SOLUTION

# %% test id=privacy_membership_inference_test points=2
"""membership_scores: minus the per-example cross-entropy, from the logits, finite for extreme logits.

Catches: an attack threshold on accuracy (argmax == label) instead of the loss; the loss itself
instead of minus the loss (members would score low); a probability instead of a log-probability;
log(softmax) that gives -inf for extreme logits; the model's confidence (max log-probability)
instead of the true label's; a mean over the examples instead of one score per example.
"""
import numpy as np
from genlab.testing import assert_close
from genlab.fw import to_labels as L, to_tensor as T

logits = np.array([[2.0, 0.5, -1.0], [0.0, 0.0, 0.0], [1.0, 3.0, 0.2], [150.0, -150.0, 0.0]])
labels = np.array([0, 2, 0, 1])
# log softmax by hand: row 1 is log(1/3); row 4's label has logit -150 against 150: log p = -300 (softmax underflows to 0)
lse = np.log(np.exp(logits[:3]).sum(1))
want = np.r_[logits[np.arange(3), labels[:3]] - lse, -300.0]
assert_close(membership_scores(T(logits), L(labels)), want, "scores of 4 examples (one with extreme logits)")
### BEGIN HIDDEN TESTS
def _ls_oracle(logits, labels):
    m = logits.max(-1, keepdims=True)
    logp = logits - m - np.log(np.exp(logits - m).sum(-1, keepdims=True))
    return np.take_along_axis(logp, labels[..., None], -1)[..., 0]

rng = np.random.default_rng(808)
for n, k in [(7, 10), (3, 2), (1, 5), (20, 4)]:
    logits, labels = rng.normal(scale=3.0, size=(n, k)), rng.integers(0, k, n)
    assert_close(membership_scores(T(logits), L(labels)), _ls_oracle(logits, labels), f"scores for N={n}, K={k}")
# wrong labels with confident logits: the true class has a tiny probability, the score is its log
logits = rng.normal(size=(6, 10)); labels = rng.integers(0, 10, 6)
logits[np.arange(6), (labels + 1) % 10] += 120.0
assert_close(membership_scores(T(logits), L(labels)), _ls_oracle(logits, labels), "scores for confidently wrong predictions", rtol=1e-5)
# an attack that ranks: members (low loss) get higher scores than non-members
member = np.eye(10)[np.arange(10)] * 6.0
outsider = np.eye(10)[np.arange(10)] * 6.0 + rng.normal(scale=3.0, size=(10, 10))
scores_in = np.asarray(membership_scores(T(member), L(np.arange(10))), dtype=float)
scores_out = np.asarray(membership_scores(T(outsider), L(np.arange(10))), dtype=float)
assert scores_in.shape == (10,) and scores_out.shape == (10,), "one score per example"
assert scores_in.mean() > scores_out.mean(), "members (fitted well) must score higher than non-members"
### END HIDDEN TESTS

# %% [markdown]
# **The attack and its ROC curve.** An attack is judged like a classifier, over all thresholds: the ROC curve, its area (AUC; 0.5 = guessing) and, since an attacker wants to be *sure*
# about a few people rather than right on average, the **TPR at 1% FPR** (Carlini et al., 2022), read on a log-log plot. We compare with a threshold on *accuracy*
# (correct or not): it has two levels only, so it cannot rank members and non-members that are both classified correctly.

# %%
def attack_metrics(scores_in, scores_out):
    """(AUC, TPR at 1% FPR, ROC curve) of scores where members should score higher."""
    truth = np.r_[np.ones(len(scores_in)), np.zeros(len(scores_out))]
    scores = np.r_[scores_in, scores_out]
    fpr, tpr, _ = roc_curve(truth, scores)
    return roc_auc_score(truth, scores), tpr_at_fpr(truth, scores, 0.01), (fpr, tpr)


loss_in = to_numpy(membership_scores(to_tensor(logits_in), to_labels(y_train[members])))
loss_out = to_numpy(membership_scores(to_tensor(logits_out), to_labels(y_train[nonmembers])))
mia_loss = attack_metrics(loss_in, loss_out)
mia_acc = attack_metrics((logits_in.argmax(1) == y_train[members]).astype(float),
                         (logits_out.argmax(1) == y_train[nonmembers]).astype(float))
print(f"loss-threshold attack: AUC {mia_loss[0]:.3f}, TPR at 1% FPR {mia_loss[1]:.3f}")
print(f"accuracy-threshold attack: AUC {mia_acc[0]:.3f}, TPR at 1% FPR {mia_acc[1]:.3f}")
report("privacy/mia_loss_auc_overfit_mlp", mia_loss[0])
report("privacy/mia_loss_tpr_at_1pct_fpr_overfit_mlp", mia_loss[1])

# %% [markdown]
# **A stronger attack: the likelihood-ratio attack (LiRA)** (Carlini et al., 2022). Some examples are hard (their loss is high even when trained on), others easy (low loss even when not).
# A global threshold ignores that. LiRA trains **shadow models** on random halves of the data the attacker has, and for every candidate estimates two distributions of its
# logit-scaled confidence $\phi = \log\frac{p_y}{1 - p_y}$: when it was **in** a shadow's training set and when it was **out**. The score is the log-likelihood ratio of the
# target's $\phi$ under the two Gaussians (per-example means, a global variance, which is more stable with few shadows).

# %%
def logit_confidence(logits, labels):
    """phi = log p_y - log(1 - p_y), computed stably from logits: logit_y - logsumexp of the other logits."""
    logits = np.asarray(logits, dtype=np.float64)
    mine = logits[np.arange(len(labels)), labels]
    others = logits.copy()
    others[np.arange(len(labels)), labels] = -np.inf
    m = others.max(1)
    return mine - (m + np.log(np.exp(others - m[:, None]).sum(1)))


pool = np.arange(len(x_train))  # the attacker's data: members and non-members alike (it does not know which is which)
shadow_rng = np.random.default_rng(SEED + 1)
phi_shadow, in_shadow = [], []
for s in trange(N_SHADOW, desc="shadow models"):
    keep = shadow_rng.random(len(pool)) < 0.5
    genlab.seed_everything(SEED + 100 + s)
    shadow = MLP(64, (256, 256), 10)
    train_classifier(shadow, x_train[keep], y_train[keep], epochs=TARGET_EPOCHS, lr=1e-3, batch_size=50, seed=SEED + 100 + s)
    phi_shadow.append(logit_confidence(predict_logits(shadow, x_train), y_train))
    in_shadow.append(keep)
phi_shadow, in_shadow = np.array(phi_shadow), np.array(in_shadow)            # (S, 1500) each
n_in, n_out = in_shadow.sum(0), (~in_shadow).sum(0)
mu_in = np.where(n_in > 0, (phi_shadow * in_shadow).sum(0) / np.maximum(n_in, 1), phi_shadow[in_shadow].mean())
mu_out = np.where(n_out > 0, (phi_shadow * ~in_shadow).sum(0) / np.maximum(n_out, 1), phi_shadow[~in_shadow].mean())
sd_in = (phi_shadow - mu_in)[in_shadow].std() + 1e-3
sd_out = (phi_shadow - mu_out)[~in_shadow].std() + 1e-3
phi_target = logit_confidence(predict_logits(target, x_train), y_train)


def _log_normal_pdf(x, mu, sd):
    return -0.5 * ((x - mu) / sd) ** 2 - np.log(sd)


lira = _log_normal_pdf(phi_target, mu_in, sd_in) - _log_normal_pdf(phi_target, mu_out, sd_out)
mia_lira = attack_metrics(lira[members], lira[nonmembers])
print(f"LiRA with {N_SHADOW} shadow models: AUC {mia_lira[0]:.3f}, TPR at 1% FPR {mia_lira[1]:.3f}")
report("privacy/mia_lira_auc_overfit_mlp", mia_lira[0])
report("privacy/mia_lira_tpr_at_1pct_fpr_overfit_mlp", mia_lira[1])

fig, axes = plt.subplots(1, 2, figsize=(9, 3.8))
for name, (auc, tpr1, (fpr, tpr)) in [("loss threshold", mia_loss), ("LiRA", mia_lira), ("accuracy threshold", mia_acc)]:
    for ax in axes:
        ax.plot(fpr, tpr, label=f"{name} (AUC {auc:.2f}, TPR@1% {tpr1:.2f})")
for ax in axes:
    ax.plot([1e-4, 1], [1e-4, 1], "k:", lw=1, label="guessing")
    ax.set_xlabel("false-positive rate"); ax.set_ylabel("true-positive rate")
axes[0].set_title("ROC (linear)"); axes[0].legend(fontsize=7)
axes[1].set_xscale("log"); axes[1].set_yscale("log"); axes[1].set_xlim(1e-3, 1); axes[1].set_ylim(1e-3, 1)
axes[1].set_title("ROC (log-log: the low-FPR regime)")
fig.tight_layout()

# %% [markdown]
# **Reading the curves.** On these digits the model generalises well (test accuracy near 97%), so the *average* leak is small and the global loss threshold is close to chance;
# in float32 the loss of a confidently right example also rounds to exactly 0, so many members and non-members tie. LiRA compares each example with itself (in vs. out of training)
# and in float64 logit space, and finds a few percent of the members at 1% FPR: several times the 1% a guess would find. That is the point of Carlini et al.: privacy is about the
# most exposed individuals (outliers, mislabelled or unusual digits), which an average-case AUC hides.

# %% [markdown]
# **Generative models leak too.** We train a small VAE (the chapter 02 model, `genlab.{{fw}}.reference.train_vae`) on the members only, draw samples, and score each candidate by
# minus its distance to the nearest sample (a distance attack in the spirit of GAN-Leaks, Chen et al., 2020): memorised training digits are reproduced almost exactly.
# Then we look for **memorised digits**: samples much closer to one training image than to any non-member.

# %%
t0 = time.time()
vae_sampler = train_vae(x_train[members], epochs=VAE_EPOCHS, seed=SEED)
gen = vae_sampler(N_VAE_SAMPLES, np.random.default_rng(SEED)).reshape(-1, 64)


def sq_dists(a, b):
    """Squared Euclidean distances (len(a), len(b)) by the expansion |a|^2 + |b|^2 - 2 a.b."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.maximum((a ** 2).sum(1)[:, None] + (b ** 2).sum(1)[None] - 2 * a @ b.T, 0.0)


d_members = np.sqrt(sq_dists(x_train[members], gen).min(1))
d_nonmembers = np.sqrt(sq_dists(x_train[nonmembers], gen).min(1))
mia_vae = attack_metrics(-d_members, -d_nonmembers)
print(f"VAE trained in {time.time() - t0:.0f} s; distance attack on its samples: AUC {mia_vae[0]:.3f}, TPR at 1% FPR {mia_vae[1]:.3f}")
report("privacy/mia_auc_vae", mia_vae[0])
# memorisation: samples whose nearest member is much closer than their nearest non-member
to_m, to_n = sq_dists(gen, x_train[members]), sq_dists(gen, x_train[nonmembers])
ratio = np.sqrt(to_m.min(1)) / (np.sqrt(to_n.min(1)) + 1e-9)
worst = np.argsort(ratio)[:10]
pairs = np.concatenate([gen[worst], x_train[members][to_m[worst].argmin(1)], x_train[nonmembers][to_n[worst].argmin(1)]])
print("distance ratio (nearest member / nearest non-member) of the 10 most member-like samples:", ratio[worst].round(2))
image_grid(pairs, nrow=10, title="VAE samples / their nearest member (training digit) / nearest non-member");

# %% [markdown]
# ## 4. The Gaussian mechanism · 高斯机制
#
# ### Exercise 2 · `gaussian_mechanism` (2 points)
# Release `value` with Gaussian noise calibrated classically: $\sigma = \Delta\sqrt{2\ln(1.25/\delta)}/\varepsilon$, output `value + sigma * noise`.
# If `noise` is `None`, draw standard-normal noise of `value`'s shape. `value` and `noise` are {{framework}} tensors; the other arguments are Python floats.

# %% solution id=privacy_gaussian_mechanism only=torch
def gaussian_mechanism(value, l2_sensitivity, epsilon, delta, noise=None):
    """(epsilon, delta)-DP release of value: value + sigma * noise, sigma = l2_sensitivity * sqrt(2 ln(1.25 / delta)) / epsilon."""
    ### BEGIN SOLUTION
    sigma = l2_sensitivity * math.sqrt(2.0 * math.log(1.25 / delta)) / epsilon
    if noise is None:
        noise = torch.randn_like(value)
    return value + sigma * noise
    ### END SOLUTION

# %% solution id=privacy_gaussian_mechanism only=tf
def gaussian_mechanism(value, l2_sensitivity, epsilon, delta, noise=None):
    """(epsilon, delta)-DP release of value: value + sigma * noise, sigma = l2_sensitivity * sqrt(2 ln(1.25 / delta)) / epsilon."""
    ### BEGIN SOLUTION
    sigma = l2_sensitivity * math.sqrt(2.0 * math.log(1.25 / delta)) / epsilon
    if noise is None:
        noise = tf.random.normal(tf.shape(value), dtype=value.dtype)
    return value + sigma * noise
    ### END SOLUTION

# %% test id=privacy_gaussian_mechanism_test points=2
"""gaussian_mechanism: value + Delta * sqrt(2 ln(1.25 / delta)) / epsilon * noise; fresh N(0, 1) noise when noise is None.

Catches: ln(1 / delta) instead of ln(1.25 / delta); a missing square root; epsilon squared; the
sensitivity ignored; the variance sigma^2 used as the scale; given noise ignored; uniform or
non-standard noise when noise is None; the same noise on every call.
"""
import numpy as np
from genlab.testing import assert_close, as_array
from genlab.fw import to_tensor as T

value = np.array([[1.0, -2.0, 0.5], [3.0, 0.0, -1.0]])
noise = np.array([[0.3, -1.2, 0.8], [-0.5, 2.0, 0.1]])
sigma = 2.0 * np.sqrt(2 * np.log(1.25 / 1e-5)) / 0.5   # sensitivity 2, epsilon 0.5, delta 1e-5: sigma = 19.38
assert_close(gaussian_mechanism(T(value), 2.0, 0.5, 1e-5, T(noise)), value + sigma * noise, "release with given noise")
# noise=None: 20,000 releases of 0 with sigma = 0.5 * sqrt(2 ln 1250) / 1 = 1.888
draws = as_array(gaussian_mechanism(T(np.zeros(20000)), 0.5, 1.0, 1e-3), "release")
assert abs(draws.mean()) < 0.06 and abs(draws.std() - 0.5 * np.sqrt(2 * np.log(1250))) < 0.04, \
    f"noise=None: mean {draws.mean():.3f}, std {draws.std():.3f}, expected 0 and 1.888"
### BEGIN HIDDEN TESTS
def _sigma_oracle(sens, eps, delta):
    return sens * np.sqrt(2.0 * np.log(1.25 / delta)) / eps

rng = np.random.default_rng(8081)
for shape, sens, eps, delta in [((5,), 0.3, 0.9, 1e-6), ((2, 3, 4), 1.7, 0.25, 1e-4), ((1, 8), 4.0, 0.7, 0.01)]:
    value, noise = rng.normal(size=shape), rng.normal(size=shape)
    want = value + _sigma_oracle(sens, eps, delta) * noise
    assert_close(gaussian_mechanism(T(value), sens, eps, delta, T(noise)), want, f"release for shape {shape}", rtol=2e-5)
# noise=None: fresh standard-normal noise with the right scale and shape
sens, eps, delta = 1.3, 0.8, 1e-5
a = as_array(gaussian_mechanism(T(np.full((100, 200), 3.0)), sens, eps, delta), "release")
b = as_array(gaussian_mechanism(T(np.full((100, 200), 3.0)), sens, eps, delta), "release")
assert a.shape == (100, 200), f"shape {a.shape}, expected (100, 200)"
assert not np.allclose(a, b), "two releases with noise=None are identical: the noise is not fresh"
z = (a - 3.0) / _sigma_oracle(sens, eps, delta)
assert abs(z.mean()) < 0.03 and abs(z.std() - 1.0) < 0.025, f"normalised noise: mean {z.mean():.3f}, std {z.std():.3f}"
assert abs((z ** 4).mean() - 3.0) < 0.3, "the noise is not Gaussian (4th moment of N(0, 1) is 3)"
### END HIDDEN TESTS

# %% [markdown]
# **A private mean image.** The mean of $n$ images in $[0, 1]^{64}$ changes by at most $\sqrt{64}/n$ in $\ell_2$ when one image is replaced, so that is the sensitivity.
# With ~150 images per digit, $\varepsilon = 1$ gives a noisy but recognisable mean; $\varepsilon = 0.1$ does not (the classical calibration is valid for $\varepsilon < 1$, so $\varepsilon = 4$ is shown only for contrast).

# %%
genlab.seed_everything(SEED)
rows, titles = [], []
for eps in (0.1, 1.0, 4.0):
    for d in range(10):
        imgs = x_train[y_train == d]
        rows.append(to_numpy(gaussian_mechanism(to_tensor(imgs.mean(0)), 8.0 / len(imgs), eps, DELTA)))
    titles += [f"eps={eps}"] + [""] * 9
image_grid(np.clip(np.concatenate([[x_train[y_train == d].mean(0) for d in range(10)], rows]), 0, 1), nrow=10,
           title="mean digit: exact / eps = 0.1 / 1 / 4 (delta = 1e-5)");

# %% [markdown]
# ## 5. An RDP accountant from scratch · 从零实现 RDP 隐私会计
#
# ### Exercise 3 · `rdp_epsilon` (3 points)
# The $\varepsilon$ of $T$ = `steps` compositions of the Poisson-subsampled Gaussian mechanism (noise multiplier $\sigma$, sampling rate $0 < q \le 1$) at a given $\delta$, in NumPy:
# 1. for each integer order $\alpha$ in `orders`: $\log A_\alpha$ from the formula of Section 1, computed **in log space** (a log-sum-exp over $i$; `scipy.special.gammaln` gives $\log\binom{\alpha}{i}$); for $q = 1$ use $\mathrm{RDP}(\alpha) = \alpha/(2\sigma^2)$;
# 2. $\mathrm{RDP}_T(\alpha) = T\log A_\alpha/(\alpha - 1)$;
# 3. the improved conversion, minimised over the orders: $\varepsilon = \min_\alpha \mathrm{RDP}_T(\alpha) + \log\frac{\alpha-1}{\alpha} - \frac{\log\delta + \log\alpha}{\alpha - 1}$, returned as a Python `float` (at least 0).
#
# (Rényi orders here are integers; `dp-accounting` also uses fractional orders, which can only lower $\varepsilon$ a little.)

# %% solution id=privacy_rdp_accountant
def rdp_epsilon(noise_multiplier, sample_rate, steps, delta, orders=tuple(range(2, 257))):
    """Epsilon of `steps` Poisson-subsampled Gaussian steps at `delta`, by RDP with integer `orders` (improved conversion)."""
    ### BEGIN SOLUTION
    from scipy.special import gammaln

    sigma, q = float(noise_multiplier), float(sample_rate)
    alphas = np.asarray(orders, dtype=np.float64)
    rdp = []
    for a in alphas.astype(int):
        if q == 1.0:  # no subsampling: the Gaussian mechanism itself
            rdp.append(a / (2 * sigma ** 2))
            continue
        i = np.arange(a + 1)
        log_terms = (gammaln(a + 1) - gammaln(i + 1) - gammaln(a - i + 1)          # log binom(a, i)
                     + i * np.log(q) + (a - i) * np.log1p(-q) + (i * i - i) / (2 * sigma ** 2))
        top = log_terms.max()
        rdp.append((top + np.log(np.exp(log_terms - top).sum())) / (a - 1))     # log A_a / (a - 1), log-sum-exp
    rdp = steps * np.asarray(rdp)                                                 # composition adds RDP
    eps = rdp + np.log1p(-1.0 / alphas) - (np.log(delta) + np.log(alphas)) / (alphas - 1)
    return float(max(0.0, eps.min()))
    ### END SOLUTION

# %% test id=privacy_rdp_accountant_test points=3
"""rdp_epsilon: the RDP of the Poisson-subsampled Gaussian, composed over steps, converted to epsilon.

Checked against values from dp-accounting's RdpAccountant (same integer orders) and a NumPy oracle.

Catches: the classic RDP -> (epsilon, delta) conversion rdp + log(1/delta)/(alpha - 1) (the wrong log
term); steps ignored (no composition); dividing by alpha instead of alpha - 1; sigma instead of
sigma^2 in the exponent; the (1 - q)^(alpha - i) factor or the binomial coefficient left out; the
maximum over orders instead of the minimum; q = 1 not handled; orders ignored.
"""
import numpy as np
from genlab.testing import assert_close

# (sigma, q, steps, delta) -> epsilon from dp_accounting.rdp.RdpAccountant(orders=range(2, 257))
assert_close(rdp_epsilon(1.1, 256 / 60000, 14062, 1e-5), 2.5969811785948815, "DP-SGD on MNIST (Abadi et al.: sigma 1.1, q = 256/60000, 60 epochs)", shape=())
assert_close(rdp_epsilon(4.0, 0.2, 100, 1e-5), 2.2989473338423467, "sigma 4, q 0.2, 100 steps", shape=())
assert_close(rdp_epsilon(2.0, 1.0, 10, 1e-5), 8.087861628831664, "no subsampling (q = 1): sigma 2, 10 steps", shape=())
assert isinstance(rdp_epsilon(4.0, 0.2, 100, 1e-5), float), "return a Python float"
### BEGIN HIDDEN TESTS
from scipy.special import gammaln as _gammaln


def _rdp_oracle(sigma, q, steps, delta, orders):
    out = []
    for a in orders:
        if q == 1.0:
            r = a / (2 * sigma ** 2)
        else:
            i = np.arange(a + 1)
            t = _gammaln(a + 1) - _gammaln(i + 1) - _gammaln(a - i + 1) + i * np.log(q) + (a - i) * np.log1p(-q) + (i * i - i) / (2 * sigma ** 2)
            r = (t.max() + np.log(np.exp(t - t.max()).sum())) / (a - 1)
        out.append(steps * r + np.log1p(-1 / a) - (np.log(delta) + np.log(a)) / (a - 1))
    return max(0.0, min(out))

# more values of dp_accounting, with the orders given
assert_close(rdp_epsilon(0.8, 0.01, 1000, 1e-6), 4.300886494496127, "sigma 0.8, q 0.01, 1000 steps, delta 1e-6", shape=(), rtol=1e-6)
assert_close(rdp_epsilon(1.5, 0.05, 500, 1e-5, orders=(2, 4, 8, 16, 32, 64)), 4.57893757517912, "orders (2, 4, ..., 64)", shape=(), rtol=1e-6)
assert_close(rdp_epsilon(3.0, 0.5, 20, 1e-3, orders=(2, 3, 5, 10, 20, 40, 80)), 2.683206719884001, "orders (2, 3, 5, ..., 80)", shape=(), rtol=1e-6)
rng = np.random.default_rng(80808)
for _ in range(6):
    sigma, q, steps = rng.uniform(0.6, 6.0), rng.choice([0.001, 0.02, 0.1, 0.4, 1.0]), int(rng.integers(1, 3000))
    delta = 10.0 ** -rng.uniform(3, 8)
    orders = tuple(sorted(set(rng.integers(2, 200, 12).tolist())))
    want = _rdp_oracle(sigma, q, steps, delta, orders)
    got = rdp_epsilon(sigma, q, steps, delta, orders=orders)
    assert isinstance(got, float), "return a Python float"
    assert_close(got, want, f"sigma {sigma:.2f}, q {q}, {steps} steps, delta {delta:.1e}, orders {orders}", shape=(), rtol=1e-6)
# monotone: more noise or fewer steps or a smaller q never costs more privacy
e = [rdp_epsilon(s, 0.05, 200, 1e-5) for s in (0.8, 1.2, 2.0)]
assert e[0] > e[1] > e[2], f"epsilon must fall as sigma grows: {e}"
### END HIDDEN TESTS

# %% [markdown]
# **Is it right? Ask two independent implementations.** `dp-accounting` (Google) and, in the PyTorch notebook, Opacus compute the same quantity; we compare over a grid of
# $(\sigma, q, T)$ with the same integer orders. (While a notebook is graded these libraries are hidden, since they would implement the exercise; the check then just says so.)

# %%
GRID = [(s, q, t) for s in (0.7, 1.0, 2.0, 4.0) for q in (0.001, 0.01, 0.1, 0.5) for t in (10, 1000)]
ORDERS = tuple(range(2, 257))
mine = np.array([rdp_epsilon(s, q, t, DELTA, ORDERS) for s, q, t in GRID])
try:
    from dp_accounting import dp_event
    from dp_accounting.rdp import RdpAccountant
except ImportError:  # hidden while the chapter is graded
    print("dp-accounting is not available here (it is hidden while the chapter is graded)")
else:
    theirs = []
    for s, q, t in GRID:
        acc = RdpAccountant(list(ORDERS))
        acc.compose(dp_event.PoissonSampledDpEvent(q, dp_event.GaussianDpEvent(s)), t)
        theirs.append(acc.get_epsilon(DELTA))
    theirs = np.array(theirs)
    rel = np.abs(mine - theirs) / np.maximum(theirs, 1e-12)
    print(f"{len(GRID)} settings, epsilon from {theirs.min():.3g} to {theirs.max():.3g}: max relative error vs dp-accounting {rel.max():.2e}")
    report("privacy/accountant_rel_error_vs_dp_accounting", rel.max())

# %% only=torch
try:
    from opacus.accountants.analysis.rdp import compute_rdp, get_privacy_spent
except ImportError:  # hidden while the chapter is graded
    print("Opacus is not available here (it is hidden while the chapter is graded)")
else:
    opacus_eps = np.array([get_privacy_spent(orders=list(ORDERS), rdp=compute_rdp(q=q, noise_multiplier=s, steps=t, orders=list(ORDERS)),
                                             delta=DELTA)[0] for s, q, t in GRID])
    rel_opacus = np.abs(mine - opacus_eps) / np.maximum(opacus_eps, 1e-12)
    print(f"max relative error vs Opacus' RDP accountant: {rel_opacus.max():.2e}")
    report("privacy/accountant_rel_error_vs_opacus", rel_opacus.max())

# %% [markdown]
# **Composition and amplification, seen.** $\varepsilon$ after $T$ steps with $\sigma = 1$: without subsampling it grows like $\sqrt T$ (RDP is linear in $T$, the conversion takes a square root);
# sampling 1% of the data per step makes each step about 100x cheaper. The classic conversion is visibly looser.

# %%
steps_axis = np.unique(np.logspace(0, 4, 12).astype(int))
fig, ax = plt.subplots(figsize=(5.5, 3.6))
for q in (1.0, 0.1, 0.01):
    ax.plot(steps_axis, [rdp_epsilon(1.0, q, t, DELTA) for t in steps_axis], "o-", ms=3, label=f"q = {q}")
classic = [min(t * a / 2 + np.log(1 / DELTA) / (a - 1) for a in ORDERS) for t in steps_axis]
ax.plot(steps_axis, classic, "k--", lw=1, label="q = 1, classic conversion")
ax.set_xscale("log"); ax.set_yscale("log"); ax.set_xlabel("steps T"); ax.set_ylabel("epsilon (delta = 1e-5)")
ax.set_title("sigma = 1: composition and subsampling"); ax.legend(fontsize=8); ax.grid(alpha=0.3)
fig.tight_layout()

# %% [markdown]
# ## 6. DP-SGD from scratch · 从零实现 DP-SGD
#
# **Per-example gradients, vectorised.** The batch gradient is a sum; DP-SGD needs its terms. A Python loop over examples is $B$ times slower than it needs to be;
# `genlab.{{fw}}.privacy.per_example_grads` maps the gradient of a one-example loss over the batch axis in one vectorised call:

# %%
print(inspect.getsource(per_example_grads))

# %% [markdown]
# A sanity check: the per-example gradients of a batch sum to $B$ times the gradient of the mean loss.

# %% only=torch
genlab.seed_everything(SEED)
check_model = MLP(64, (32,), 10)
xb, yb = to_tensor(x_train[:16]), to_labels(y_train[:16])
pe = per_example_grads(check_model, xb, yb)
batch_grads = torch.autograd.grad(F.cross_entropy(check_model(xb), yb), list(check_model.parameters()))
print("per-example shapes", [tuple(g.shape) for g in pe])
print("max |sum of per-example grads - B * batch grad| =", max(float((p.sum(0) - 16 * b).abs().max()) for p, b in zip(pe, batch_grads)))

# %% only=tf
genlab.seed_everything(SEED)
check_model = MLP(64, (32,), 10)
xb, yb = to_tensor(x_train[:16]), to_labels(y_train[:16])
pe = per_example_grads(check_model, xb, yb)
with tf.GradientTape() as tape:
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=yb, logits=check_model(xb)))
batch_grads = tape.gradient(loss, check_model.trainable_variables)
print("per-example shapes", [tuple(g.shape) for g in pe])
print("max |sum of per-example grads - B * batch grad| =", max(float(tf.reduce_max(tf.abs(tf.reduce_sum(p, 0) - 16 * b))) for p, b in zip(pe, batch_grads)))

# %% [markdown]
# ### Exercise 4 · `poisson_sample` (1 point)
# The indices of one Poisson-sampled batch: each of the `n` examples is included **independently** with probability `sample_rate`, using `numpy.random.default_rng(seed)`.
# Return a sorted NumPy integer array without repeats. Its length is random (Binomial$(n, q)$) and can be 0: that is what the accountant assumes.

# %% solution id=privacy_poisson_sample
def poisson_sample(n, sample_rate, seed):
    """Sorted indices of a Poisson-sampled batch: each of range(n) is kept independently with probability sample_rate."""
    ### BEGIN SOLUTION
    rng = np.random.default_rng(seed)
    return np.flatnonzero(rng.random(n) < sample_rate)
    ### END SOLUTION

# %% test id=privacy_poisson_sample_test points=1
"""poisson_sample: independent inclusion with probability q: random batch sizes, uniform inclusion, no repeats.

Catches: a fixed-size batch (shuffling, rng.choice without replacement) while the accountant assumes
Poisson sampling; sampling with replacement (repeated indices); inclusion with probability 1 - q;
the first k examples instead of a random subset; the seed ignored (not reproducible).
"""
import numpy as np

n, q = 200, 0.1
batches = [np.asarray(poisson_sample(n, q, seed)) for seed in range(300)]
sizes = np.array([len(b) for b in batches])
for b in batches[:20]:
    assert b.ndim == 1 and np.issubdtype(b.dtype, np.integer), "return a 1-D integer array of indices"
    assert np.all(np.diff(b) > 0) and (len(b) == 0 or (b[0] >= 0 and b[-1] < n)), "indices must be sorted, unique and in range(n)"
assert abs(sizes.mean() - n * q) < 1.0, f"mean batch size {sizes.mean():.2f}, expected {n * q}"
assert abs(sizes.std() - np.sqrt(n * q * (1 - q))) < 1.0, f"batch size std {sizes.std():.2f}, expected {np.sqrt(n * q * (1 - q)):.2f} (Binomial)"
counts = np.bincount(np.concatenate(batches), minlength=n)
assert counts[:100].sum() / counts.sum() > 0.44 and counts[:100].sum() / counts.sum() < 0.56, "inclusion is not uniform over the examples"
assert np.array_equal(np.asarray(poisson_sample(n, q, 7)), np.asarray(poisson_sample(n, q, 7))), "the same seed must give the same batch"
### BEGIN HIDDEN TESTS
n, q = 1000, 0.03
batches = [np.asarray(poisson_sample(n, q, 5000 + s)) for s in range(400)]
sizes = np.array([len(b) for b in batches])
assert abs(sizes.mean() - 30) < 1.0 and abs(sizes.var() / (n * q * (1 - q)) - 1) < 0.25, \
    f"batch sizes: mean {sizes.mean():.2f} (want 30), variance {sizes.var():.2f} (want {n * q * (1 - q):.2f})"
for b in batches:
    assert len(np.unique(b)) == len(b), "an index appears twice in a batch: sampling with replacement"
counts = np.bincount(np.concatenate(batches), minlength=n)
for lo in range(0, n, 250):
    share = counts[lo:lo + 250].sum() / counts.sum()
    assert 0.2 < share < 0.3, f"indices {lo}..{lo + 249} get {share:.2%} of the inclusions, expected 25%"
# pairs are included independently: P(both 0 and 1) = q^2 over many batches
both = np.mean([np.isin([3, 4], poisson_sample(10, 0.5, 9000 + s)).all() for s in range(2000)])
assert abs(both - 0.25) < 0.04, f"P(two given examples both sampled) = {both:.3f}, expected 0.25"
assert not np.array_equal(np.asarray(poisson_sample(n, 0.5, 1)), np.asarray(poisson_sample(n, 0.5, 2))), "different seeds must give different batches"
assert np.array_equal(np.asarray(poisson_sample(50, 0.3, 11)), np.asarray(poisson_sample(50, 0.3, 11))), "the same seed must give the same batch"
empty = np.asarray(poisson_sample(20, 1e-9, 3))
assert empty.shape == (0,), "a batch can be empty"
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 5 · `dp_sgd_step` (3 points)
# The private gradient of one DP-SGD step, from per-example gradients. `per_example_grads` is a list with one {{framework}} tensor per parameter, each of shape `(B, *param_shape)`
# (B may be 0). Return a list of tensors of the parameters' shapes:
# 1. the norm of example $b$'s gradient is taken over **all** parameters together: $\|g_b\| = \sqrt{\sum_k \|g_{b,k}\|^2}$;
# 2. clip each example: $\bar g_b = g_b\cdot\min(1, C/\|g_b\|)$ (an example with zero gradient stays zero);
# 3. per parameter $k$: $(\sum_b \bar g_{b,k} + \sigma C z_k)/\texttt{expected\_batch\_size}$ with $z_k$ = `noise[k]`, or fresh standard-normal noise of the parameter's shape when `noise` is `None`.

# %% solution id=privacy_dp_sgd_step only=torch
def dp_sgd_step(per_example_grads, clip_norm, noise_multiplier, expected_batch_size, noise=None):
    """Clip each example's gradient to norm clip_norm, sum, add N(0, (noise_multiplier * clip_norm)^2), divide by expected_batch_size.
    per_example_grads: list of (B, *shape) tensors; noise: optional list of (*shape) standard-normal tensors. Returns a list of (*shape) tensors."""
    ### BEGIN SOLUTION
    norms = torch.sqrt(sum((g ** 2).flatten(1).sum(1) for g in per_example_grads))  # (B,) one norm over all parameters
    factor = torch.clamp(clip_norm / (norms + 1e-12), max=1.0)                     # min(1, C / ||g_b||)
    out = []
    for k, g in enumerate(per_example_grads):
        z = torch.randn(g.shape[1:], dtype=g.dtype, device=g.device) if noise is None else noise[k]
        clipped_sum = torch.tensordot(factor, g, dims=1)                            # sum_b factor_b g_b
        out.append((clipped_sum + noise_multiplier * clip_norm * z) / expected_batch_size)
    return out
    ### END SOLUTION

# %% solution id=privacy_dp_sgd_step only=tf
def dp_sgd_step(per_example_grads, clip_norm, noise_multiplier, expected_batch_size, noise=None):
    """Clip each example's gradient to norm clip_norm, sum, add N(0, (noise_multiplier * clip_norm)^2), divide by expected_batch_size.
    per_example_grads: list of (B, *shape) tensors; noise: optional list of (*shape) standard-normal tensors. Returns a list of (*shape) tensors."""
    ### BEGIN SOLUTION
    norms = tf.sqrt(sum(tf.reduce_sum(tf.square(g), axis=list(range(1, len(g.shape)))) for g in per_example_grads))  # (B,)
    factor = tf.minimum(1.0, clip_norm / (norms + 1e-12))                          # min(1, C / ||g_b||)
    out = []
    for k, g in enumerate(per_example_grads):
        z = tf.random.normal(tf.shape(g)[1:], dtype=g.dtype) if noise is None else noise[k]
        clipped_sum = tf.tensordot(factor, g, axes=1)                               # sum_b factor_b g_b
        out.append((clipped_sum + noise_multiplier * clip_norm * z) / expected_batch_size)
    return out
    ### END SOLUTION

# %% test id=privacy_dp_sgd_step_test points=3
"""dp_sgd_step: per-example clipping over all parameters, noise sigma * C, division by the expected batch size.

Catches: clipping the batch gradient (the sum) instead of each example; clipping each parameter
tensor separately; noise scaled by the batch size B instead of C, or without sigma; dividing by the
actual batch size instead of the expected one (Poisson batches vary); noise not divided by the
expected batch size; every example scaled to norm C (small gradients blown up); given noise
ignored; noise=None without fresh standard-normal noise; an empty batch that crashes.
"""
import numpy as np
from genlab.testing import assert_close, as_array
from genlab.fw import to_tensor as T

# B = 3 examples, two parameters (a 2x2 weight and a bias of 2); norms over both: 0.5, 5.0, 2.0
w = np.array([[[0.3, 0.0], [0.0, 0.4]], [[3.0, 0.0], [0.0, 0.0]], [[0.0, 1.2], [0.0, 0.0]]])
b = np.array([[0.0, 0.0], [0.0, 4.0], [1.6, 0.0]])
zw, zb = np.array([[0.5, -1.0], [2.0, 0.0]]), np.array([1.0, -0.5])
# clip to C = 1: factors 1, 0.2, 0.5; sum of clipped: w = [[0.9, 0.6], [0, 0.4]], b = [0.8, 0.8]; sigma = 0.8, E = 4
out = dp_sgd_step([T(w), T(b)], 1.0, 0.8, 4.0, [T(zw), T(zb)])
assert len(out) == 2, "one private gradient per parameter"
assert_close(out[0], (np.array([[0.9, 0.6], [0.0, 0.4]]) + 0.8 * zw) / 4.0, "private gradient of the weight")
assert_close(out[1], (np.array([0.8, 0.8]) + 0.8 * zb) / 4.0, "private gradient of the bias")
# noise=None: the noise has std sigma * C / E = 2 * 1.5 / 10 = 0.3 (and the clipped sum is 0 here)
draw = as_array(dp_sgd_step([T(np.zeros((3, 100, 100)))], 1.5, 2.0, 10.0)[0], "private gradient")
assert draw.shape == (100, 100) and abs(draw.std() - 0.3) < 0.01, f"noise=None: std {draw.std():.4f}, expected 0.3"
### BEGIN HIDDEN TESTS
def _dp_oracle(grads, clip, sigma, expected, noise):
    norms = np.sqrt(sum((g.reshape(len(g), -1) ** 2).sum(1) for g in grads))
    factor = np.minimum(1.0, clip / np.maximum(norms, 1e-300))
    return [(np.tensordot(factor, g, axes=1) + sigma * clip * z) / expected for g, z in zip(grads, noise)]

rng = np.random.default_rng(8088)
for batch, shapes, clip, sigma, expected in [(5, [(3, 4), (4,)], 0.7, 1.1, 6.5), (9, [(2, 3), (3,), (3, 2), (2,)], 2.0, 0.5, 7.0),
                                              (1, [(6,)], 1.0, 3.0, 2.0), (12, [(4, 5), (5,)], 0.3, 0.0, 12.0)]:
    grads = [rng.normal(scale=rng.uniform(0.1, 2.0), size=(batch, *s)) for s in shapes]
    grads[0][0] *= 0.01   # one example well inside the clipping ball
    noise = [rng.normal(size=s) for s in shapes]
    out = dp_sgd_step([T(g) for g in grads], clip, sigma, expected, [T(z) for z in noise])
    want = _dp_oracle(grads, clip, sigma, expected, noise)
    assert len(out) == len(shapes), "one private gradient per parameter"
    for k, wk in enumerate(want):
        assert_close(out[k], wk, f"B={batch}: private gradient of parameter {k} {shapes[k]}")
# an example whose gradient is exactly zero stays zero (no NaN)
grads = [np.zeros((2, 3)), np.zeros((2, 1))]; grads[0][1] = [3.0, 0.0, 4.0]
out = dp_sgd_step([T(g) for g in grads], 1.0, 1.0, 2.0, [T(np.zeros(3)), T(np.zeros(1))])
assert_close(out[0], [0.3, 0.0, 0.4], "zero gradient + one clipped gradient, no noise")
# an empty Poisson batch: only noise, still divided by the expected batch size
noise = [rng.normal(size=(2, 2)), rng.normal(size=(2,))]
out = dp_sgd_step([T(np.zeros((0, 2, 2))), T(np.zeros((0, 2)))], 1.2, 0.9, 5.0, [T(z) for z in noise])
for k in range(2):
    assert_close(out[k], 0.9 * 1.2 * noise[k] / 5.0, f"empty batch: parameter {k}")
# noise=None: fresh N(0, (sigma C / E)^2) noise on every parameter and every call
g = [T(rng.normal(size=(4, 80, 90))), T(rng.normal(size=(4, 90)))]
a = [as_array(t, "private gradient") for t in dp_sgd_step(g, 0.5, 4.0, 8.0)]
c = [as_array(t, "private gradient") for t in dp_sgd_step(g, 0.5, 4.0, 8.0)]
diff = np.concatenate([(x - y).ravel() for x, y in zip(a, c)]) / np.sqrt(2)
assert not np.allclose(a[0], c[0]), "two calls with noise=None gave the same result: the noise is not fresh"
assert abs(diff.std() - 4.0 * 0.5 / 8.0) < 0.01, f"noise std {diff.std():.4f}, expected {4.0 * 0.5 / 8.0}"
### END HIDDEN TESTS

# %% [markdown]
# **Training a private classifier.** A linear softmax classifier on the fixed features, $T = 100$ steps with Poisson rate $q = 0.2$ (expected batch 300), clipping $C = 1$, learning rate 3,
# weights initialised at zero. For each target $\varepsilon$ we find the smallest noise multiplier whose $\varepsilon$ (from **your** accountant) is within the target, by bisection.
# The non-private line is the same loop with no clipping and no noise.

# %%
def noise_for_epsilon(target_eps, sample_rate, steps, delta, lo=0.3, hi=80.0):
    """The smallest noise multiplier (to 0.1%) whose epsilon is at most target_eps: bisection on a log scale."""
    while hi / lo > 1.001:
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if rdp_epsilon(mid, sample_rate, steps, delta) > target_eps else (lo, mid)
    return hi


def accuracy(model, feats, labels):
    return float((predict_logits(model, feats).argmax(1) == labels).mean())

# %% only=torch
def dp_train(feats, labels, noise_multiplier, clip=DP_CLIP, steps=DP_STEPS, sample_rate=DP_RATE, lr=DP_LR, seed=SEED):
    """DP-SGD on a linear classifier: Poisson batches, per-example gradients, your dp_sgd_step, plain SGD updates.
    The noise comes from a NumPy generator seeded with ``seed``, drawn in Keras' layout: the same in both notebooks."""
    genlab.seed_everything(seed)
    model = MLP(feats.shape[1], (), 10)
    params = list(model.parameters())
    with torch.no_grad():
        for p in params:
            p.zero_()
    X, Y = to_tensor(feats), to_labels(labels)
    expected = sample_rate * len(X)
    noise_rng = np.random.default_rng(seed)
    for t in range(steps):
        idx = torch.as_tensor(poisson_sample(len(X), sample_rate, seed * 1_000_003 + t), dtype=torch.int64)
        noise = [torch.as_tensor(noise_rng.standard_normal(p.shape[::-1], dtype=np.float32).T.copy()) for p in params]  # Keras' (in, out) draws
        private = dp_sgd_step(per_example_grads(model, X[idx], Y[idx]), clip, noise_multiplier, expected, noise)
        with torch.no_grad():
            for p, g in zip(params, private):
                p -= lr * g
    return model

# %% only=tf
def dp_train(feats, labels, noise_multiplier, clip=DP_CLIP, steps=DP_STEPS, sample_rate=DP_RATE, lr=DP_LR, seed=SEED):
    """DP-SGD on a linear classifier: Poisson batches, per-example gradients, your dp_sgd_step, plain SGD updates.
    The noise comes from a NumPy generator seeded with ``seed``, drawn in Keras' layout: the same in both notebooks."""
    genlab.seed_everything(seed)
    model = MLP(feats.shape[1], (), 10)
    for v in model.trainable_variables:
        v.assign(tf.zeros_like(v))
    X, Y = to_tensor(feats), to_labels(labels)
    expected = sample_rate * len(feats)
    noise_rng = np.random.default_rng(seed)  # eager tf.random calls cost ~2 ms each here
    for t in range(steps):
        idx = poisson_sample(len(feats), sample_rate, seed * 1_000_003 + t)
        noise = [tf.constant(noise_rng.standard_normal(v.shape, dtype=np.float32)) for v in model.trainable_variables]
        private = dp_sgd_step(per_example_grads(model, tf.gather(X, idx), tf.gather(Y, idx)), clip, noise_multiplier, expected, noise)
        for v, g in zip(model.trainable_variables, private):
            v.assign_sub(lr * g)
    return model

# %%
t0 = time.time()
nonprivate = dp_train(phi_train, y_train, noise_multiplier=0.0, clip=1e9)
nonprivate_acc = accuracy(nonprivate, phi_test, y_test)
print(f"non-private (same loop, no clipping, no noise): test accuracy {nonprivate_acc:.3f} ({time.time() - t0:.1f} s)")
report("privacy/nonprivate_accuracy", nonprivate_acc)
utility = {}
for eps in tqdm(EPS_GRID, desc="privacy-utility"):
    sigma = noise_for_epsilon(eps, DP_RATE, DP_STEPS, DELTA)
    spent = rdp_epsilon(sigma, DP_RATE, DP_STEPS, DELTA)
    utility[eps] = (sigma, spent, accuracy(dp_train(phi_train, y_train, sigma), phi_test, y_test))
    print(f"target eps {eps:>4}: sigma {sigma:6.3f}, accountant eps {spent:.3f}, test accuracy {utility[eps][2]:.3f}")
report("privacy/dp_accuracy_at_eps3", utility[3.0][2])
report("privacy/dp_epsilon", utility[3.0][1])

# %%
fig, ax = plt.subplots(figsize=(5.5, 3.6))
ax.plot(EPS_GRID, [utility[e][2] for e in EPS_GRID], "o-", label="DP-SGD (delta = 1e-5)")
ax.axhline(nonprivate_acc, color="k", ls="--", lw=1, label="non-private, same model")
ax.set_xscale("log"); ax.set_xlabel("epsilon"); ax.set_ylabel("test accuracy"); ax.set_title("the privacy-utility curve (digits)")
ax.set_ylim(min(0.5, min(u[2] for u in utility.values()) - 0.05), 1.0); ax.grid(alpha=0.3); ax.legend()
fig.tight_layout()

# %% [markdown]
# **Does DP stop the attack?** DP bounds *every* attack: TPR $\le e^\varepsilon\,$FPR $+ \delta$, so the AUC of any attack is at most about $e^\varepsilon/(1 + e^\varepsilon)$.
# To see the bound bite we need a model that leaks under the simple loss attack. A linear model on 1,500 examples barely overfits; on **100 examples** (10 per digit) it memorises.
# So we take disjoint groups of 100 members (and 100 non-members each), train one model per group, pool the scores, and run the loss attack: without privacy (full-batch training
# to convergence) and with DP-SGD at each $\varepsilon$ (Poisson rate 0.5, 100 steps; the accountant sets $\sigma$). The accuracy of these small-data models is shown beside it:
# with 100 examples, privacy is expensive. The privacy cost of an example does not depend on $n$, but the signal does: DP is cheap with much data, as the curve above showed.

# %%
GROUPS, GROUP_SIZE, SMALL_RATE = pick(5, 2), 100, 0.5
group_rng = np.random.default_rng(SEED + 7)
member_groups = np.split(group_rng.permutation(members)[:GROUPS * GROUP_SIZE], GROUPS)
nonmember_groups = np.split(group_rng.permutation(nonmembers)[:GROUPS * GROUP_SIZE], GROUPS)


def member_scores(model, idx):
    return to_numpy(membership_scores(to_tensor(predict_logits(model, phi_train[idx])), to_labels(y_train[idx])))


def pooled_attack(noise_multiplier, clip, steps, sample_rate):
    """Loss-attack AUC over all groups (one model per group of 100 members) and the models' mean test accuracy."""
    s_in, s_out, accs = [], [], []
    for mi, no in zip(member_groups, nonmember_groups):
        model = dp_train(phi_train[mi], y_train[mi], noise_multiplier, clip=clip, steps=steps, sample_rate=sample_rate)
        s_in.append(member_scores(model, mi))
        s_out.append(member_scores(model, no))
        accs.append(accuracy(model, phi_test, y_test))
    return attack_metrics(np.concatenate(s_in), np.concatenate(s_out))[0], float(np.mean(accs))


np_small = pooled_attack(0.0, 1e9, pick(1000, 300), 1.0)   # non-private: full batches, to convergence
attack_auc = {}
for eps in tqdm(EPS_GRID, desc="attack vs epsilon"):
    attack_auc[eps] = pooled_attack(noise_for_epsilon(eps, SMALL_RATE, DP_STEPS, DELTA), DP_CLIP, DP_STEPS, SMALL_RATE)
print(f"{GROUPS} groups of {GROUP_SIZE} members: non-private loss-attack AUC {np_small[0]:.3f} (test accuracy {np_small[1]:.3f})")
for eps, (auc_, acc_) in attack_auc.items():
    print(f"  eps {eps:>4}: attack AUC {auc_:.3f} (DP bound {math.exp(eps) / (1 + math.exp(eps)):.3f}), test accuracy {acc_:.3f}")
report("privacy/mia_auc_nonprivate", np_small[0])   # the same attack and setting as mia_auc_eps1
report("privacy/mia_auc_eps1", attack_auc[1.0][0])
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
axes[0].plot(EPS_GRID, [attack_auc[e][0] for e in EPS_GRID], "o-", label="DP-SGD")
eps_axis = np.logspace(np.log10(0.3), 1, 50)
axes[0].plot(eps_axis, np.exp(eps_axis) / (1 + np.exp(eps_axis)), "k:", label="DP bound on any attack's AUC (approx.)")
axes[0].axhline(np_small[0], color="C3", ls="--", label="non-private")
axes[0].axhline(0.5, color="gray", lw=0.8)
axes[0].set_ylim(0.45, 1.0)
axes[0].set_xscale("log"); axes[0].set_xlabel("epsilon"); axes[0].set_ylabel("loss-attack AUC"); axes[0].legend(fontsize=7); axes[0].grid(alpha=0.3)
axes[0].set_title("membership inference vs. epsilon (100 members per model)")
axes[1].plot(EPS_GRID, [attack_auc[e][1] for e in EPS_GRID], "o-", label="DP-SGD")
axes[1].axhline(np_small[1], color="C3", ls="--", label="non-private")
axes[1].set_xscale("log"); axes[1].set_xlabel("epsilon"); axes[1].set_ylabel("test accuracy"); axes[1].legend(fontsize=7); axes[1].grid(alpha=0.3)
axes[1].set_title("...and what it costs with 100 examples")
fig.tight_layout()

# %% [markdown]
# **What privacy costs in speed.** Materialising per-example gradients costs memory and time ($B\times P$ numbers). For layers $y = Wa + b$ there is a faster way
# (Goodfellow, 2015; "ghost clipping", Li et al., 2022): example $b$'s weight gradient is the outer product $\delta_b a_b^\top$ of the layer's input and the loss gradient
# at its output, so $\|g_b\|^2 = \|\delta_b\|^2(\|a_b\|^2 + 1)$ (weight and bias) without forming it, and the clipped sum $\sum_b f_b \delta_b a_b^\top$ is one matrix product.
# For the linear softmax classifier $\delta_b = \operatorname{softmax}(\ell_b) - \text{onehot}(y_b)$. We check that it gives the same step as your `dp_sgd_step` (same noise) and time it
# against a non-private step of the same model and batch.

# %% only=torch
def fast_private_grads(model, x, y, clip, noise_multiplier, expected, noise):
    """The same private gradient, for a linear softmax classifier, without per-example gradients (the outer-product trick)."""
    lin = model.net[0]
    with torch.no_grad():
        delta = torch.softmax(lin(x), dim=1) - F.one_hot(y, 10).to(x.dtype)          # (B, 10) d loss_b / d logits_b
        norms = torch.sqrt((delta ** 2).sum(1) * ((x ** 2).sum(1) + 1.0))            # ||g_b|| over weight and bias
        fd = delta * torch.clamp(clip / (norms + 1e-12), max=1.0)[:, None]
        return [(fd.T @ x + noise_multiplier * clip * noise[0]) / expected, (fd.sum(0) + noise_multiplier * clip * noise[1]) / expected]


genlab.seed_everything(SEED)
bench_model = dp_train(phi_train, y_train, 1.0, steps=5)
idx = torch.as_tensor(poisson_sample(len(phi_train), DP_RATE, 123), dtype=torch.int64)
xb, yb, expected = to_tensor(phi_train)[idx], to_labels(y_train)[idx], DP_RATE * len(phi_train)
noise = [torch.randn_like(p) for p in bench_model.parameters()]
slow = dp_sgd_step(per_example_grads(bench_model, xb, yb), DP_CLIP, 1.0, expected, noise)
fast = fast_private_grads(bench_model, xb, yb, DP_CLIP, 1.0, expected, noise)
print("max |fast - dp_sgd_step| =", max(float((a - b).abs().max()) for a, b in zip(fast, slow)))
opt = torch.optim.SGD(bench_model.parameters(), lr=0.0)  # lr 0: time the steps without changing the model


def nonprivate_step():
    loss = F.cross_entropy(bench_model(xb), yb)
    opt.zero_grad()
    loss.backward()
    opt.step()


def private_step():
    z = [torch.randn_like(p) for p in bench_model.parameters()]
    for p, g in zip(bench_model.parameters(), fast_private_grads(bench_model, xb, yb, DP_CLIP, 1.0, expected, z)):
        p.grad = g
    opt.step()


def vmap_step():
    for p, g in zip(bench_model.parameters(), dp_sgd_step(per_example_grads(bench_model, xb, yb), DP_CLIP, 1.0, expected)):
        p.grad = g
    opt.step()

# %% only=tf
def fast_private_grads(model, x, y, clip, noise_multiplier, expected, noise):
    """The same private gradient, for a linear softmax classifier, without per-example gradients (the outer-product trick)."""
    kernel, bias = model.trainable_variables
    delta = tf.nn.softmax(x @ kernel + bias) - tf.one_hot(y, 10)                     # (B, 10) d loss_b / d logits_b
    # tf.square, not ** 2: TensorFlow's pow kernel is ~40x slower on the CPU
    norms = tf.sqrt(tf.reduce_sum(tf.square(delta), 1) * (tf.reduce_sum(tf.square(x), 1) + 1.0))  # ||g_b|| over kernel and bias
    fd = delta * tf.minimum(1.0, clip / (norms + 1e-12))[:, None]
    return [(tf.matmul(x, fd, transpose_a=True) + noise_multiplier * clip * noise[0]) / expected,
            (tf.reduce_sum(fd, 0) + noise_multiplier * clip * noise[1]) / expected]


genlab.seed_everything(SEED)
bench_model = dp_train(phi_train, y_train, 1.0, steps=5)
idx = poisson_sample(len(phi_train), DP_RATE, 123)
xb, yb, expected = tf.gather(to_tensor(phi_train), idx), tf.gather(to_labels(y_train), idx), DP_RATE * len(phi_train)
noise = [tf.random.normal(v.shape) for v in bench_model.trainable_variables]
slow = dp_sgd_step(per_example_grads(bench_model, xb, yb), DP_CLIP, 1.0, expected, noise)
fast = fast_private_grads(bench_model, xb, yb, DP_CLIP, 1.0, expected, noise)
print("max |fast - dp_sgd_step| =", max(float(tf.reduce_max(tf.abs(a - b))) for a, b in zip(fast, slow)))
opt = keras.optimizers.SGD(learning_rate=0.0)  # lr 0: time the steps without changing the model
variables = bench_model.trainable_variables


@tf.function
def nonprivate_step():
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=yb, logits=bench_model(xb)))
    opt.apply_gradients(zip(tape.gradient(loss, variables), variables))


@tf.function
def private_step():
    z = [tf.random.normal(v.shape) for v in variables]
    opt.apply_gradients(zip(fast_private_grads(bench_model, xb, tf.cast(yb, tf.int32), DP_CLIP, 1.0, expected, z), variables))


def vmap_step():
    opt.apply_gradients(zip(dp_sgd_step(per_example_grads(bench_model, xb, yb), DP_CLIP, 1.0, expected), variables))

# %%
def best_time(fn, repeat=pick(7, 3), number=pick(200, 30)):
    """Best of `repeat` runs of `number` calls, per call (the best run is the least disturbed by other processes)."""
    fn()  # warm up (and trace, in TensorFlow)
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        runs.append((time.perf_counter() - t0) / number)
    return min(runs)


t_plain, t_private, t_vmap = best_time(nonprivate_step), best_time(private_step), best_time(vmap_step)
print(f"batch of {len(idx)}: non-private step {1e3 * t_plain:.3f} ms, private step (outer-product trick) {1e3 * t_private:.3f} ms "
      f"({t_private / t_plain:.2f}x), private step with materialised per-example gradients {1e3 * t_vmap:.3f} ms ({t_vmap / t_plain:.1f}x)")
report("privacy/dp_step_time_ratio", t_private / t_plain)
report("privacy/dp_step_time_ratio_materialised", t_vmap / t_plain)

# %% [markdown] only=tf
# **Why the ratio is larger in TensorFlow.** At this size (a 512x10 layer, ~300 examples) a step is a few dozen microsecond-scale kernels, and TensorFlow's graph executor spends
# roughly ten microseconds per extra op on the CPU: the private step adds about a dozen small ops (softmax minus one-hot, two norms, the clipping factor, two noise draws),
# so per-op overhead, not arithmetic, sets the ratio here (the PyTorch twin, with cheaper dispatch, stays near 1.2x; XLA compilation, `jit_compile=True`, made both steps slower at this size).
# Materialising per-example gradients with `tf.vectorized_map` and applying an eager `dp_sgd_step` is the slow path in both frameworks.

# %% [markdown] only=tf
# **The Keras form: a `train_step` override and `fit`.** The same private step fits Keras' training API. Note what `fit` does to the *sampling*: it shuffles the data into
# **fixed-size** batches, which is not the Poisson sampling the accountant above assumes. The ε printed by a Poisson accountant for such a run is not a proven guarantee
# (a shuffling accountant, or a `tf.data` pipeline that draws Poisson batches, is needed; this is a known pitfall of DP libraries, see Chua et al., 2024).

# %% only=tf
class DPLinearClassifier(keras.Model):
    """A linear softmax classifier whose train_step is one DP-SGD step (clip each example, add noise, average by the expected batch size)."""

    def __init__(self, n_features, clip, noise_multiplier, expected_batch_size, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(10, kernel_initializer="zeros")
        self.dense.build((None, n_features))
        self.clip, self.noise_multiplier, self.expected = clip, noise_multiplier, expected_batch_size
        self.loss_tracker = keras.metrics.Mean(name="loss")

    def call(self, x):
        return self.dense(x)

    def train_step(self, data):
        x, y = data
        logits = self(x)
        self.loss_tracker.update_state(tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)))
        noise = [tf.random.normal(v.shape) for v in self.trainable_variables]
        grads = fast_private_grads(self, x, tf.cast(y, tf.int32), self.clip, self.noise_multiplier, self.expected, noise)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        return {"loss": self.loss_tracker.result()}

    @property
    def metrics(self):
        return [self.loss_tracker]


keras.utils.set_random_seed(SEED)
sigma3 = utility[3.0][0]
keras_dp = DPLinearClassifier(phi_train.shape[1], DP_CLIP, sigma3, 300)
keras_dp.compile(optimizer=keras.optimizers.SGD(learning_rate=DP_LR))
keras_dp.fit(phi_train, y_train, batch_size=300, epochs=DP_STEPS // 5, verbose=0)  # 5 fixed-size batches per epoch: 100 steps
print(f"Keras fit, same noise as eps = 3 (but shuffled fixed-size batches): test accuracy {accuracy(keras_dp, phi_test, y_test):.3f}")

# %% [markdown]
# **A private generative model, in brief.** The same recipe trains a DP generative model: DP-SGD on a VAE's loss (the negative ELBO of chapter 02, per example), and every sample drawn
# from the decoder afterwards carries the guarantee (post-processing cannot weaken DP). Two details: each example's reparameterisation noise must be *its own* (we feed $[x, \varepsilon]$ side by side,
# so a per-example gradient sees only its noise), and Adam on the private gradient is fine (it only post-processes it). We train the same small VAE (64-128-8 encoder, 8-128-64 decoder)
# without privacy and at $\varepsilon = 10$, and judge the samples with a logistic-regression classifier trained on real digits: how confident it is, and which digits it sees.

# %% only=torch
Z_DP = 8


class DPVAE(torch.nn.Module):
    """A small VAE whose forward takes [x, eps] side by side, (B, 64 + Z) -> (B, 64 + 2Z) = [logits, mu, logvar]."""

    def __init__(self, z_dim=Z_DP, hidden=128):
        super().__init__()
        self.encoder = MLP(64, (hidden,), 2 * z_dim)
        self.decoder = MLP(z_dim, (hidden,), 64)

    def forward(self, inp):
        x, eps = inp[:, :64], inp[:, 64:]
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return torch.cat([self.decoder(mu + torch.exp(0.5 * logvar) * eps), mu, logvar], dim=1)


def vae_example_loss(out, x):
    """Per-example negative ELBO: Bernoulli log-likelihood of the grey levels from logits, plus the KL to N(0, I)."""
    logits, mu, logvar = out[:, :64], out[:, 64:64 + Z_DP], out[:, 64 + Z_DP:]
    return -(x * logits - F.softplus(logits)).sum(1) + 0.5 * (mu ** 2 + logvar.exp() - 1 - logvar).sum(1)


def dp_train_vae(x, noise_multiplier, clip, steps, sample_rate, lr=1e-2, seed=SEED):
    """DP-SGD (Adam on your private gradient) on the VAE; returns a sampler (n, rng) -> (n, 64) pixel means."""
    genlab.seed_everything(seed)
    model = DPVAE()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    X, expected = to_tensor(x), sample_rate * len(x)
    for t in trange(steps, desc=f"VAE sigma={noise_multiplier:.2f}", leave=False):
        idx = torch.as_tensor(poisson_sample(len(x), sample_rate, seed * 1_000_003 + t), dtype=torch.int64)
        inp = torch.cat([X[idx], torch.randn(len(idx), Z_DP)], dim=1)
        private = dp_sgd_step(per_example_grads(model, inp, X[idx], loss_fn=vae_example_loss), clip, noise_multiplier, expected)
        for p, g in zip(model.parameters(), private):
            p.grad = g
        opt.step()

    @torch.no_grad()
    def sample(n, rng):
        return torch.sigmoid(model.decoder(to_tensor(rng.standard_normal((n, Z_DP))))).numpy()
    return sample

# %% only=tf
Z_DP = 8


class DPVAE(keras.Model):
    """A small VAE whose call takes [x, eps] side by side, (B, 64 + Z) -> (B, 64 + 2Z) = [logits, mu, logvar]."""

    def __init__(self, z_dim=Z_DP, hidden=128, **kwargs):
        super().__init__(**kwargs)
        self.encoder = MLP(64, (hidden,), 2 * z_dim)
        self.decoder = MLP(z_dim, (hidden,), 64)

    def call(self, inp):
        x, eps = inp[:, :64], inp[:, 64:]
        mu, logvar = tf.split(self.encoder(x), 2, axis=1)
        return tf.concat([self.decoder(mu + tf.exp(0.5 * logvar) * eps), mu, logvar], axis=1)


def vae_example_loss(out, x):
    """Per-example negative ELBO: Bernoulli log-likelihood of the grey levels from logits, plus the KL to N(0, I)."""
    logits, mu, logvar = out[:, :64], out[:, 64:64 + Z_DP], out[:, 64 + Z_DP:]
    return (-tf.reduce_sum(x * logits - tf.math.softplus(logits), 1)
            + 0.5 * tf.reduce_sum(tf.square(mu) + tf.exp(logvar) - 1 - logvar, 1))


def dp_train_vae(x, noise_multiplier, clip, steps, sample_rate, lr=1e-2, seed=SEED):
    """DP-SGD (Adam on your private gradient) on the VAE; returns a sampler (n, rng) -> (n, 64) pixel means."""
    genlab.seed_everything(seed)
    model = DPVAE()
    model(tf.zeros((1, 64 + Z_DP)))  # build
    opt = keras.optimizers.Adam(learning_rate=lr)
    X, expected = to_tensor(x), sample_rate * len(x)
    for t in trange(steps, desc=f"VAE sigma={noise_multiplier:.2f}", leave=False):
        idx = poisson_sample(len(x), sample_rate, seed * 1_000_003 + t)
        xb = tf.gather(X, idx)
        inp = tf.concat([xb, tf.random.normal((len(idx), Z_DP))], axis=1)
        private = dp_sgd_step(per_example_grads(model, inp, xb, loss_fn=vae_example_loss), clip, noise_multiplier, expected)
        opt.apply_gradients(zip(private, model.trainable_variables))

    def sample(n, rng):
        return tf.sigmoid(model.decoder(to_tensor(rng.standard_normal((n, Z_DP))))).numpy()
    return sample

# %%
from sklearn.linear_model import LogisticRegression

VAE_DP_STEPS, VAE_DP_RATE, VAE_DP_CLIP, VAE_DP_EPS = pick(300, 60), 0.3, 2.0, 10.0   # QUICK: fewer steps (so less noise for the same epsilon)
judge = LogisticRegression(max_iter=2000).fit(x_train, y_train)
sigma_vae = noise_for_epsilon(VAE_DP_EPS, VAE_DP_RATE, VAE_DP_STEPS, DELTA)
vae_samples = {}
for name, sigma_, clip_ in [("non-private", 0.0, 1e9), (f"eps = {VAE_DP_EPS:g}", sigma_vae, VAE_DP_CLIP)]:
    t0 = time.time()
    vae_samples[name] = dp_train_vae(x_train, sigma_, clip_, VAE_DP_STEPS, VAE_DP_RATE)(2000, np.random.default_rng(SEED))
    probs = judge.predict_proba(vae_samples[name])
    counts = np.bincount(probs.argmax(1), minlength=10)
    print(f"{name:>12} (sigma {sigma_:.2f}, {time.time() - t0:.0f} s): judge confidence {probs.max(1).mean():.3f}, "
          f"digits seen {int((counts >= 0.02 * len(probs)).sum())}/10, class counts {counts.tolist()}")
    if name != "non-private":
        report("privacy/dp_vae_judge_confidence_eps10", probs.max(1).mean())
    else:
        report("privacy/vae_judge_confidence_nonprivate", probs.max(1).mean())
print(f"judge confidence on real test digits: {judge.predict_proba(x_test).max(1).mean():.3f}")
image_grid(np.concatenate([v[:20] for v in vae_samples.values()]), nrow=20, title="VAE samples: non-private (top) / DP-SGD at eps = 10 (bottom)");

# %% [markdown]
# ## 7. Federated learning · 联邦学习
#
# In federated averaging (McMahan et al., 2017) the data never leave the clients: each round, the server sends the global weights, each client $k$ trains locally for
# $E$ epochs on its $n_k$ examples and sends back its weights $w_k$, and the server averages them **weighted by client size**:
# $w \leftarrow \sum_k \frac{n_k}{n} w_k$ (with equal weights, a client with 10 examples would count as much as one with 10,000: the average would no longer be the full-data objective's step).
#
# ### Exercise 6 · `fedavg` (2 points)
# `client_weights` is a list over clients, each a list of NumPy arrays (the layers' weights, as `get_weights` returns them, same shapes for every client); `client_sizes` the number of examples of each client.
# Return the list of weighted averages $\sum_k \frac{n_k}{n} w_{k,i}$, one array per layer $i$.

# %% solution id=privacy_fedavg
def fedavg(client_weights, client_sizes):
    """Federated averaging: per layer, the average of the clients' arrays weighted by n_k / n."""
    ### BEGIN SOLUTION
    sizes = np.asarray(client_sizes, dtype=np.float64)
    coef = sizes / sizes.sum()                       # n_k / n
    return [sum(c * np.asarray(w[i], dtype=np.float64) for c, w in zip(coef, client_weights))
            for i in range(len(client_weights[0]))]
    ### END SOLUTION

# %% test id=privacy_fedavg_test points=2
"""fedavg: per layer, sum_k (n_k / n) w_k.

Catches: clients weighted equally instead of by size; sizes not normalised (sum of n_k w_k);
weights inversely proportional to size; a plain sum of the clients' weights; only the first layer
averaged; layers mixed up.
"""
import numpy as np
from genlab.testing import assert_close

w1 = [np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([1.0, -1.0])]
w2 = [np.array([[0.0, 0.0], [1.0, 0.0]]), np.array([3.0, 3.0])]
w3 = [np.array([[2.0, 2.0], [2.0, 2.0]]), np.array([0.0, 1.0])]
out = fedavg([w1, w2, w3], [10, 30, 60])   # weights 0.1, 0.3, 0.6
assert len(out) == 2, "one averaged array per layer"
assert_close(out[0], [[1.3, 1.4], [1.8, 1.6]], "layer 0 (kernel)")
assert_close(out[1], [1.0, 1.4], "layer 1 (bias)")
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(8089)
for n_clients, shapes in [(5, [(4, 3), (3,), (3, 2), (2,)]), (2, [(6,)]), (7, [(2, 2, 3), (1,)])]:
    clients = [[rng.normal(size=s) for s in shapes] for _ in range(n_clients)]
    sizes = rng.integers(1, 500, n_clients)
    out = fedavg(clients, sizes.tolist())
    assert len(out) == len(shapes), "one averaged array per layer"
    for i, s in enumerate(shapes):
        want = sum(n / sizes.sum() * c[i] for n, c in zip(sizes, clients))
        assert_close(out[i], want, f"{n_clients} clients, layer {i} {s}")
# equal sizes: the plain mean; one client: its own weights
clients = [[rng.normal(size=(3,))] for _ in range(4)]
assert_close(fedavg(clients, [25, 25, 25, 25])[0], np.mean([c[0] for c in clients], 0), "equal sizes")
assert_close(fedavg(clients[:1], [7])[0], clients[0][0], "a single client")
### END HIDDEN TESTS

# %% [markdown]
# **Non-IID clients.** Five clients, each holding **two digits only** (`split_by_digit`: client 0 has the 0s and 1s, ...). Local training on such data pulls each client towards
# a model of its own two classes (**client drift**): each local model forgets the other eight digits, and the average of far-apart models is a poor model.
# We compare IID clients (a random split of the same sizes) with non-IID clients at the same number of local epochs (the gap is the price of drift), non-IID clients with
# 1, 5 and 20 local epochs (more local work per round speeds up early rounds but moves the clients further apart), and centralised training on the pooled data.
# Remedies an interviewer expects: fewer local steps or a smaller local learning rate, a proximal term (FedProx), control variates (SCAFFOLD), server momentum (FedAvgM / FedAdam).

# %%
clients_noniid = split_by_digit(y_train, FED_CLIENTS)
sizes = [len(c) for c in clients_noniid]
shuffled = np.random.default_rng(SEED).permutation(len(y_train))
clients_iid = np.split(shuffled, np.cumsum(sizes)[:-1])
print("client sizes", sizes, "| digits of client 0:", np.unique(y_train[clients_noniid[0]]))


genlab.seed_everything(SEED)
global_model, local_models = MLP(64, (64,), 10), [MLP(64, (64,), 10) for _ in range(FED_CLIENTS)]  # made once, reused by every run
w_init = get_weights(global_model)                                                                  # every run starts here


def run_fedavg(clients, rounds, local_epochs, server_clip=None, server_noise=0.0, seed=SEED, desc="FedAvg"):
    """FedAvg with a 64-64-10 MLP; local Adam (1e-3, batches of 32). Optional DP on the server update: clip each
    client's update to server_clip and add N(0, (server_noise * server_clip)^2) to their (weighted) average. Returns test accuracy per round."""
    w = [a.copy() for a in w_init]
    rng, history = np.random.default_rng(seed), []
    for r in trange(rounds, desc=desc, leave=False):
        new = []
        for k, idx in enumerate(clients):
            set_weights(local_models[k], w)
            train_classifier(local_models[k], x_train[idx], y_train[idx], epochs=local_epochs, lr=1e-3, batch_size=32, seed=seed + 1000 * r + k)
            wk = get_weights(local_models[k])
            if server_clip is not None:  # clip this client's update (its whole contribution) to norm server_clip
                upd = [a - b for a, b in zip(wk, w)]
                norm = np.sqrt(sum((u ** 2).sum() for u in upd))
                wk = [b + u * min(1.0, server_clip / (norm + 1e-12)) for b, u in zip(w, upd)]
            new.append(wk)
        avg = fedavg(new, [len(c) for c in clients])
        if server_noise:  # user-level DP: noise on the average, scaled to one client's largest possible influence
            scale = server_noise * server_clip * max(len(c) for c in clients) / sum(len(c) for c in clients)
            avg = [a + scale * rng.standard_normal(a.shape) for a in avg]
        w = [np.asarray(a, dtype=np.float32) for a in avg]
        set_weights(global_model, w)
        history.append(accuracy(global_model, x_test, y_test))
    return history


fed = {"IID, E=5": run_fedavg(clients_iid, FED_ROUNDS, 5, desc="IID E=5"),
       "non-IID, E=1": run_fedavg(clients_noniid, FED_ROUNDS, 1, desc="non-IID E=1"),
       "non-IID, E=5": run_fedavg(clients_noniid, FED_ROUNDS, 5, desc="non-IID E=5"),
       "non-IID, E=20": run_fedavg(clients_noniid, FED_ROUNDS, 20, desc="non-IID E=20"),
       "non-IID, E=5, DP server (clip 2, noise 0.05)": run_fedavg(clients_noniid, FED_ROUNDS, 5, server_clip=2.0, server_noise=0.05, desc="DP server")}
central = MLP(64, (64,), 10)
set_weights(central, w_init)
train_classifier(central, x_train, y_train, epochs=5 * FED_ROUNDS, lr=1e-3, batch_size=32, seed=SEED)
central_acc = accuracy(central, x_test, y_test)
for name, h in fed.items():
    print(f"{name:>45}: test accuracy after {FED_ROUNDS} rounds {h[-1]:.3f}")
print(f"{'centralised, as many epochs as E=5 clients':>45}: {central_acc:.3f}")
report("privacy/fedavg_noniid_accuracy", fed["non-IID, E=5"][-1])
report("privacy/fedavg_iid_accuracy", fed["IID, E=5"][-1])
report("privacy/centralised_accuracy", central_acc)
fig, ax = plt.subplots(figsize=(6, 3.6))
for name, h in fed.items():
    ax.plot(np.arange(1, len(h) + 1), h, "o-", ms=3, label=name)
ax.axhline(central_acc, color="k", ls="--", lw=1, label="centralised")
ax.set_xlabel("round"); ax.set_ylabel("test accuracy"); ax.set_title("FedAvg on digits: IID vs. non-IID clients"); ax.legend(fontsize=7); ax.grid(alpha=0.3)
fig.tight_layout()

# %% [markdown]
# **What FL protects and what it does not.** Raw data stay on the clients, but the updates are functions of the data: gradient-inversion attacks reconstruct training images from a single
# client's update (Zhu et al., 2019), and the final model leaks membership exactly as in Section 3. Two additions make FL private:
# - **Secure aggregation** (Bonawitz et al., 2017): the server learns only the *sum* of the updates. Each pair of clients agrees on a random mask; one adds it, the other subtracts it,
#   so every single upload looks random and the masks cancel in the sum (dropouts are handled with secret sharing of the mask seeds). It hides individual updates from the server, not the sum.
# - **DP on the server update** (user-level DP, McMahan et al., 2018): clip each client's update, add Gaussian noise to the sum; the accountant is the same as DP-SGD's, with clients as the "examples".
#   With 5 clients the noise needed for a meaningful $\varepsilon$ swamps the signal; it pays off with thousands of clients per round. The run above uses a small noise to show the mechanics only, and claims no $\varepsilon$.

# %%
secure_rng = np.random.default_rng(SEED)
updates = [secure_rng.normal(size=4) for _ in range(3)]
masks = {(i, j): secure_rng.normal(scale=100.0, size=4) for i in range(3) for j in range(i + 1, 3)}  # from pairwise shared seeds
uploads = [u + sum(masks[(i, j)] for j in range(i + 1, 3)) - sum(masks[(j, i)] for j in range(i)) for i, u in enumerate(updates)]
print("client 0's upload (looks random):", uploads[0].round(1))
print("sum of uploads:", np.sum(uploads, 0).round(6), "| sum of updates:", np.sum(updates, 0).round(6))

# %% [markdown]
# ## 8. Watermarking generated text · 生成文本水印
#
# Kirchenbauer et al. (2023): before sampling each token, a key and the **previous** token seed a PRNG that splits the vocabulary into a green list (a fraction $\gamma$) and a red list,
# and the generator adds $\delta$ to the green logits. Text from the watermarked model has more green tokens than chance. The detector, who knows the key, recomputes the green lists and
# counts the green tokens $G$ among the $T$ scored tokens (every token after the first). Without a watermark $G \sim \mathrm{Binomial}(T, \gamma)$, so
# $$z = \frac{G - \gamma T}{\sqrt{T\gamma(1-\gamma)}}$$
# is approximately standard normal; $z > 4$ flags a watermark with a false-positive rate of about $3\cdot 10^{-5}$.
#
# ### Exercise 7 · `watermark_zscore` (2 points)
# `tokens`: a 1-D sequence of token ids (NumPy or a {{framework}} tensor). Token $t \ge 1$ is green if `green_mask(tokens[t-1], vocab_size, gamma, key)[tokens[t]]` is true
# (`genlab.privacy.green_mask`). Return $z$ as a Python `float`.

# %% solution id=privacy_watermark_zscore
def watermark_zscore(tokens, vocab_size, gamma, key=42):
    """z-score of the number of green tokens among the len(tokens) - 1 scored tokens: (G - gamma T) / sqrt(T gamma (1 - gamma))."""
    ### BEGIN SOLUTION
    from genlab.privacy import green_mask

    tokens = np.asarray(to_numpy(tokens)).astype(np.int64).ravel()
    scored = len(tokens) - 1                                   # T: every token after the first has a context
    green = sum(int(green_mask(prev, vocab_size, gamma, key)[tok]) for prev, tok in zip(tokens[:-1], tokens[1:]))
    return float((green - gamma * scored) / math.sqrt(scored * gamma * (1 - gamma)))
    ### END SOLUTION

# %% test id=privacy_watermark_zscore_test points=2
"""watermark_zscore: (G - gamma T) / sqrt(T gamma (1 - gamma)) over the T = len(tokens) - 1 scored tokens.

Catches: a z-score without the gamma normalisation (gamma = 1/2 assumed); the variance T gamma
without (1 - gamma); no square root; the green list seeded by the token itself instead of the
previous one; the key ignored; the first token counted (T = len(tokens)); not a float.
"""
import numpy as np
from genlab.privacy import green_mask
from genlab.testing import assert_close
from genlab.fw import to_labels as L

tokens = np.array([3, 17, 5, 5, 29, 11, 0, 8, 23, 14, 2])
green = sum(bool(green_mask(p, 32, 0.25, 7)[t]) for p, t in zip(tokens[:-1], tokens[1:]))   # 3 green of T = 10
z = watermark_zscore(tokens, 32, 0.25, key=7)
assert isinstance(z, float), "return a Python float"
assert_close(z, (green - 0.25 * 10) / np.sqrt(10 * 0.25 * 0.75), f"z of 11 tokens with {green} green (gamma 0.25, key 7)", shape=())
assert_close(watermark_zscore(L(tokens), 32, 0.25, key=7), (green - 2.5) / np.sqrt(1.875), "z of a tensor of tokens", shape=())
### BEGIN HIDDEN TESTS
def _z_oracle(tokens, vocab, gamma, key):
    g = sum(bool(green_mask(p, vocab, gamma, key)[t]) for p, t in zip(tokens[:-1], tokens[1:]))
    n = len(tokens) - 1
    return (g - gamma * n) / np.sqrt(n * gamma * (1 - gamma))

rng = np.random.default_rng(8090)
for length, vocab, gamma, key in [(40, 100, 0.1, 3), (200, 50, 0.5, 11), (7, 20, 0.25, 42), (120, 80, 0.75, 5)]:
    toks = rng.integers(0, vocab, length)
    assert_close(watermark_zscore(toks, vocab, gamma, key=key), _z_oracle(toks, vocab, gamma, key),
                 f"{length} random tokens, vocab {vocab}, gamma {gamma}, key {key}", shape=())
# an all-green sequence (built from the green lists) has z = sqrt(T (1 - gamma) / gamma)
toks = [1]
for _ in range(60):
    toks.append(int(np.flatnonzero(green_mask(toks[-1], 64, 0.25, 9))[rng.integers(16)]))
assert_close(watermark_zscore(np.array(toks), 64, 0.25, key=9), np.sqrt(60 * 0.75 / 0.25), "an all-green sequence", shape=())
assert_close(watermark_zscore(L(np.array(toks)), 64, 0.25, key=9), np.sqrt(60 * 0.75 / 0.25), "an all-green tensor of tokens", shape=())
### END HIDDEN TESTS

# %% [markdown]
# **A watermarked toy language model.** A bigram model over 500 tokens (`genlab.privacy.bigram_logits`) samples text with and without $\delta = 2$ added to the green logits ($\gamma = 0.25$).
# We look at the z-scores, the detection rate at $z > 4$ as the text grows, and two limits: **paraphrasing** (here: replacing a fraction of tokens at random, which also breaks the green lists of
# the *next* tokens) and **low-entropy** text (temperature 0.3: when the model is nearly certain, $\delta$ cannot change its choice, so there is little to detect).

# %%
VOCAB, GAMMA, WM_DELTA, WM_KEY = 500, 0.25, 2.0, 42
lm = bigram_logits(VOCAB, seed=SEED)


def generate(n_tokens, rng, watermark=True, temperature=1.0):
    """Sample from the bigram model; with watermark=True, add WM_DELTA to the green list of each step."""
    toks = [int(rng.integers(VOCAB))]
    for _ in range(n_tokens - 1):
        logits = lm[toks[-1]] / temperature
        if watermark:
            logits = logits + WM_DELTA * green_mask(toks[-1], VOCAB, GAMMA, WM_KEY)
        p = np.exp(logits - logits.max())
        toks.append(int(rng.choice(VOCAB, p=p / p.sum())))
    return np.array(toks)


wm_rng = np.random.default_rng(SEED)
N_TEXTS, LENGTH = pick(60, 15), 200
z_wm = [watermark_zscore(generate(LENGTH, wm_rng), VOCAB, GAMMA, WM_KEY) for _ in trange(N_TEXTS, desc="watermarked")]
z_plain = [watermark_zscore(generate(LENGTH, wm_rng, watermark=False), VOCAB, GAMMA, WM_KEY) for _ in range(N_TEXTS)]
z_cold = [watermark_zscore(generate(LENGTH, wm_rng, temperature=0.3), VOCAB, GAMMA, WM_KEY) for _ in range(N_TEXTS)]


def substitute(toks, frac, rng):
    out = toks.copy()
    hit = rng.random(len(out)) < frac
    out[hit] = rng.integers(0, VOCAB, hit.sum())
    return out


texts = [generate(LENGTH, wm_rng) for _ in range(N_TEXTS)]
fracs = [0.0, 0.1, 0.2, 0.3, 0.5]
z_attack = {f: np.mean([watermark_zscore(substitute(t, f, wm_rng), VOCAB, GAMMA, WM_KEY) for t in texts]) for f in fracs}
lengths = [10, 25, 50, 100, 200]
detect = {n: np.mean([watermark_zscore(t[:n], VOCAB, GAMMA, WM_KEY) > 4 for t in texts]) for n in lengths}
print(f"mean z: watermarked {np.mean(z_wm):.1f}, plain {np.mean(z_plain):.2f}, watermarked at temperature 0.3 {np.mean(z_cold):.1f}")
print("detection rate (z > 4) by length:", detect)
print("mean z after replacing a fraction of tokens:", {f: round(v, 1) for f, v in z_attack.items()})
report("privacy/watermark_mean_z_200_tokens", np.mean(z_wm))
fig, axes = plt.subplots(1, 3, figsize=(12, 3.3))
axes[0].hist(z_plain, bins=15, alpha=0.7, label="no watermark"); axes[0].hist(z_wm, bins=15, alpha=0.7, label="watermarked")
axes[0].hist(z_cold, bins=15, alpha=0.7, label="watermarked, T=0.3"); axes[0].axvline(4, color="k", ls=":")
axes[0].set_xlabel("z"); axes[0].set_title(f"z-scores of {LENGTH}-token texts"); axes[0].legend(fontsize=7)
axes[1].plot(lengths, [detect[n] for n in lengths], "o-"); axes[1].set_xlabel("tokens"); axes[1].set_ylabel("detected (z > 4)"); axes[1].set_title("detection vs. length")
axes[2].plot(fracs, [z_attack[f] for f in fracs], "o-"); axes[2].axhline(4, color="k", ls=":")
axes[2].set_xlabel("fraction of tokens replaced"); axes[2].set_ylabel("mean z"); axes[2].set_title("a substitution attack")
fig.tight_layout()

# %% [markdown]
# **Limits an interviewer expects you to know.** A watermark is a statistical signal the *generator* chooses to embed: paraphrasing (by hand or by another model) removes it;
# low-entropy text (code, facts, translations) carries little of it; short texts cannot be judged; anyone with the key can also *forge* it; and it says nothing about text from
# models that do not watermark. It is a provenance tool, not a privacy guarantee.
#
# ## 9. Data protection an interviewer asks about · 数据保护
#
# **Pseudonymisation vs. anonymisation.** Replacing names by IDs (or hashes) is *pseudonymisation*: the data are still personal data (GDPR Art. 4(5)) because the other columns
# identify people. *Anonymisation* means no one can be re-identified by any reasonably likely means, a bar that "remove the names" almost never meets (Sweeney: ZIP code, birth date
# and sex identify about 87% of Americans).
#
# **k-anonymity** (Samarati & Sweeney, 1998): every combination of quasi-identifiers (here ZIP, age, sex) is shared by at least $k$ rows. We generalise a toy table (ZIP to 3 digits,
# age to decades, drop sex) and show both the **linkage attack** it prevents and the **homogeneity attack** it does not (every row of a group has the same diagnosis: $\ell$-diversity fixes that).

# %%
table = toy_patients()
voter_list = [{k: r[k] for k in ("name", "zip", "age", "sex")} for r in table if r["name"] in ("Alice", "Dana", "Hui", "Kofi")]  # public, with names


def k_anonymity(rows, quasi):
    """(k, groups): the size of the smallest group of rows sharing the quasi-identifiers, and the groups."""
    groups = {}
    for r in rows:
        groups.setdefault(tuple(r[q] for q in quasi), []).append(r)
    return min(len(g) for g in groups.values()), groups


pseudonymised = [{"id": f"p{i:03d}", **{k: v for k, v in r.items() if k != "name"}} for i, r in enumerate(table)]
k_raw, _ = k_anonymity(pseudonymised, ("zip", "age", "sex"))
linked = [(v["name"], r["diagnosis"]) for v in voter_list for r in pseudonymised
          if (r["zip"], r["age"], r["sex"]) == (v["zip"], v["age"], v["sex"])]
print(f"pseudonymised table (names replaced by ids): k = {k_raw}; the voter list re-identifies {len(linked)} people: {linked}")


def band(age):
    return f"{10 * (age // 10)}-{10 * (age // 10) + 9}"


generalised = [{"id": r["id"], "zip": r["zip"][:3] + "**", "age": band(r["age"]), "diagnosis": r["diagnosis"]} for r in pseudonymised]
k_gen, groups = k_anonymity(generalised, ("zip", "age"))
print(f"generalised (ZIP to 3 digits, age to decades, sex suppressed): k = {k_gen}")
for key_, rows_ in groups.items():
    diag = sorted({r["diagnosis"] for r in rows_})
    print(f"  {key_}: {len(rows_)} rows, diagnoses {diag}" + ("   <- homogeneous: being in this group reveals the diagnosis" if len(diag) == 1 else ""))
for v in voter_list:
    cands = groups[(v["zip"][:3] + "**", band(v["age"]))]
    print(f"{v['name']}: {len(cands)} candidate rows, possible diagnoses {sorted({r['diagnosis'] for r in cands})}")
print("l-diversity (fewest distinct diagnoses in a group):", min(len({r["diagnosis"] for r in g}) for g in groups.values()))

# %% [markdown]
# **Encryption at rest** with the `cryptography` library's Fernet (AES-128-CBC + HMAC-SHA256: confidentiality *and* integrity). The key lives in a key-management service or an
# environment secret, never next to the data or in the repository; encryption at rest protects stolen disks and backups, not a model trained on the decrypted data.

# %%
from cryptography.fernet import Fernet, InvalidToken

key = Fernet.generate_key()   # in production: from a KMS / secret store, rotated (MultiFernet)
box = Fernet(key)
blob = box.encrypt(x_train[:5].tobytes())
restored = np.frombuffer(box.decrypt(blob), dtype=np.float32).reshape(5, 64)
print(f"{len(blob)} bytes of ciphertext; round trip exact: {np.array_equal(restored, x_train[:5])}")
tampered = blob[:-5] + bytes([blob[-5] ^ 1]) + blob[-4:]
try:
    box.decrypt(tampered)
except InvalidToken:
    print("a flipped bit is detected: InvalidToken (the HMAC fails)")

# %% [markdown]
# **Access control and audit logs in an ML pipeline.** Least privilege by role (a labeller reads raw data, a trainer reads features and writes models, an analyst reads
# only aggregates), every access logged, and the log made **tamper-evident** by chaining each entry's hash to the previous one (the idea behind append-only ledgers).

# %%
import hashlib
import json

ROLES = {"labeller": {"read:raw"}, "trainer": {"read:features", "write:model"}, "analyst": {"read:aggregates"}}


class AuditLog:
    """Append-only log; each entry stores the SHA-256 of (previous hash, entry), so editing any entry breaks the chain."""

    def __init__(self):
        self.entries = []

    def append(self, **entry):
        prev = self.entries[-1]["hash"] if self.entries else "0" * 64
        body = json.dumps(entry, sort_keys=True)
        self.entries.append({**entry, "hash": hashlib.sha256((prev + body).encode()).hexdigest()})

    def verify(self):
        prev = "0" * 64
        for e in self.entries:
            body = json.dumps({k: v for k, v in e.items() if k != "hash"}, sort_keys=True)
            if hashlib.sha256((prev + body).encode()).hexdigest() != e["hash"]:
                return False
            prev = e["hash"]
        return True


log = AuditLog()


def access(user, role, permission, resource):
    allowed = permission in ROLES.get(role, set())
    log.append(user=user, role=role, permission=permission, resource=resource, allowed=allowed)
    return allowed


print(access("ana", "trainer", "read:features", "digits/features.enc"), access("bo", "analyst", "read:raw", "digits/raw"))
print("log intact:", log.verify())
log.entries[1]["allowed"] = True   # someone hides a denied access
print("after editing one entry, log intact:", log.verify())

# %% [markdown]
# **The seed's "differential privacy" code, corrected (S000-Q9).** The seed computes `privacy_budget = total_epochs / (epoch + 1)` and passes it to an empty `train` function.
# 1. Nothing private happens: no per-example clipping (one person's influence is unbounded), no noise, and a number that shrinks each epoch is not a privacy budget.
# 2. A budget is what an **accountant** computes from the mechanism actually run: noise multiplier, sampling rate and number of steps (`rdp_epsilon` above), reported as $(\varepsilon, \delta)$ with $\delta \ll 1/n$.
# 3. The correct loop is `dp_train` in Section 6: Poisson batches, per-example gradients, clip each to $C$, add $\mathcal N(0, \sigma^2C^2)$, divide by the expected batch size,
#    and choose $\sigma$ so that the accountant's $\varepsilon$ after all steps meets the target. Hyper-parameter tuning on the private data also costs privacy.
# 4. The seed's other answers (encryption, federated learning, anonymisation, access control, audit) are listed without their limits: encryption at rest does not protect what a model memorises, FL alone is not DP,
#    removing names is pseudonymisation, not anonymisation (Section 9).
#
# ## 10. Summary · 小结
#
# | quantity | where |
# |---|---|
# | loss-attack and LiRA AUC, TPR at 1% FPR on an overfit MLP; distance attack on a VAE | Section 3 |
# | accountant vs. `dp-accounting` (and Opacus) | Section 5 |
# | DP test accuracy at $\varepsilon \le 3$, non-private accuracy, attack AUC at $\varepsilon = 1$, step-time ratio | Section 6 |
# | FedAvg IID / non-IID / centralised | Section 7 |
# | watermark z-scores, detection vs. length, substitution attack | Section 8 |
#
# - Models leak membership because they fit their training data better; measure with ROC, AUC and TPR at low FPR, and with strong attacks (LiRA), not only a loss threshold.
# - DP-SGD = Poisson sampling + per-example clipping + Gaussian noise + an accountant; divide by the expected batch size; the guarantee holds for the sampling the accountant assumes.
# - Good fixed features and large batches with few steps make DP cheap in accuracy; the outer-product trick makes it cheap in time.
# - FedAvg weights clients by size; non-IID data causes client drift; FL needs secure aggregation and DP to be private.
# - Watermarks are detectable by a z-test with the right null ($\gamma$), and removable.
#
# **Interview drill:** the items of this chapter are in `questions/08_privacy.yaml` (中文 / English); practise them with `genlab drill --chapter privacy`.
# Each exercise above is linked from the items that ask about it (for example `08_privacy#privacy_dp_sgd_step`).
