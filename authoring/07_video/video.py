# %% [markdown]
# # Chapter 07 · Video: prediction, interpolation, generation · 视频：预测、插帧与生成
#
# **What you will be able to answer in an interview / 学完本章你能回答：**
#
# - What is a video tensor, in which layout does each framework want it, and why does a per-frame image model flicker? / 视频张量的布局，逐帧模型为何闪烁？
# - How do Sora-style models turn a video into tokens (spacetime patches)? / Sora 式模型如何把视频切成时空 patch？
# - Write a ConvLSTM cell and a multi-step rollout without teacher forcing; why does the error grow with the horizon, and which baselines must a predictor beat? / ConvLSTM 与自回归预测。
# - Frame interpolation with optical flow: backward warping with bilinear sampling, the intermediate-flow approximation, and why it beats blending. / 基于光流的插帧与反向扭曲。
# - How to measure temporal consistency (warping error with an occlusion mask) and clip quality (a Fréchet distance with its real-vs-real floor). / 时间一致性与视频 FD 的评估。
# - Video diffusion, super-resolution and restoration in outline. / 视频扩散、超分与修复概览。
#
# Seeds covered: S000-Q5 and S001-Q16 (video generation, enhancement, super-resolution, restoration, prediction, interpolation).
# The seeds' answers list "GAN, VAE" for every task and give code that does not run: S001-Q16's "video model" is built on an `audio_input` tensor that is never defined,
# and wraps a `Conv3D` in `TimeDistributed`, which would need 6-D input. Section 7 corrects them.
#
# This notebook uses **{{framework}}**; its twin uses the other framework with the same exercises and the same tests.

# %% only=torch
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from IPython.display import display

import genlab
from genlab import pick, report
from genlab.metrics import frechet_distance, psnr, ssim
from genlab.torch import images_to_numpy, to_images, to_numpy
from genlab.torch.video import ConvLSTMPredictor, VideoVAE, to_video, train_predictor, train_video_vae, video_to_numpy
from genlab.video import animate, block_match_flow, clip_features, copy_last, frame_strip, linear_extrapolation, moving_digits

SEED = 0
QUICK = genlab.is_quick()  # GENLAB_QUICK=1: small, fast runs (tests and grading)
genlab.seed_everything(SEED)
torch.set_num_threads(1)  # small convolutions: one thread is faster than two on a shared CPU (oversubscription)
print(f"PyTorch {torch.__version__}; QUICK={QUICK}")

# %% only=tf
import time

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from IPython.display import display

import genlab
from genlab import pick, report
from genlab.metrics import frechet_distance, psnr, ssim
from genlab.tf import images_to_numpy, to_images, to_numpy
from genlab.tf.video import ConvLSTMPredictor, VideoVAE, to_video, train_predictor, train_video_vae, video_to_numpy
from genlab.video import animate, block_match_flow, clip_features, copy_last, frame_strip, linear_extrapolation, moving_digits

SEED = 0
QUICK = genlab.is_quick()  # GENLAB_QUICK=1: small, fast runs (tests and grading)
genlab.seed_everything(SEED)
print(f"TensorFlow {tf.__version__} (Keras {keras.__version__}); QUICK={QUICK}")

# %% [markdown]
# **Knobs, in one place.** `QUICK` shrinks sizes (clips, training steps), not the method.

# %%
N_TRAIN = pick(2000, 200)        # training clips (20 frames each)
N_TEST = pick(300, 64)           # held-out clips (digits never seen in training)
PRED_STEPS = pick(900, 6)        # ConvLSTM training steps (batches of 16 clips)
PRED_HIDDEN = pick(32, 16)       # ConvLSTM hidden channels
VAE_STEPS = pick(1200, 4)        # video VAE training steps (batches of 32 clips of 8 frames)
CONTEXT, HORIZON = 10, 10        # predict 10 frames from 10

# %% [markdown]
# ## 1. Video as a tensor · 视频即张量
#
# A clip is a stack of frames: $T \times H \times W \times C$. Batches add $N$ in front. The layouts differ: NumPy and Keras put channels last, `(N, T, H, W, C)`
# (`Conv3D` takes exactly this); PyTorch puts channels before space, and its `Conv3d` wants `(N, C, T, H, W)` (time as a third spatial axis), while a recurrent model
# iterates over frames `(N, T, C, H, W)`. This notebook keeps videos as **{{framework}}** tensors in the layout `genlab.{{fw}}.video.to_video` gives.
#
# **Moving digits** (`genlab.video.moving_digits`, datasheet `datasets/moving_digits.md`): the course's 8x8 digits, upscaled 2x, bounce on a 32x32 canvas at constant integer
# velocities, one or two per clip. Training clips use training-split digits, test clips the test split (disjoint images), each with its own seed.

# %%
t0 = time.time()
train_clips = moving_digits("train", N_TRAIN)          # (N, 20, 32, 32) float32 in [0, 1]
test_clips = moving_digits("test", N_TEST)
print(f"clips generated in {time.time() - t0:.1f} s:", train_clips.shape, test_clips.shape,
      f"mean pixel {train_clips.mean():.3f}")
video = to_video(test_clips[:2])
print("framework layout:", tuple(video.shape))
display(animate([test_clips[i] for i in range(4)], titles=[f"test clip {i}" for i in range(4)]))

# %% [markdown]
# **Frame differences** show where things move: $|x_{t+1} - x_t|$ is non-zero only at the leading and trailing edges of each digit. Most of a video is redundant
# from frame to frame, which is what codecs, and video models, exploit.
#
# **Why per-frame image models flicker.** An image model applied frame by frame makes *independent* errors: its noise, its sampling randomness, its small
# hallucinations differ in every frame, and the eye sees them as flicker even when every single frame looks fine. Below, a per-frame "enhancer" that adds
# its own small random error to each frame: each frame's PSNR is high, but the frame differences are full of noise that does not move with the content.

# %%
clip = test_clips[0]
rng = np.random.default_rng(SEED)
per_frame = np.clip(clip + 0.08 * rng.standard_normal(clip.shape) + 0.05 * rng.standard_normal((len(clip), 1, 1)), 0, 1)
frame_strip([clip[:8], np.abs(np.diff(clip, axis=0))[:8], per_frame[:8], np.abs(np.diff(per_frame, axis=0))[:8]],
            row_titles=["clip", "|difference|", "per-frame\nmodel", "|difference|"],
            title="frame differences: real motion vs. flicker");
print(f"per-frame PSNR of the per-frame model {psnr(per_frame, clip, 1.0):.1f} dB; mean |frame difference|: "
      f"real {np.abs(np.diff(clip, axis=0)).mean():.4f}, per-frame model {np.abs(np.diff(per_frame, axis=0)).mean():.4f}")

# %% [markdown]
# ### Exercise 1 · `spacetime_patches` (2 points)
# Sora-style video transformers (and ViViT's "tubelets") cut a video into **spacetime patches**: blocks of $p_t \times p_h \times p_w$ pixels, each flattened into one token.
# Write `spacetime_patches(video, pt, ph, pw)`: `video` in the {{framework}} layout of `to_video` (PyTorch `(N, T, C, H, W)`, TensorFlow `(N, T, H, W, C)`), with $T, H, W$
# divisible by the patch sizes. Return `(N, L, pt * ph * pw * C)` with $L = \frac{T}{p_t}\frac{H}{p_h}\frac{W}{p_w}$; tokens in raster order (time block, then row block,
# then column block), and each token's values ordered (frame in block, row in block, column in block, channel): the same tokens in both frameworks.
# A reshape alone does not do it: the axes must be moved first.

# %% solution id=video_spacetime_patches only=torch
def spacetime_patches(video, pt, ph, pw):
    """(N, T, C, H, W) -> (N, T/pt * H/ph * W/pw, pt * ph * pw * C) tokens; values ordered (dt, dy, dx, c)."""
    ### BEGIN SOLUTION
    n, t, c, h, w = video.shape
    x = video.reshape(n, t // pt, pt, c, h // ph, ph, w // pw, pw)
    x = x.permute(0, 1, 4, 6, 2, 5, 7, 3)  # (n, T', H', W', pt, ph, pw, c)
    return x.reshape(n, (t // pt) * (h // ph) * (w // pw), pt * ph * pw * c)
    ### END SOLUTION

# %% solution id=video_spacetime_patches only=tf
def spacetime_patches(video, pt, ph, pw):
    """(N, T, H, W, C) -> (N, T/pt * H/ph * W/pw, pt * ph * pw * C) tokens; values ordered (dt, dy, dx, c)."""
    ### BEGIN SOLUTION
    n, t, h, w, c = video.shape
    x = tf.reshape(video, (-1, t // pt, pt, h // ph, ph, w // pw, pw, c))
    x = tf.transpose(x, (0, 1, 3, 5, 2, 4, 6, 7))  # (n, T', H', W', pt, ph, pw, c)
    return tf.reshape(x, (-1, (t // pt) * (h // ph) * (w // pw), pt * ph * pw * c))
    ### END SOLUTION

# %% test id=video_spacetime_patches_test points=2
"""spacetime_patches: tokens in (time, row, column) block order, values in (dt, dy, dx, c) order.

Catches: a reshape without moving the axes; column blocks before row blocks; channels first inside a
token (PyTorch's natural order); the patch height and width swapped; the time patch ignored; a
batch mixed into the tokens.
"""
import numpy as np
from genlab.testing import assert_close, assert_tensor
from genlab.fw.video import to_video

# value = 1000 t + 100 y + 10 x + c: every pixel says where it comes from
t_, y_, x_, c_ = np.meshgrid(np.arange(2), np.arange(4), np.arange(6), np.arange(2), indexing="ij")
v = (1000 * t_ + 100 * y_ + 10 * x_ + c_)[None].astype(float)           # (1, T=2, H=4, W=6, C=2)
tokens = spacetime_patches(to_video(v), 2, 2, 3)
assert_tensor(tokens, "spacetime_patches(...)")
first = [0, 1, 10, 11, 20, 21, 100, 101, 110, 111, 120, 121, 1000, 1001, 1010, 1011, 1020, 1021, 1100, 1101, 1110, 1111, 1120, 1121]
want = np.array([first, np.add(first, 30), np.add(first, 200), np.add(first, 230)])[None]
assert_close(tokens, want, "tokens of a (1, 2, 4, 6, 2) video with 2x2x3 patches")
### BEGIN HIDDEN TESTS
def _patches_oracle(v, pt, ph, pw):
    n, t, h, w, c = v.shape
    x = v.reshape(n, t // pt, pt, h // ph, ph, w // pw, pw, c).transpose(0, 1, 3, 5, 2, 4, 6, 7)
    return x.reshape(n, -1, pt * ph * pw * c)

rng = np.random.default_rng(7070)
for shape, p in [((3, 4, 8, 6, 1), (2, 4, 3)), ((2, 3, 4, 4, 3), (1, 2, 2)), ((1, 6, 6, 4, 2), (3, 3, 1)),
                 ((2, 2, 2, 2, 1), (2, 2, 2)), ((4, 1, 4, 8, 2), (1, 1, 4))]:
    v = rng.normal(size=shape)
    out = spacetime_patches(to_video(v), *p)
    assert_tensor(out, "spacetime_patches(...)")
    assert_close(out, _patches_oracle(v, *p), f"tokens of a {shape} video with patches {p}")
# gradients reach the video, and the tokens keep the video's dtype
from genlab.fw import grad_of, to_numpy
from genlab.testing import assert_finite_grads
rng_g = np.random.default_rng(7076)
v = rng_g.normal(size=(2, 2, 4, 4, 3))
_, grads = grad_of(lambda vid: spacetime_patches(vid, 2, 2, 2), to_numpy(to_video(v)))
assert_finite_grads(grads, ["video"])
assert "float32" in str(spacetime_patches(to_video(v), 1, 2, 2).dtype), "tokens must keep the video's dtype (float32)"
### END HIDDEN TESTS

# %% [markdown]
# Our 20-frame clips with $2 \times 8 \times 8$ patches make $10 \cdot 4 \cdot 4 = 160$ tokens of 128 values; a 1080p, 5-second clip at 24 fps in a VAE's
# latent space (8x smaller in space, 4x in time) with $1 \times 2 \times 2$ patches is about $30 \cdot 68 \cdot 120 \approx 245{,}000$ tokens: why video transformers
# live in latent space and why attention over all of them (full 3-D attention) costs so much.

# %%
tokens = spacetime_patches(to_video(test_clips[:2]), 2, 8, 8)
print("tokens:", tuple(tokens.shape))

# %% [markdown]
# ## 2. Next-frame prediction with a ConvLSTM · 下一帧预测
#
# **ConvLSTM** (Shi et al., 2015) is an LSTM whose matrix products are convolutions, so its state is a *feature map* that keeps the spatial layout.
# With input $x_t$, hidden state $h_{t-1}$ and cell state $c_{t-1}$ (all $H' \times W'$ maps), one convolution of the concatenation $[x_t, h_{t-1}]$ gives four
# gate maps, in the order **input, forget, candidate, output** (PyTorch's `nn.LSTM` order):
# $$[z_i, z_f, z_g, z_o] = W * [x_t, h_{t-1}] + b,\quad c_t = \sigma(z_f)\odot c_{t-1} + \sigma(z_i)\odot\tanh(z_g),\quad h_t = \sigma(z_o)\odot\tanh(c_t).$$
# The cell state is **carried**: $\sigma(z_f) \odot c_{t-1}$ is the memory that lets a ConvLSTM remember a velocity; drop it and the cell only sees one frame.
#
# ### Exercise 2 · `convlstm_cell` (3 points)
# `x` and the states are {{framework}} image tensors (PyTorch `(N, C, H, W)`, TensorFlow `(N, H, W, C)`); `weight` is `(k, k, C_x + C_h, 4 C_h)` (the Keras kernel layout,
# in both frameworks), `bias` is `(4 C_h,)`. Use a "same" convolution (stride 1, padding `k // 2`), inputs concatenated as `[x, h]` on the channel axis,
# gates split in the order above. Return `(h_new, c_new)`.

# %% solution id=video_convlstm_cell only=torch
def convlstm_cell(x, h, c, weight, bias):
    """One ConvLSTM step: (N, Cx, H, W), (N, Ch, H, W) x 2, (k, k, Cx + Ch, 4 Ch), (4 Ch,) -> (h_new, c_new)."""
    ### BEGIN SOLUTION
    z = F.conv2d(torch.cat([x, h], 1), weight.permute(3, 2, 0, 1), bias, padding=weight.shape[0] // 2)
    i, f, g, o = torch.chunk(z, 4, dim=1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c
    ### END SOLUTION

# %% solution id=video_convlstm_cell only=tf
def convlstm_cell(x, h, c, weight, bias):
    """One ConvLSTM step: (N, H, W, Cx), (N, H, W, Ch) x 2, (k, k, Cx + Ch, 4 Ch), (4 Ch,) -> (h_new, c_new)."""
    ### BEGIN SOLUTION
    z = tf.nn.conv2d(tf.concat([x, h], -1), weight, 1, "SAME") + bias
    i, f, g, o = tf.split(z, 4, axis=-1)
    c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
    return tf.sigmoid(o) * tf.tanh(c), c
    ### END SOLUTION

# %% test id=video_convlstm_cell_test points=3
"""convlstm_cell: gates (i, f, g, o) from one same-padded convolution of [x, h]; the cell state carried.

Catches: the gates in another order (i, f, o, g); the cell state not carried (c_new = i * g); h
without the tanh of the cell state; a sigmoid on the candidate; [h, x] instead of [x, h]; no padding
(a valid convolution); the old cell state returned; the bias ignored.
"""
import numpy as np
from genlab.testing import assert_close_images, assert_tensor
from genlab.fw import CHANNEL_AXIS, to_images as I, to_tensor as T

# 1x1 kernel, one input and one hidden channel, a 2x2 map
x = np.array([[[[1.0], [0.5]], [[-1.0], [2.0]]]]); h = np.array([[[[0.2], [-0.3]], [[0.0], [0.4]]]])
c = np.array([[[[0.5], [-1.0]], [[1.5], [0.0]]]])
w = np.array([[[[0.5, -0.3, 0.8, 0.2], [0.1, 0.4, -0.6, 0.9]]]]); b = np.array([0.1, 0.2, -0.1, 0.0])
h1, c1 = convlstm_cell(I(x), I(h), I(c), T(w), T(b))
assert_tensor(h1, "h_new"); assert_tensor(c1, "c_new")
assert_close_images(h1, [[[[0.31355594], [-0.1008167]], [[0.25620137], [0.38713289]]]], "h_new (1x1 kernel)", channel_axis=CHANNEL_AXIS)
assert_close_images(c1, [[[[0.58734684], [-0.2239874]], [[0.64622982], [0.64483395]]]], "c_new (1x1 kernel)", channel_axis=CHANNEL_AXIS)
# 3x3 kernel, two input channels, a 3x3 map: the borders need padding
rng_v = np.random.default_rng(7)
x, h, c = rng_v.normal(size=(1, 3, 3, 2)).round(1), rng_v.normal(size=(1, 3, 3, 1)).round(1), rng_v.normal(size=(1, 3, 3, 1)).round(1)
w, b = (0.5 * rng_v.normal(size=(3, 3, 3, 4))).round(1), np.array([0.0, 0.5, 0.0, -0.5])
h1, c1 = convlstm_cell(I(x), I(h), I(c), T(w), T(b))
assert_close_images(h1, np.array([-0.1746236, 0.04785649, -0.04187992, -0.56097261, -0.5282157, -0.17521744, -0.64346302,
                                  0.02618126, -0.14608188]).reshape(1, 3, 3, 1), "h_new (3x3 kernel)", channel_axis=CHANNEL_AXIS)
assert_close_images(c1, np.array([-0.88681992, 0.74285648, -0.41272889, -1.9491892, -0.63475068, -0.59739033, -1.01919009,
                                  0.07854035, -0.56137428]).reshape(1, 3, 3, 1), "c_new (3x3 kernel)", channel_axis=CHANNEL_AXIS)
### BEGIN HIDDEN TESTS
def _sig(z):
    return 1.0 / (1.0 + np.exp(-z))

def _cell_oracle(x, h, c, w, b):
    k = w.shape[0]; r = k // 2
    inp = np.concatenate([x, h], -1); n, hh, ww, _ = inp.shape
    p = np.pad(inp, [(0, 0), (r, r), (r, r), (0, 0)])
    z = np.zeros((n, hh, ww, w.shape[-1])) + b
    for dy in range(k):
        for dx in range(k):
            z += p[:, dy:dy + hh, dx:dx + ww] @ w[dy, dx]
    i, f, g, o = np.split(z, 4, -1)
    c = _sig(f) * c + _sig(i) * np.tanh(g)
    return _sig(o) * np.tanh(c), c

rng = np.random.default_rng(7071)
for n, hh, ww, cx, ch, k in [(2, 5, 4, 3, 2, 3), (1, 4, 4, 1, 5, 3), (3, 6, 5, 2, 3, 5), (2, 3, 7, 4, 1, 1)]:
    x, h, c = rng.normal(size=(n, hh, ww, cx)), rng.normal(size=(n, hh, ww, ch)), 2.0 * rng.normal(size=(n, hh, ww, ch))
    w, b = 0.6 * rng.normal(size=(k, k, cx + ch, 4 * ch)), rng.normal(size=4 * ch)
    want_h, want_c = _cell_oracle(x, h, c, w, b)
    h1, c1 = convlstm_cell(I(x), I(h), I(c), T(w), T(b))
    assert_close_images(h1, want_h, f"h_new for {n}x{hh}x{ww}, Cx={cx}, Ch={ch}, k={k}", channel_axis=CHANNEL_AXIS)
    assert_close_images(c1, want_c, f"c_new for {n}x{hh}x{ww}, Cx={cx}, Ch={ch}, k={k}", channel_axis=CHANNEL_AXIS)
# memory: with the forget gate wide open and the input gate shut, the cell state is kept
ch = 2
w = np.zeros((3, 3, 1 + ch, 4 * ch)); b = np.r_[np.full(ch, -30.0), np.full(ch, 30.0), np.zeros(ch), np.zeros(ch)]
c = rng.normal(size=(1, 4, 4, ch))
_, c1 = convlstm_cell(I(rng.normal(size=(1, 4, 4, 1))), I(rng.normal(size=(1, 4, 4, ch))), I(c), T(w), T(b))
assert_close_images(c1, c, "cell state with forget gate 1 and input gate 0 (it must be carried)", channel_axis=CHANNEL_AXIS)
# gradients reach x, h, c, the kernel and the bias; the result keeps the float32 dtype
from genlab.fw import grad_of, to_numpy
from genlab.testing import assert_finite_grads
rng_g = np.random.default_rng(7077)
xg, hg, cg = rng_g.normal(size=(2, 4, 4, 2)), rng_g.normal(size=(2, 4, 4, 3)), rng_g.normal(size=(2, 4, 4, 3))
wg, bg = 0.5 * rng_g.normal(size=(3, 3, 5, 12)), rng_g.normal(size=12)
def _h_plus_c(*args):
    h1, c1 = convlstm_cell(*args)
    return h1 + c1
_, grads = grad_of(_h_plus_c, to_numpy(I(xg)), to_numpy(I(hg)), to_numpy(I(cg)), wg, bg)
assert_finite_grads(grads, ["x", "h", "c", "weight", "bias"])
h1, c1 = convlstm_cell(I(xg), I(hg), I(cg), T(wg), T(bg))
assert "float32" in str(h1.dtype) and "float32" in str(c1.dtype), "h_new and c_new must stay float32"
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 3 · `rollout` (3 points)
# At test time the future is unknown: after reading the `n_context` true frames (**teacher forcing** is right there: those frames are given), a predictor must feed
# **its own predictions** back for the rest of the horizon. Feeding the true future frames instead (teacher forcing left on) reports an error that no deployed model can have.
#
# `step(frame, state) -> (predicted next frame, state)` is a model's one-step function (the state is `None` at the start). `frames` is a video in the layout of
# `to_video` whose first `n_context` frames are the context (anything after them must not be read). Return the `horizon` predicted frames, stacked on the time axis
# (axis 1): the first is the prediction made after the last context frame.

# %% solution id=video_next_frame_prediction only=torch
def rollout(step, frames, n_context, horizon):
    """Warm up on n_context true frames, then feed back predictions: -> (N, horizon, ...) predicted frames."""
    ### BEGIN SOLUTION
    state = None
    for t in range(n_context):
        pred, state = step(frames[:, t], state)
    preds = [pred]
    for _ in range(horizon - 1):
        pred, state = step(pred, state)
        preds.append(pred)
    return torch.stack(preds, dim=1)
    ### END SOLUTION

# %% solution id=video_next_frame_prediction only=tf
def rollout(step, frames, n_context, horizon):
    """Warm up on n_context true frames, then feed back predictions: -> (N, horizon, ...) predicted frames."""
    ### BEGIN SOLUTION
    state = None
    for t in range(n_context):
        pred, state = step(frames[:, t], state)
    preds = [pred]
    for _ in range(horizon - 1):
        pred, state = step(pred, state)
        preds.append(pred)
    return tf.stack(preds, axis=1)
    ### END SOLUTION

# %% test id=video_next_frame_prediction_test points=3
"""rollout: the context read with the state carried, then the model's own predictions fed back.

Catches: teacher forcing left on (true future frames fed during the rollout); the state reset at
each step; the first prediction (made after the last context frame) dropped; only the last context
frame read; the last context frame fed again instead of the prediction; predictions stacked on the
wrong axis; a horizon off by one.
"""
import numpy as np
from genlab.testing import assert_close, assert_tensor
from genlab.fw.video import to_video, toy_step, video_to_numpy

# toy_step: state <- 0.5 state + frame; prediction = tanh(frame shifted right by one pixel + 0.3 state)
frames = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [9.0, 9.0, 9.0], [9.0, 9.0, 9.0]])
frames = frames[None, :, None, :, None]                      # (N=1, T=6, H=1, W=3, C=1)
out = rollout(toy_step, to_video(frames), 3, 4)
assert_tensor(out, "rollout(...)")
want = [[0.29131261, 0.79133755, 0.14888503], [0.3681478, 0.51257331, 0.72161334],
        [0.74012447, 0.57794428, 0.6577798], [0.75922707, 0.78532647, 0.72277763]]
assert_close(video_to_numpy(out), np.array(want)[None, :, None, :, None], "4 frames rolled out after 3 context frames")
### BEGIN HIDDEN TESTS
def _toy_oracle(frame, state):
    state = frame if state is None else 0.5 * state + frame
    return np.tanh(np.roll(frame, 1, axis=2) + 0.3 * state), state

def _rollout_oracle(frames, n_context, horizon):
    s = None
    for t in range(n_context):
        p, s = _toy_oracle(frames[:, t], s)
    out = [p]
    for _ in range(horizon - 1):
        p, s = _toy_oracle(p, s)
        out.append(p)
    return np.stack(out, 1)

rng = np.random.default_rng(7072)
for n, t, hh, ww, c, nc, hz in [(2, 8, 3, 4, 1, 5, 3), (3, 4, 2, 5, 2, 4, 6), (1, 7, 4, 4, 1, 1, 7), (2, 3, 3, 3, 3, 2, 1)]:
    frames = rng.normal(size=(n, t, hh, ww, c))
    want = _rollout_oracle(frames, nc, hz)
    out = rollout(toy_step, to_video(frames), nc, hz)
    assert_tensor(out, "rollout(...)")
    assert_close(video_to_numpy(out), want, f"rollout of {hz} frames after {nc} context frames, batch {n}")
# the future must not be read: frames after the context are NaN
frames = rng.normal(size=(2, 9, 3, 3, 1)); frames[:, 4:] = np.nan
assert_close(video_to_numpy(rollout(toy_step, to_video(frames), 4, 5)), _rollout_oracle(frames, 4, 5),
             "rollout when the frames after the context are unknown (NaN)")
# the state starts as None (the model makes its own) and is carried after
_seen = []
def _recording_step(frame, state):
    _seen.append(state is None)
    return toy_step(frame, state)
rollout(_recording_step, to_video(rng.normal(size=(2, 6, 3, 3, 1))), 3, 4)
assert _seen == [True] + [False] * 5, f"state is None at the calls of step: {_seen}; it must be None at the first call only (the model makes its own), then carried"
### END HIDDEN TESTS

# %% [markdown]
# **Training.** `genlab.{{fw}}.video.ConvLSTMPredictor` runs *your* `convlstm_cell` on 2x2 space-to-depth patches of each frame (16x16 maps of 4 values,
# 32 hidden channels, 16 in QUICK mode) with a 1x1 convolution and a sigmoid as the head. It is trained with teacher forcing (each step sees the true previous frame:
# parallel over the batch, stable), per-pixel binary cross-entropy, Adam. Then it is judged by free-running rollouts on held-out clips.

# %% only=torch
genlab.seed_everything(SEED)
predictor = ConvLSTMPredictor(convlstm_cell, hidden=PRED_HIDDEN, seed=SEED)
t0 = time.time()
history = train_predictor(predictor, train_clips, steps=PRED_STEPS, batch_size=16, lr=3e-3, seed=SEED)
print(f"trained in {time.time() - t0:.0f} s; loss {history[0]:.3f} -> {np.mean(history[-20:]):.3f}")
with torch.no_grad():
    preds = video_to_numpy(rollout(predictor.step, to_video(test_clips), CONTEXT, HORIZON))[..., 0]

# %% only=tf
genlab.seed_everything(SEED)
predictor = ConvLSTMPredictor(convlstm_cell, hidden=PRED_HIDDEN, seed=SEED)
t0 = time.time()
history = train_predictor(predictor, train_clips, steps=PRED_STEPS, batch_size=16, lr=3e-3, seed=SEED)
print(f"trained in {time.time() - t0:.0f} s; loss {history[0]:.3f} -> {np.mean(history[-20:]):.3f}")
preds = video_to_numpy(rollout(predictor.step, to_video(test_clips), CONTEXT, HORIZON))[..., 0]

# %% [markdown]
# **Baselines first.** A predictor must beat **copy-last-frame** (nothing moves) and **linear extrapolation** (each pixel continues its last change). The MSE of each,
# per horizon step: copying is perfect where nothing moves and pays twice for every digit that moved (it is missing where it is and present where it was);
# a blurry prediction that spreads the digit along its likely path pays less. Errors grow with the horizon because each prediction is built on the previous
# one: its blur and mistakes compound (exposure bias: training never showed the model its own outputs).

# %%
future = test_clips[:, CONTEXT:CONTEXT + HORIZON]
baselines = {"ConvLSTM (yours)": preds, "copy last frame": copy_last(test_clips[:, :CONTEXT], HORIZON),
             "linear extrapolation": linear_extrapolation(test_clips[:, :CONTEXT], HORIZON),
             "constant grey (training mean)": np.full_like(future, train_clips.mean())}
mse = {k: ((v - future) ** 2).mean(axis=(0, 2, 3)) for k, v in baselines.items()}
fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
for k, v in mse.items():
    axes[0].plot(np.arange(1, HORIZON + 1), v, marker="o", label=k)
axes[0].set_xlabel("frames ahead"); axes[0].set_ylabel("MSE"); axes[0].legend(fontsize=7); axes[0].set_title("error grows with the horizon")
ssims = [ssim(preds[:, k], future[:, k], 1.0) for k in range(HORIZON)]
axes[1].plot(np.arange(1, HORIZON + 1), [psnr(preds[:, k], future[:, k], 1.0) for k in range(HORIZON)], marker="o", label="PSNR (dB)")
axes[1].plot(np.arange(1, HORIZON + 1), np.array(ssims) * 20, marker="s", label="SSIM x 20")
axes[1].set_xlabel("frames ahead"); axes[1].legend(fontsize=7); axes[1].set_title("ConvLSTM per-frame quality")
fig.tight_layout()
ratio = mse["ConvLSTM (yours)"].mean() / mse["copy last frame"].mean()
print({k: round(float(v.mean()), 4) for k, v in mse.items()})
report("video/rollout10_mse_ratio_vs_copy_last", ratio)

# %%
i = 0
display(animate([test_clips[i, CONTEXT:], preds[i], baselines["copy last frame"][i]], titles=["truth", "ConvLSTM rollout", "copy last"]))
frame_strip([future[i], preds[i]], row_titles=["truth", "rollout"], title="10 frames predicted from 10 (held-out digits)");

# %% [markdown]
# **Reading it.** Look at the fourth baseline: a constant grey frame, which knows nothing about the clip, already scores about 0.7 of copy-last's MSE, because on
# mostly black frames per-pixel MSE rewards hedging and punishes a sharp digit in the wrong place twice. So the ratio to copy-last (the course's target: at most 0.7)
# says little on its own; the per-horizon curves and the animation say whether motion was learned: the first predicted frames must beat every baseline clearly.
# The rollout keeps the digits moving in the right direction but blurs them more with every frame: with an MSE loss (or a per-pixel Bernoulli),
# the best prediction under uncertainty is the *mean* of the possible futures, a blur. Sharp, diverse futures need a stochastic model (SV2P, SVG: a latent variable per
# step) or a generative one (video diffusion), judged by distribution metrics, not MSE alone.

# %% [markdown]
# ## 3. Frame interpolation with optical flow · 基于光流的插帧
#
# **Optical flow** is a displacement field. For **backward warping** we need, for every pixel $p$ of the *output* grid, where to read in the source:
# $$\mathrm{warp}(I, F)(p) = I(p + F(p)).$$
# Every output pixel gets exactly one value (no holes, no collisions), and with **bilinear** sampling the result is differentiable in both $I$ and $F$.
# Forward warping (pushing each source pixel to $p + F(p)$) leaves holes and collisions; it is not what `grid_sample`-style layers do.
# Pixel $(x, y)$ is the *centre* of pixel $x$; sampling at $x + 0.5$ lands halfway to the next pixel (the half-pixel confusion is the `align_corners` debate);
# coordinates outside the image are **clamped** to the border (border replication).
#
# ### Exercise 4 · `backward_warp` (3 points)
# `image` is a {{framework}} image batch (PyTorch `(N, C, H, W)`, TensorFlow `(N, H, W, C)`), `flow` a batch of the same size with 2 channels $(d_x, d_y)$
# (PyTorch `(N, 2, H, W)`, TensorFlow `(N, H, W, 2)`), in pixels. Return the warped images: sample `image` at $(x + d_x, y + d_y)$, clamped to $[0, W-1] \times [0, H-1]$,
# with bilinear weights. Write the sampling yourself (floor, the four neighbours, their weights, a gather): `grid_sample`, `map_coordinates` and friends are not
# available while grading. Gradients must flow to the image and to the flow.

# %% solution id=video_warp_with_flow only=torch
def backward_warp(image, flow):
    """Bilinear backward warp: out[p] = image[p + flow[p]], coordinates clamped to the image. (N, C, H, W), (N, 2, H, W)."""
    ### BEGIN SOLUTION
    n, c, h, w = image.shape
    ys, xs = torch.meshgrid(torch.arange(h, dtype=image.dtype, device=image.device),
                            torch.arange(w, dtype=image.dtype, device=image.device), indexing="ij")
    sx = (xs + flow[:, 0]).clamp(0, w - 1)
    sy = (ys + flow[:, 1]).clamp(0, h - 1)
    x0, y0 = sx.floor(), sy.floor()
    x1, y1 = (x0 + 1).clamp(max=w - 1), (y0 + 1).clamp(max=h - 1)
    wx, wy = (sx - x0)[:, None], (sy - y0)[:, None]
    flat = image.reshape(n, c, h * w)

    def at(y, x):
        idx = (y * w + x).long().reshape(n, 1, h * w).expand(n, c, h * w)
        return flat.gather(2, idx).reshape(n, c, h, w)

    return ((1 - wy) * ((1 - wx) * at(y0, x0) + wx * at(y0, x1))
            + wy * ((1 - wx) * at(y1, x0) + wx * at(y1, x1)))
    ### END SOLUTION

# %% solution id=video_warp_with_flow only=tf
def backward_warp(image, flow):
    """Bilinear backward warp: out[p] = image[p + flow[p]], coordinates clamped to the image. (N, H, W, C), (N, H, W, 2)."""
    ### BEGIN SOLUTION
    h, w, c = image.shape[1], image.shape[2], image.shape[3]
    ys, xs = tf.meshgrid(tf.range(h, dtype=image.dtype), tf.range(w, dtype=image.dtype), indexing="ij")
    sx = tf.clip_by_value(xs + flow[..., 0], 0.0, w - 1.0)
    sy = tf.clip_by_value(ys + flow[..., 1], 0.0, h - 1.0)
    x0, y0 = tf.floor(sx), tf.floor(sy)
    x1, y1 = tf.minimum(x0 + 1, w - 1.0), tf.minimum(y0 + 1, h - 1.0)
    wx, wy = (sx - x0)[..., None], (sy - y0)[..., None]
    flat = tf.reshape(image, (-1, h * w, c))

    def at(y, x):
        idx = tf.reshape(tf.cast(y * w + x, tf.int32), (-1, h * w))
        return tf.reshape(tf.gather(flat, idx, batch_dims=1), (-1, h, w, c))

    return ((1 - wy) * ((1 - wx) * at(y0, x0) + wx * at(y0, x1))
            + wy * ((1 - wx) * at(y1, x0) + wx * at(y1, x1)))
    ### END SOLUTION

# %% test id=video_warp_with_flow_test points=3
"""backward_warp: out[p] = image[p + flow[p]], bilinear, coordinates clamped to the border.

Catches: forward instead of backward warping (p - flow); sampling off by half a pixel; no clamping
at the borders; dx and dy swapped; nearest-neighbour instead of bilinear sampling; the bilinear
weights swapped; gradients that do not reach the flow or the image; a batch or channel mix-up.
"""
import numpy as np
from genlab.testing import assert_close_images, assert_finite_grads, assert_tensor
from genlab.fw import CHANNEL_AXIS, grad_of, to_images as I, to_numpy

img = np.arange(12.0).reshape(1, 3, 4, 1)                     # (N, H, W, C): 0..11, row by row
cases = {(0.5, 0.0): [[0.5, 1.5, 2.5, 3.0], [4.5, 5.5, 6.5, 7.0], [8.5, 9.5, 10.5, 11.0]],
         (0.0, -1.0): [[0.0, 1.0, 2.0, 3.0], [0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0]],
         (-0.25, 0.75): [[3.0, 3.75, 4.75, 5.75], [7.0, 7.75, 8.75, 9.75], [8.0, 8.75, 9.75, 10.75]],
         (3.0, 0.0): [[3.0, 3.0, 3.0, 3.0], [7.0, 7.0, 7.0, 7.0], [11.0, 11.0, 11.0, 11.0]]}
for (dx, dy), want in cases.items():
    flow = np.broadcast_to(np.array([dx, dy]), (1, 3, 4, 2))
    out = backward_warp(I(img), I(flow))
    assert_tensor(out, "backward_warp(...)")
    assert_close_images(out, np.array(want)[None, ..., None], f"warp with a constant flow (dx, dy) = ({dx}, {dy})",
                        channel_axis=CHANNEL_AXIS)
### BEGIN HIDDEN TESTS
def _warp_oracle(img, flow):
    n, h, w, c = img.shape
    ys, xs = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    sx = np.clip(xs + flow[..., 0], 0, w - 1); sy = np.clip(ys + flow[..., 1], 0, h - 1)
    x0 = np.floor(sx).astype(int); y0 = np.floor(sy).astype(int)
    x1 = np.minimum(x0 + 1, w - 1); y1 = np.minimum(y0 + 1, h - 1)
    wx = (sx - x0)[..., None]; wy = (sy - y0)[..., None]; b = np.arange(n)[:, None, None]
    return (1 - wy) * ((1 - wx) * img[b, y0, x0] + wx * img[b, y0, x1]) + wy * ((1 - wx) * img[b, y1, x0] + wx * img[b, y1, x1])

rng = np.random.default_rng(7073)
for n, h, w, c in [(2, 5, 7, 1), (3, 6, 4, 3), (1, 8, 8, 2), (4, 3, 9, 1)]:
    img = rng.normal(size=(n, h, w, c))
    flow = rng.uniform(-1.6, 1.6, size=(n, h, w, 2)) * np.array([w, h])   # many samples fall outside: clamped
    out = backward_warp(I(img), I(flow))
    assert_tensor(out, "backward_warp(...)")
    assert_close_images(out, _warp_oracle(img, flow), f"warp of {n}x{h}x{w}x{c} images with a random flow", channel_axis=CHANNEL_AXIS)
    small = rng.uniform(-2.0, 2.0, size=(n, h, w, 2))
    assert_close_images(backward_warp(I(img), I(small)), _warp_oracle(img, small), f"warp of {n}x{h}x{w}x{c} images with a small flow",
                        channel_axis=CHANNEL_AXIS)
# an integer flow is a shift; zero flow is the identity
img = rng.normal(size=(2, 6, 6, 1))
assert_close_images(backward_warp(I(img), I(np.zeros((2, 6, 6, 2)))), img, "warp with zero flow", channel_axis=CHANNEL_AXIS)
shift = np.broadcast_to(np.array([2.0, -1.0]), (2, 6, 6, 2))
assert_close_images(backward_warp(I(img), I(shift)), _warp_oracle(img, shift), "warp with an integer flow (2, -1)", channel_axis=CHANNEL_AXIS)
# gradients reach the image and the flow (the bilinear weights depend on the flow)
img, flow = rng.normal(size=(2, 5, 5, 2)), rng.uniform(-1.5, 1.5, size=(2, 5, 5, 2))
_, grads = grad_of(backward_warp, to_numpy(I(img)), to_numpy(I(flow)))
assert_finite_grads(grads, ["image", "flow"])
# the gradient wrt the flow is the bilinear one, in both components (central differences of the oracle)
rng_g = np.random.default_rng(7078)
img, flow = rng_g.normal(size=(2, 5, 6, 2)), rng_g.uniform(-2.5, 2.5, size=(2, 5, 6, 2))
_, grads = grad_of(backward_warp, to_numpy(I(img)), to_numpy(I(flow)))
g = np.moveaxis(np.asarray(grads[1], dtype=np.float64), CHANNEL_AXIS, -1)
eps = 1e-5; want = np.zeros_like(flow)
for k in range(2):
    d = np.zeros_like(flow); d[..., k] = eps
    want[..., k] = (_warp_oracle(img, flow + d).sum(-1) - _warp_oracle(img, flow - d).sum(-1)) / (2 * eps)
assert np.allclose(g, want, atol=1e-3, rtol=1e-3), f"gradient wrt the flow (dx, dy): max error {np.abs(g - want).max(axis=(0, 1, 2))}"
assert "float32" in str(backward_warp(I(img), I(flow)).dtype), "the warped images must keep the image's dtype (float32)"
### END HIDDEN TESTS

# %% [markdown]
# **Estimating the flow.** Our digits move rigidly, so a classical estimator does well: **block matching** (`genlab.video.block_match_flow`) picks, for every pixel of
# frame 0, the integer displacement whose 7x7 block in frame 1 matches its own block best (sum of squared differences, a small penalty on long moves so that the blank
# background gets zero flow). Real systems use learned estimators (FlowNet, PWC-Net, RAFT) or learn the flow inside the interpolator (RIFE, FILM). The result
# $F_{0\to1}$ lives on frame 0's grid and satisfies $I_1(p + F_{0\to1}(p)) \approx I_0(p)$: warping frame 1 backwards with it should give frame 0 back.

# %%
frame_a, frame_b, frame_mid = test_clips[:, 4], test_clips[:, 6], test_clips[:, 5]      # interpolate frame 5 from frames 4 and 6
t0 = time.time()
flow01, flow10 = block_match_flow(frame_a, frame_b, radius=5, window=3), block_match_flow(frame_b, frame_a, radius=5, window=3)
print(f"block matching on {len(frame_a)} frame pairs (both directions) in {time.time() - t0:.1f} s")
back = images_to_numpy(backward_warp(to_images(frame_b[..., None]), to_images(flow01)))[..., 0]
print(f"frame 1 warped back onto frame 0: PSNR {psnr(back, frame_a, 1.0):.1f} dB (frame 1 as it is: {psnr(frame_b, frame_a, 1.0):.1f} dB)")

# %% [markdown]
# ### Exercise 5 · `interpolate_frame` (2 points)
# To synthesise frame $t \in (0, 1)$ between $I_0$ and $I_1$ we need flows *from time $t$* (backward warping reads from the target's grid). Super SloMo
# (Jiang et al., 2018) approximates them from the two flows we have, assuming locally linear motion:
# $$F_{t\to0} = -(1-t)\,t\,F_{0\to1} + t^2 F_{1\to0},\qquad F_{t\to1} = (1-t)^2 F_{0\to1} - t(1-t)\,F_{1\to0},$$
# then blends the two warped frames, each weighted by its **closeness in time**: $\hat I_t = (1-t)\,\mathrm{warp}(I_0, F_{t\to0}) + t\,\mathrm{warp}(I_1, F_{t\to1})$
# (at $t = 0.1$ the result is mostly frame 0). `warp` is passed in (you will pass your `backward_warp`; the tests pass a stand-in, so this exercise is judged on its own).
# The same code works in both frameworks.

# %% solution id=video_frame_interpolation
def interpolate_frame(frame0, frame1, flow01, flow10, t, warp):
    """Frame t in (0, 1) from frames 0 and 1 and the flows 0->1 and 1->0 (Super SloMo's intermediate flows)."""
    ### BEGIN SOLUTION
    flow_t0 = -(1 - t) * t * flow01 + t * t * flow10
    flow_t1 = (1 - t) ** 2 * flow01 - t * (1 - t) * flow10
    return (1 - t) * warp(frame0, flow_t0) + t * warp(frame1, flow_t1)
    ### END SOLUTION

# %% test id=video_frame_interpolation_test points=2
"""interpolate_frame: Super SloMo's intermediate flows, then the warped frames blended with weights (1 - t, t).

Catches: the blend weights swapped (t for frame 0); each frame warped with the other's flow; the full
flows used instead of the flows to time t; the flows' signs flipped (forward use); plain blending
that ignores the flows; the 1 -> 0 flow ignored (F_t0 = -t F_01).
"""
import numpy as np
from genlab.testing import assert_close_images, assert_tensor
from genlab.fw import CHANNEL_AXIS, to_images as I
from genlab.fw.video import probe_warp

# probe_warp is not a warp: image * (1 + 0.5 tanh(dx)) + 0.25 dy, a stand-in that makes every mistake visible
f0 = np.array([[[[0.2], [0.8]], [[0.5], [0.0]]]]); f1 = np.array([[[[0.6], [0.1]], [[0.3], [1.0]]]])
F01 = np.array([[[[1.0, 0.0], [0.5, -1.0]], [[0.0, 2.0], [-1.0, 0.5]]]]); F10 = np.array([[[[-1.0, 0.5], [0.0, 1.0]], [[0.5, -2.0], [1.0, 0.0]]]])
out = interpolate_frame(I(f0), I(f1), I(F01), I(F10), 0.5, probe_warp)
assert_tensor(out, "interpolate_frame(...)")
assert_close_images(out, [[[[0.44621172], [0.42823822]], [[0.40621765], [0.38447071]]]], "frame at t = 0.5", channel_axis=CHANNEL_AXIS)
out = interpolate_frame(I(f0), I(f1), I(F01), I(F10), 0.25, probe_warp)
assert_close_images(out, [[[[0.32926727], [0.60038288]], [[0.45235211], [0.17060638]]]], "frame at t = 0.25", channel_axis=CHANNEL_AXIS)
### BEGIN HIDDEN TESTS
def _probe_oracle(img, flow):
    return img * (1 + 0.5 * np.tanh(flow[..., :1])) + 0.25 * flow[..., 1:2]

def _interp_oracle(f0, f1, F01, F10, t):
    ft0 = -(1 - t) * t * F01 + t * t * F10
    ft1 = (1 - t) ** 2 * F01 - t * (1 - t) * F10
    return (1 - t) * _probe_oracle(f0, ft0) + t * _probe_oracle(f1, ft1)

rng = np.random.default_rng(7074)
for n, h, w, c, t in [(2, 4, 5, 1, 0.3), (3, 3, 3, 2, 0.8), (1, 6, 2, 3, 0.5), (2, 5, 5, 1, 0.1)]:
    f0, f1 = rng.random((n, h, w, c)), rng.random((n, h, w, c))
    F01, F10 = rng.normal(scale=2.0, size=(n, h, w, 2)), rng.normal(scale=2.0, size=(n, h, w, 2))
    out = interpolate_frame(I(f0), I(f1), I(F01), I(F10), t, probe_warp)
    assert_tensor(out, "interpolate_frame(...)")
    assert_close_images(out, _interp_oracle(f0, f1, F01, F10, t), f"frame at t = {t} for {n}x{h}x{w}x{c}", channel_axis=CHANNEL_AXIS)
### END HIDDEN TESTS

# %% [markdown]
# **Flow-based interpolation against blending** on held-out clips: the naive average $\frac12(I_0 + I_1)$ shows two half-bright ghosts; warping moves the digit
# to where it is at $t = \frac12$. PSNR and SSIM per frame come from `genlab.metrics`.

# %%
interp = images_to_numpy(interpolate_frame(to_images(frame_a[..., None]), to_images(frame_b[..., None]), to_images(flow01), to_images(flow10),
                                           0.5, backward_warp))[..., 0]
blend = 0.5 * (frame_a + frame_b)
p_flow, p_blend = psnr(interp, frame_mid, 1.0, axis=(1, 2)), psnr(blend, frame_mid, 1.0, axis=(1, 2))
finite = np.isfinite(p_flow) & np.isfinite(p_blend)    # a clip whose two frames are identical has infinite PSNR
print(f"PSNR: flow-based {p_flow[finite].mean():.2f} dB, blending {p_blend[finite].mean():.2f} dB; "
      f"SSIM: flow-based {ssim(interp, frame_mid, 1.0):.3f}, blending {ssim(blend, frame_mid, 1.0):.3f}")
report("video/interp_psnr_gain_db", (p_flow - p_blend)[finite].mean())
rows = [frame_a[:8], blend[:8], interp[:8], frame_mid[:8], frame_b[:8]]
frame_strip([np.stack(r) for r in rows], row_titles=["frame 0", "blend", "flow-based", "truth t=1/2", "frame 1"],
            title="one interpolated frame per clip (columns: 8 held-out clips)");

# %% [markdown]
# **In production** (RIFE, FILM, DAIN; TV frame-rate conversion, slow motion, animation in-betweening) the hard cases are occlusions (a pixel visible in one frame only:
# learned soft visibility masks weight the two warps per pixel), large motion (coarse-to-fine pyramids), and thin or fast objects; the flow is learned end to end
# for interpolation quality rather than for flow accuracy.

# %% [markdown]
# ## 4. Temporal consistency · 时间一致性
#
# A video can have sharp frames and still flicker. The **warping error** (Lai et al., 2018) measures flicker: warp each output frame $O_{k}$ to the next frame's grid with
# the backward flow $F_{k+1\to k}$ estimated on the *input* video, and compare with $O_{k+1}$, only where the pixel is visible in both frames (an **occlusion mask**
# $M_k$, 1 = visible):
# $$E = \frac{\sum_k \sum_p M_k(p)\,\lVert O_{k+1}(p) - \mathrm{warp}(O_k, F_{k+1\to k})(p)\rVert^2}{C\,\sum_k\sum_p M_k(p)}.$$
# Without the mask, disoccluded pixels (background that appears from behind a moving digit) count as errors although no warp can predict them.
# The mask comes from a **forward-backward check** (Sundaram et al., 2010): follow the flow to the other frame and back; where you do not return to where you started,
# the pixel is occluded.
#
# ### Exercise 6 · `warping_error` (3 points)
# `frames` is a video in the layout of `to_video` with $T$ frames; `flows` holds $T - 1$ flows in the same layout with 2 channels, `flows[:, k]` being
# $F_{k+1\to k}$ (so that `warp(frames[:, k], flows[:, k])` should look like `frames[:, k + 1]`); `masks` holds $T - 1$ one-channel masks. Return one error per clip,
# shape `(N,)`, as in the formula (a clip with no visible pixel gets 0: divide by `max(C * mask sum, 1)`). Use the `warp` passed in.

# %% solution id=video_temporal_consistency only=torch
def warping_error(frames, flows, masks, warp):
    """Masked warping error per clip: (N, T, C, H, W), (N, T-1, 2, H, W), (N, T-1, 1, H, W) -> (N,)."""
    ### BEGIN SOLUTION
    n, t = frames.shape[:2]
    prev = frames[:, :-1].reshape(n * (t - 1), *frames.shape[2:])
    warped = warp(prev, flows.reshape(n * (t - 1), *flows.shape[2:])).reshape(n, t - 1, *frames.shape[2:])
    sq = masks * (frames[:, 1:] - warped) ** 2
    return sq.sum(dim=(1, 2, 3, 4)) / (masks.sum(dim=(1, 2, 3, 4)) * frames.shape[2]).clamp(min=1.0)
    ### END SOLUTION

# %% solution id=video_temporal_consistency only=tf
def warping_error(frames, flows, masks, warp):
    """Masked warping error per clip: (N, T, H, W, C), (N, T-1, H, W, 2), (N, T-1, H, W, 1) -> (N,)."""
    ### BEGIN SOLUTION
    n, t = frames.shape[:2]
    prev = tf.reshape(frames[:, :-1], (n * (t - 1), *frames.shape[2:]))
    warped = tf.reshape(warp(prev, tf.reshape(flows, (n * (t - 1), *flows.shape[2:]))), (n, t - 1, *frames.shape[2:]))
    sq = masks * (frames[:, 1:] - warped) ** 2
    return tf.reduce_sum(sq, axis=(1, 2, 3, 4)) / tf.maximum(tf.reduce_sum(masks, axis=(1, 2, 3, 4)) * frames.shape[-1], 1.0)
    ### END SOLUTION

# %% test id=video_temporal_consistency_test points=3
"""warping_error: frame k warped with F_{k+1->k} against frame k + 1, squared, masked, normalised per clip.

Catches: the occlusion mask ignored (in the sum, or everywhere); the wrong frame pair (the later
frame warped and compared with the earlier one, or a frame compared with its own warp); normalised
by all pixels instead of the visible ones; absolute instead of squared differences; one number for
the whole batch instead of one per clip; the channels not counted.
"""
import numpy as np
from genlab.testing import assert_close, assert_tensor
from genlab.fw.video import probe_warp, to_video

# probe_warp is not a warp: image * (1 + 0.5 tanh(dx)) + 0.25 dy, a stand-in that makes every mistake visible
frames = np.array([[[[0.0], [1.0]], [[0.5], [0.25]]], [[[1.0], [0.0]], [[0.5], [0.75]]], [[[0.2], [0.2]], [[0.4], [0.6]]]])[None]
flows = np.array([[[[0.5, 0.0], [0.0, 1.0]], [[-1.0, 0.0], [0.0, 0.0]]], [[[0.0, 0.0], [1.0, -0.5]], [[0.0, 0.5], [0.2, 0.0]]]])[None]
masks = np.array([[[[1.0], [1.0]], [[0.0], [1.0]]], [[[1.0], [0.0]], [[1.0], [1.0]]]])[None]   # (1, 2, 2, 2, 1)
err = warping_error(to_video(frames), to_video(flows), to_video(masks), probe_warp)
assert_tensor(err, "warping_error(...)")
assert_close(err, [0.59221801], "warping error of a 3-frame 2x2 clip")
### BEGIN HIDDEN TESTS
def _probe_oracle(img, flow):
    return img * (1 + 0.5 * np.tanh(flow[..., :1])) + 0.25 * flow[..., 1:2]

def _werr_oracle(frames, flows, masks):
    n, t = frames.shape[:2]
    warped = _probe_oracle(frames[:, :-1].reshape(n * (t - 1), *frames.shape[2:]),
                           flows.reshape(n * (t - 1), *flows.shape[2:])).reshape(n, t - 1, *frames.shape[2:])
    sq = masks * (frames[:, 1:] - warped) ** 2
    return sq.sum((1, 2, 3, 4)) / np.maximum(masks.sum((1, 2, 3, 4)) * frames.shape[-1], 1.0)

rng = np.random.default_rng(7075)
for n, t, h, w, c in [(3, 4, 3, 5, 1), (2, 2, 4, 4, 3), (4, 5, 2, 3, 2), (1, 6, 5, 5, 1)]:
    frames, flows = rng.random((n, t, h, w, c)), rng.normal(size=(n, t - 1, h, w, 2))
    masks = (rng.random((n, t - 1, h, w, 1)) < 0.6).astype(float)
    err = warping_error(to_video(frames), to_video(flows), to_video(masks), probe_warp)
    assert_tensor(err, "warping_error(...)")
    assert_close(err, _werr_oracle(frames, flows, masks), f"warping errors of {n} clips of {t} frames, {h}x{w}x{c}")
# a clip with nothing visible scores 0; a fully visible one is the plain mean squared error
frames, flows = rng.random((2, 3, 4, 4, 2)), rng.normal(size=(2, 2, 4, 4, 2))
masks = np.zeros((2, 2, 4, 4, 1)); masks[1] = 1.0
assert_close(warping_error(to_video(frames), to_video(flows), to_video(masks), probe_warp), _werr_oracle(frames, flows, masks),
             "one clip with no visible pixel, one fully visible")
# soft masks weight the squared error (M ||.||^2, not (M .)^2), and the divisor is max(C * sum M, 1)
frames, flows = rng.random((3, 3, 4, 4, 2)), rng.normal(size=(3, 2, 4, 4, 2))
masks = rng.random((3, 2, 4, 4, 1)); masks[2] *= 0.4 / masks[2].sum()      # clip 2: C * sum M = 0.8 < 1
assert_close(warping_error(to_video(frames), to_video(flows), to_video(masks), probe_warp), _werr_oracle(frames, flows, masks),
             "warping errors with soft masks (one clip with a total mask weight below 1)")
assert "float32" in str(warping_error(to_video(frames), to_video(flows), to_video(masks), probe_warp).dtype), "the errors must stay float32"
### END HIDDEN TESTS

# %% [markdown]
# **Scoring videos.** Flows and masks are estimated on the real test clips (block matching in both directions, your `backward_warp` for the forward-backward check),
# then the same flows judge three videos: the real clips (the floor: the flow estimator's own error), the per-frame "enhancer" from section 1 (independent noise
# every frame), and the ConvLSTM's rollouts.

# %%
def flows_and_masks(clips):
    """Backward flows F_{k+1->k} and forward-backward occlusion masks for (N, T, H, W) clips, as (N, T-1, H, W, 2) and (N, T-1, H, W, 1)."""
    n, t = clips.shape[:2]
    later, earlier = clips[:, 1:].reshape(-1, *clips.shape[2:]), clips[:, :-1].reshape(-1, *clips.shape[2:])
    back, fwd = block_match_flow(later, earlier), block_match_flow(earlier, later)     # on the grids of frame k+1 and frame k
    fwd_at = images_to_numpy(backward_warp(to_images(fwd), to_images(back)))           # F_{k->k+1} read where F_{k+1->k} points
    mismatch = ((back + fwd_at) ** 2).sum(-1)
    visible = mismatch <= 0.01 * ((back ** 2).sum(-1) + (fwd_at ** 2).sum(-1)) + 0.5
    return back.reshape(n, t - 1, *back.shape[1:]), visible.astype(np.float32).reshape(n, t - 1, *clips.shape[2:], 1)


n_tc = min(len(test_clips), 64)
real = test_clips[:n_tc, CONTEXT:CONTEXT + HORIZON]
flows_tc, masks_tc = flows_and_masks(real)
noisy = np.clip(real + 0.08 * np.random.default_rng(SEED).standard_normal(real.shape), 0, 1)
scores = {}
for name, vid in [("real clips", real), ("per-frame noisy", noisy), ("ConvLSTM rollout", preds[:n_tc])]:
    e = to_numpy(warping_error(to_video(vid), to_video(flows_tc), to_video(masks_tc), backward_warp))
    scores[name] = float(e.mean())
print(f"visible pixels: {masks_tc.mean():.1%}; warping error:", {k: round(v, 5) for k, v in scores.items()})
plt.figure(figsize=(5, 2.6))
plt.barh(list(scores), list(scores.values()))
plt.xlabel("warping error (lower = more consistent)"); plt.tight_layout();

# %% [markdown]
# The per-frame noise barely moves a single frame's PSNR but multiplies the warping error. The real clips do not score 0: block matching is not perfect
# (integer flow, overlapping digits), which is the floor of this metric. The trained ConvLSTM's rollout (full mode) lands between the real clips and the noisy ones:
# its digits smear and fade from frame to frame. But an *untrained*, nearly blank predictor (QUICK mode) scores better than the real clips: a blank or smooth,
# slowly changing video is trivially consistent. The warping error rewards blur and stillness, so it is always reported **next to** a quality metric
# (PSNR/SSIM against the truth, or a Fréchet distance for generated video), never alone.

# %% [markdown]
# ## 5. A video generator · 视频生成模型
#
# `genlab.{{fw}}.video.VideoVAE` is a small **3-D convolutional VAE**: 8-frame clips, 3x3x3 convolutions whose kernels span time, average pooling to a
# $2 \times 4 \times 4 \times 16$ bottleneck, a 32-d Gaussian latent for the whole clip, and the mirror decoder (nearest upsampling, convolutions). One latent
# draws a whole clip, so motion and appearance are sampled jointly (a per-frame image model could not keep a digit's identity).

# %%
genlab.seed_everything(SEED)
vae = VideoVAE(frames=8, latent=32, width=8, seed=SEED)
t0 = time.time()
vae_history = train_video_vae(vae, train_clips[:, :8], steps=VAE_STEPS, batch_size=32, lr=2e-3, seed=SEED)
print(f"video VAE trained in {time.time() - t0:.0f} s: negative ELBO {vae_history[0]:.0f} -> {np.mean(vae_history[-10:]):.0f} nats per clip")
samples = vae.sample(N_TEST, seed=SEED)[..., 0]
display(animate([samples[i] for i in range(6)], titles=[f"sample {i}" for i in range(6)]))

# %% [markdown]
# **A Fréchet distance for clips** (the idea of FVD, Unterthiner et al., 2018, which uses an action-recognition network, I3D). Our extractor is the course's digits
# classifier (`genlab.video.clip_features`): each frame pooled to 8x8 and embedded, a clip summarised by its mean feature (appearance) and its mean absolute feature change
# (motion). Two sets of **real** held-out clips give the **floor**: the distance that sampling noise alone produces at this sample size; a generator is judged against it,
# never against 0. A "generator" that outputs a static real frame shows what the motion half of the features adds.

# %%
half = len(test_clips) // 2
real_a, real_b = test_clips[:half, :8], test_clips[half:2 * half, :8]
feat_a, feat_b = clip_features(real_a), clip_features(real_b)
fd_gen = frechet_distance(clip_features(samples[:half]), feat_a)
fd_floor = frechet_distance(feat_b, feat_a)
fd_static = frechet_distance(clip_features(np.repeat(real_b[:, :1], 8, axis=1)), feat_a)
print(f"clip FD ({half} clips each): generator {fd_gen:.2f}, static real frames {fd_static:.2f}, real vs. real floor {fd_floor:.2f}")
report("video/generator_fd", fd_gen)
report("video/fd_floor", fd_floor)

# %% [markdown]
# **Reading it.** A VAE this small, trained for minutes, draws blurry clips with the right kind of motion; its FD is far above the floor, which is the honest result.
# What closes the gap at scale is the recipe of section 6: a latent space from a video autoencoder, and a diffusion (or flow-matching) transformer over spacetime patches.

# %% [markdown]
# ## 6. Video diffusion, super-resolution and restoration in outline · 视频扩散、超分与修复
#
# - **Video diffusion** (Ho et al., 2022; Stable Video Diffusion, 2023): the denoiser of chapter 04 sees a whole clip; early models *inflate* a pre-trained image U-Net
#   with temporal layers (temporal attention or 1-D temporal convolutions after each spatial block), trained first on images, then on video.
# - **Sora-style models** (OpenAI's 2024 technical report; open ones: CogVideoX, HunyuanVideo, Wan): a **video VAE** compresses space *and* time (e.g. 8x8 in space,
#   4x in time); the latent video is cut into **spacetime patches** (Exercise 1) and a diffusion transformer (DiT) with full 3-D attention denoises all tokens jointly,
#   conditioned on text. Variable durations, resolutions and aspect ratios are just different token counts. Cost grows with the token count squared, hence the latent space.
# - **Super-resolution**: single-image SR per frame flickers (section 1); video SR aligns neighbouring frames first (flow warping as in section 3, or deformable
#   convolutions: EDVR, BasicVSR), then fuses them, recovering detail that no single frame holds.
# - **Restoration**: denoising, deblurring, compression-artefact removal, inpainting/object removal (flow-guided propagation of pixels from other frames:
#   E2FGVI, ProPainter), old-film restoration; the same ingredients: alignment, temporal fusion, a consistency check.
# - **Deepfake detection basics**: look for temporal inconsistencies (blending boundaries, flicker around a swapped face, lip-sync mismatch), frequency artefacts,
#   physiological signals; detectors overfit to one generator, so provenance (C2PA content credentials, watermarks) complements them.

# %% [markdown]
# ## 7. What the seeds got wrong · 题库答案纠错
#
# - **S001-Q16** builds its "video generation model" as `Model(inputs=audio_input, outputs=TimeDistributed(Conv3D(...))(audio_input))`: `audio_input` is never defined
#   (`NameError`), `TimeDistributed(Conv3D)` needs 6-D input although a video batch is 5-D `(N, T, H, W, C)`, and nothing is generated (no noise or condition, no output
#   video, `binary_crossentropy` with no target). Use `Conv3D` directly on `(N, T, H, W, C)` (section 5), or a recurrent model over frames (section 2).
# - **S000-Q5** answers every task (generation, enhancement, super-resolution, restoration) with "GAN, VAE" and "learn the mapping"; it never mentions what makes video
#   video: motion, alignment (optical flow), temporal consistency. Its "DLSR" model does not exist: real video SR models are named above.
# - Its example GAN trains a generator of single images and calls it video generation: a per-frame image generator gives unrelated frames, not a clip.
#
# ## 8. Interview questions · 面试问答
#
# 1. 为什么逐帧使用图像模型会闪烁？如何度量？/ Why do per-frame image models flicker, and how do you measure it? (Independent errors per frame; warping error with an occlusion mask, next to a quality metric.)
# 2. 什么是 teacher forcing？评估预测模型时为什么必须关掉？/ What is teacher forcing and why must it be off when evaluating a predictor? (The future is unknown at test time; error compounds.)
# 3. 前向扭曲与反向扭曲的区别？/ Forward vs. backward warping? (Backward: one read per output pixel, no holes, differentiable with bilinear sampling.)
# 4. Sora 如何处理不同时长和分辨率的视频？/ How does a Sora-style model handle different durations and resolutions? (Spacetime patches of a latent video: just more or fewer tokens.)
# 5. 视频生成的 FVD 是什么？为什么要报告真实数据的下限？/ What is FVD, and why report a real-vs-real floor? (Fréchet distance of clip features; it is biased at finite sample size.)
