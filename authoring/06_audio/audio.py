# %% [markdown]
# # Chapter 06 · Audio: signals, WaveNet, enhancement, recognition and codec tokens · 音频：信号、WaveNet、语音增强、语音识别与编解码器 token
#
# **What you will be able to answer in an interview / 学完本章你能回答：**
#
# - What do the sampling rate, aliasing and the STFT's window and hop do, and how is a (log-)mel spectrogram built from it? / 采样率、混叠、STFT 的窗与帧移各起什么作用？梅尔谱如何计算？
# - What does mu-law companding buy an 8-bit autoregressive model, and what is WaveNet really (dilated causal convolutions, not an RNN)? / mu-law 压扩为 8 比特自回归模型带来了什么？WaveNet 到底是什么结构？
# - How large is the receptive field of a stack of dilated convolutions, and why is sample-by-sample generation slow? / 空洞卷积堆叠的感受野多大？为什么逐样本生成很慢？
# - How does a mask-based speech enhancer work, and why is SI-SDR (not SNR) the usual score? / 基于掩码的语音增强如何工作？为什么用 SI-SDR 而不是 SNR 评估？
# - What does CTC do for speech recognition, how does greedy decoding collapse its output, and how does it compare with attention and transducer models? / CTC 如何用于语音识别？贪心解码如何合并输出？与注意力模型、RNN-T 有何区别？
# - What are neural audio codecs (SoundStream, EnCodec) and residual vector quantisation, and how do MusicGen and AudioGen generate audio from their tokens? / 神经音频编解码器与残差矢量量化是什么？MusicGen/AudioGen 如何基于 token 生成音频？
#
# Seeds covered: S000-Q4, S001-Q15 and S003-Q6 (audio: speech synthesis, enhancement, music generation, restoration), S001-Q24 (speech recognition), S004 ch.5 and A.2 (WaveNet, Tacotron 2, voice conversion, music generation, tools). The seeds get audio more wrong than any other topic (WaveNet called an RNN text tool, MusicGen and AudioGen called a GAN and a VAE, invented model names); section 10 lists the errors and the corrections.
#
# This notebook uses **{{framework}}**; its twin uses the other framework with the same exercises and the same tests.

# %% [markdown]
# ## 1. The maths, short · 数学推导
#
# * **Sampling.** A signal sampled at $f_s$ Hz represents frequencies up to the Nyquist frequency $f_s/2$; a component at $f > f_s/2$ *aliases*
#   to $|f - k f_s|$ for the nearest integer $k$ (a 3 kHz tone sampled at 4 kHz sounds at 1 kHz). Telephone speech uses 8 kHz (content up to 4 kHz), music 44.1 or 48 kHz.
# * **STFT.** Frames of $N$ samples (`n_fft`), every $H$ samples (`hop`), multiplied by a window $w$ (periodic Hann) and Fourier-transformed:
#   $X[m, k] = \sum_{n=0}^{N-1} x[mH + n - N/2]\, w[n]\, e^{-2\pi i k n / N}$, $k = 0..N/2$ (a real signal's spectrum is symmetric). "Centred" frames pad $N/2$ zeros at each end.
#   Bin $k$ sits at $k f_s / N$ Hz; a longer window resolves frequency better and time worse.
# * **Mel scale** (HTK form): $m(f) = 2595 \log_{10}(1 + f/700) = 1127 \ln(1 + f/700)$ (the two constants go with the two bases: $2595 \approx 1127 \ln 10$). A **mel filterbank** has
#   $M$ triangles whose corners are $M + 2$ points equally spaced in mel between $f_{\min}$ and $f_{\max}$, converted back to Hz: filter $i$ rises from $f_{i}$ to $f_{i+1}$ and falls to $f_{i+2}$.
#   With **Slaney normalisation** each triangle is scaled by $2 / (f_{i+2} - f_{i})$ so that it has unit **area** (in Hz), not unit peak: wide high-frequency filters do not dominate.
#   Log-mel $= \log(\text{filterbank} \cdot |X|^2 + \epsilon)$: the input of nearly every speech model.
# * **mu-law** (ITU-T G.711): $F(x) = \operatorname{sign}(x)\,\frac{\ln(1 + \mu |x|)}{\ln(1 + \mu)}$, $x \in [-1, 1]$, $\mu = 255$, then uniform quantisation of $F(x) \in [-1, 1]$ to $\mu + 1 = 256$ levels.
#   Small amplitudes get fine steps, loud ones coarse: 8 bits sound like about 13 linear bits. WaveNet predicts the next sample as a 256-way softmax over these levels.
# * **WaveNet** (van den Oord et al., 2016): $p(x) = \prod_t p(x_t \mid x_{<t}, c)$ with a stack of **dilated causal convolutions**. A layer with kernel $K$ and dilation $d$ sees $(K-1)d$ past samples more;
#   the receptive field of the stack is $1 + \sum_\ell (K - 1) d_\ell$ samples. Gated units $\tanh(W_f * x + V_f c) \odot \sigma(W_g * x + V_g c)$, residual and skip connections, a global conditioning vector $c$ (speaker, or here the note).
# * **SI-SDR** (Le Roux et al., 2019): with zero-mean signals, project the estimate on the reference, $\alpha = \langle \hat s, s\rangle / \|s\|^2$, and
#   $\text{SI-SDR} = 10 \log_{10} \frac{\|\alpha s\|^2}{\|\hat s - \alpha s\|^2}$ dB: a rescaled estimate scores the same, unlike the SNR.
# * **CTC** (Graves et al., 2006): the network emits, per frame, a distribution over the labels plus a **blank**. A frame-level path maps to a label sequence by
#   *merging repeats, then removing blanks* ($\text{aa-ab-} \to \text{aab}$: the blank separates the two a's). The loss sums the probabilities of all paths that map to the target (a forward algorithm);
#   greedy decoding takes the best label per frame and applies the same collapse.
# * **Residual vector quantisation** (SoundStream, Zeghidour et al., 2021; EnCodec, Défossez et al., 2022): stage 1 quantises a vector to its nearest codeword, stage $s$ quantises the **residual** left by stages $1..s-1$;
#   $S$ codebooks of $K$ entries give $S \log_2 K$ bits per frame, and dropping the later stages lowers the bitrate gracefully.

# %% only=torch
import math
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from IPython.display import Audio, Markdown, display

import genlab
from genlab import audio as A
from genlab import pick, report
from genlab.text import time_budget
from genlab.torch import device, to_labels, to_numpy, to_tensor
from genlab.torch.audio import CTCNet, MaskNet, WaveNet, count_params, istft, stft

SEED = 0
QUICK = genlab.is_quick()  # GENLAB_QUICK=1: small, fast runs (tests and grading)
DEVICE = device()          # CUDA when present, else CPU
if DEVICE.type == "cpu":
    torch.set_num_threads(1 if QUICK else 2)
genlab.seed_everything(SEED)
print(f"PyTorch {torch.__version__} on {DEVICE}; QUICK={QUICK}")

# %% only=tf
import math
import time

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from IPython.display import Audio, Markdown, display

import genlab
from genlab import audio as A
from genlab import pick, report
from genlab.text import time_budget
from genlab.tf import device, to_labels, to_numpy, to_tensor
from genlab.tf.audio import CTCNet, MaskNet, WaveNet, count_params, istft, stft

SEED = 0
QUICK = genlab.is_quick()  # GENLAB_QUICK=1: small, fast runs (tests and grading)
DEVICE = device()          # '/GPU:0' when TensorFlow sees a GPU, else '/CPU:0'
genlab.seed_everything(SEED)
print(f"TensorFlow {tf.__version__} (Keras {keras.__version__}) on {DEVICE}; QUICK={QUICK}")

# %% [markdown]
# **The knobs, in one place.** QUICK mode (the tests and the grader) shrinks step counts and data sizes, never the models' shapes or learning rates,
# so a QUICK run exercises exactly the code of a full run; its numbers are not the chapter's figures.

# %%
SR, MUSIC_SR = A.SAMPLE_RATE, A.MUSIC_RATE   # 8 kHz speech, 4 kHz music
N_FFT, HOP = 256, 64                         # 32 ms windows every 8 ms at 8 kHz
WAVENET_STEPS, WAVENET_SECONDS = pick(800, 3), pick(240, 10)
GEN_NOTES, GEN_SAMPLES = pick(16, 2), pick(1600, 40)   # generated notes and samples per note (0.4 s at 4 kHz)
ENH_STEPS, ENH_SECONDS = pick(1500, 3), pick(180, 10)
CTC_STEPS, CTC_SECONDS = pick(400, 3), pick(180, 10)
N_TRAIN_STRINGS, N_TEST_STRINGS = pick(1500, 32), pick(200, 8)
RVQ_STAGES, RVQ_K = 8, 64

# %% [markdown]
# ## 2. Data · 数据
#
# * **Spoken digits** (`datasets/spoken_digits.npz`, datasheet `datasets/spoken_digits.md`): "zero" to "nine" synthesised once by the espeak-ng text-to-speech engine
#   with 20 voices (an accent times a voice variant), two speeds and two pitches, resampled to 8 kHz, 800 utterances. The 4 **test voices** share neither accent nor variant
#   with the 16 training voices: every figure on them is about unseen speakers. Digit strings for recognition are made by concatenating utterances of one voice with short pauses;
#   noisy copies at a chosen SNR add white noise, babble (other utterances mixed together) or 50 Hz mains hum.
# * **Music** (`genlab.audio.note_set`, `chord`, `melody`): notes C4-C5 in three timbres (a sine, an "organ" with four harmonics, a "reed" with odd harmonics) with an attack and a decay,
#   synthesised at 4 kHz from a fixed seed. Datasheet: `datasets/music_notes.md`.

# %%
train_digits, test_digits = A.load_digits("train"), A.load_digits("test")
print(f"{len(train_digits)} training utterances ({len(set(train_digits.voice))} voices), {len(test_digits)} test utterances "
      f"({len(set(test_digits.voice))} held-out voices: {sorted({test_digits.voice_names[v] for v in test_digits.voice})})")
durations = np.array([len(c) for c in train_digits.clips]) / SR
print(f"utterance length {durations.min():.2f}-{durations.max():.2f} s (mean {durations.mean():.2f} s)")
waves, wave_lens, labels, label_lens = A.digit_strings(test_digits, 1, seed=3)
print("a test digit string:", " ".join(A.WORDS[d] for d in labels[0, :label_lens[0]]))
display(Audio(waves[0, :wave_lens[0]], rate=SR))
note_demo, _ = A.melody(8, seed=1)
print("a melody from the music set (4 kHz):")
display(Audio(note_demo, rate=MUSIC_SR))

# %% [markdown]
# ## 3. Sampling, aliasing and the STFT · 采样、混叠与短时傅里叶变换
#
# A 1 kHz tone and a 3 kHz tone, both sampled at 4 kHz, give **the same samples** (up to sign): above the Nyquist frequency (2 kHz) the 3 kHz tone folds back to 1 kHz.
# This is why audio is low-pass filtered before it is downsampled (the resampler in `tools/make_spoken_digits.py` does it), and why an image-style
# "nearest-neighbour downsampling" of audio sounds metallic.

# %%
t_fine = np.arange(0, 0.003, 1 / 200_000)
t_s = np.arange(0, 0.003, 1 / MUSIC_SR)
fig, ax = plt.subplots(figsize=(9, 2.6))
ax.plot(t_fine * 1000, np.cos(2 * np.pi * 1000 * t_fine), label="1 kHz")
ax.plot(t_fine * 1000, np.cos(2 * np.pi * 3000 * t_fine), alpha=0.6, label="3 kHz")
ax.plot(t_s * 1000, np.cos(2 * np.pi * 3000 * t_s), "ko", label="3 kHz sampled at 4 kHz")
ax.set_xlabel("ms")
ax.legend(loc="upper right", fontsize=8)
ax.set_title("aliasing: the samples of the 3 kHz tone lie on the 1 kHz tone")
plt.show()
tone_3k = np.cos(2 * np.pi * 3000 * np.arange(MUSIC_SR) / MUSIC_SR).astype(np.float32) * 0.3
print("a '3 kHz' tone sampled at 4 kHz (you hear 1 kHz):")
display(Audio(tone_3k, rate=MUSIC_SR))

# %% [markdown]
# **The STFT by hand.** Pad $N/2$ zeros at each end, cut frames of $N$ samples every $H$, multiply by the periodic Hann window $w[n] = \tfrac12 - \tfrac12\cos(2\pi n/N)$,
# take the real FFT of each frame. Below: the same with the framework's own op ({{framework}}: `torch.stft` / `tf.signal.stft`) and with `librosa.stft`,
# which use the same conventions when asked (`center=True`, `pad_mode="constant"`).

# %% only=torch
def stft_by_hand(x, n_fft=N_FFT, hop=HOP):
    """x (B, T) -> complex (B, frames, n_fft // 2 + 1): centred frames, periodic Hann window, real FFT."""
    xp = F.pad(x, (n_fft // 2, n_fft // 2))
    n_frames = 1 + (xp.shape[-1] - n_fft) // hop
    idx = torch.arange(n_fft)[None, :] + hop * torch.arange(n_frames)[:, None]   # (frames, n_fft)
    window = 0.5 - 0.5 * torch.cos(2 * math.pi * torch.arange(n_fft) / n_fft)
    return torch.fft.rfft(xp[:, idx] * window, dim=-1)

# %% only=tf
def stft_by_hand(x, n_fft=N_FFT, hop=HOP):
    """x (B, T) -> complex (B, frames, n_fft // 2 + 1): centred frames, periodic Hann window, real FFT."""
    xp = tf.pad(x, [[0, 0], [n_fft // 2, n_fft // 2]])
    n_frames = 1 + (xp.shape[-1] - n_fft) // hop
    idx = tf.range(n_fft)[None, :] + hop * tf.range(n_frames)[:, None]            # (frames, n_fft)
    window = 0.5 - 0.5 * tf.cos(2 * math.pi * tf.range(n_fft, dtype=tf.float32) / n_fft)
    return tf.signal.rfft(tf.gather(xp, idx, axis=1) * window)

# %%
import librosa  # noqa: E402  (used for cross-checks only; it downloads nothing)

speech = waves[:1, : wave_lens[0]]
ours = to_numpy(stft_by_hand(to_tensor(speech)))[0]
framework_op = to_numpy(stft(to_tensor(speech), N_FFT, HOP))[0]
lib = librosa.stft(speech[0], n_fft=N_FFT, hop_length=HOP, window="hann", center=True, pad_mode="constant").T
scale = np.abs(lib).max()
stft_err = np.abs(ours - lib).max() / scale
print(f"STFT by hand vs the framework's op: {np.abs(ours - framework_op).max() / scale:.2e}; vs librosa: {stft_err:.2e} "
      "(largest difference / largest magnitude)")
report("audio/stft_rel_err_librosa", stft_err)

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.2))
axes[0].plot(np.arange(len(speech[0])) / SR, speech[0], lw=0.5)
axes[0].set_xlabel("s")
axes[0].set_title("waveform")
axes[1].imshow(20 * np.log10(np.abs(ours.T) + 1e-4), origin="lower", aspect="auto", cmap="magma",
               extent=[0, len(speech[0]) / SR, 0, SR / 2])
axes[1].set_xlabel("s")
axes[1].set_ylabel("Hz")
axes[1].set_title("|STFT| in dB (n_fft 256, hop 64)")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 4. The mel filterbank · 梅尔滤波器组
#
# ### Exercise 1 · `hz_to_mel`, `mel_to_hz` and `mel_filterbank` (3 points)
# * `hz_to_mel(f)`: the HTK mel scale $2595\log_{10}(1 + f/700)$ of a tensor of frequencies; `mel_to_hz(m)` its inverse.
# * `mel_filterbank(sr, n_fft, n_mels, fmin=0.0, fmax=None)`: a float32 tensor of shape `(n_mels, n_fft // 2 + 1)`. The FFT bins sit at `linspace(0, sr / 2, n_fft // 2 + 1)`;
#   `fmax=None` means `sr / 2`. Take `n_mels + 2` points equally spaced **in mel** from `hz_to_mel(fmin)` to `hz_to_mel(fmax)`, convert them to Hz ($f_0 < f_1 < \dots$);
#   filter $i$ is the triangle $\max\big(0, \min\big(\frac{f - f_i}{f_{i+1} - f_i}, \frac{f_{i+2} - f}{f_{i+2} - f_{i+1}}\big)\big)$, scaled by $2 / (f_{i+2} - f_i)$ (Slaney's unit-area normalisation).
#   This is `librosa.filters.mel(..., htk=True, norm="slaney")`.
#
# **What you may use:** {{framework}} tensor operations. Library filterbanks (`librosa.filters.mel`, `tf.signal.linear_to_mel_weight_matrix`) are hidden while the chapter is graded.
# Compute in float64 and return float32 (the edges of narrow filters are sensitive to rounding).

# %% solution id=audio_mel_spectrogram only=torch
def hz_to_mel(f):
    """HTK mel scale of a tensor of frequencies in Hz."""
    ### BEGIN SOLUTION
    return 2595.0 * torch.log10(1.0 + f / 700.0)
    ### END SOLUTION


def mel_to_hz(m):
    """Inverse of hz_to_mel."""
    ### BEGIN SOLUTION
    return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    ### END SOLUTION


def mel_filterbank(sr, n_fft, n_mels, fmin=0.0, fmax=None):
    """(n_mels, n_fft // 2 + 1) float32: triangles equally spaced on the HTK mel scale, each of unit area (Slaney)."""
    ### BEGIN SOLUTION
    fmax = sr / 2 if fmax is None else fmax
    lo, hi = hz_to_mel(torch.tensor(float(fmin), dtype=torch.float64)), hz_to_mel(torch.tensor(float(fmax), dtype=torch.float64))
    edges = mel_to_hz(torch.linspace(0.0, 1.0, n_mels + 2, dtype=torch.float64) * (hi - lo) + lo)  # (n_mels + 2,) in Hz
    freqs = torch.linspace(0.0, sr / 2, n_fft // 2 + 1, dtype=torch.float64)
    rising = (freqs[None, :] - edges[:-2, None]) / (edges[1:-1, None] - edges[:-2, None])
    falling = (edges[2:, None] - freqs[None, :]) / (edges[2:, None] - edges[1:-1, None])
    fb = torch.clamp(torch.minimum(rising, falling), min=0.0)
    fb = fb * (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return fb.to(torch.float32)
    ### END SOLUTION

# %% solution id=audio_mel_spectrogram only=tf
def hz_to_mel(f):
    """HTK mel scale of a tensor of frequencies in Hz."""
    ### BEGIN SOLUTION
    return 2595.0 * tf.math.log(1.0 + f / 700.0) / math.log(10.0)
    ### END SOLUTION


def mel_to_hz(m):
    """Inverse of hz_to_mel."""
    ### BEGIN SOLUTION
    return 700.0 * (tf.pow(tf.constant(10.0, m.dtype), m / 2595.0) - 1.0)
    ### END SOLUTION


def mel_filterbank(sr, n_fft, n_mels, fmin=0.0, fmax=None):
    """(n_mels, n_fft // 2 + 1) float32: triangles equally spaced on the HTK mel scale, each of unit area (Slaney)."""
    ### BEGIN SOLUTION
    fmax = sr / 2 if fmax is None else fmax
    lo, hi = hz_to_mel(tf.constant(float(fmin), tf.float64)), hz_to_mel(tf.constant(float(fmax), tf.float64))
    edges = mel_to_hz(tf.linspace(tf.constant(0.0, tf.float64), 1.0, n_mels + 2) * (hi - lo) + lo)  # (n_mels + 2,) in Hz
    freqs = tf.linspace(tf.constant(0.0, tf.float64), sr / 2, n_fft // 2 + 1)
    rising = (freqs[None, :] - edges[:-2, None]) / (edges[1:-1, None] - edges[:-2, None])
    falling = (edges[2:, None] - freqs[None, :]) / (edges[2:, None] - edges[1:-1, None])
    fb = tf.maximum(tf.minimum(rising, falling), 0.0)
    fb = fb * (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return tf.cast(fb, tf.float32)
    ### END SOLUTION

# %% test id=audio_mel_spectrogram_test points=3
"""hz_to_mel, mel_to_hz, mel_filterbank: the HTK mel scale and a Slaney-normalised triangular filterbank.

Catches: 2595 with the natural log or 1127 with log10 (constant and base mismatched); an inverse that does not invert;
filters normalised to unit peak, to unit sum or by the wrong width; corners spaced linearly in Hz instead of in mel;
FFT bins placed up to sr instead of sr/2; fmax ignored or defaulting to sr; fmin ignored; the wrong shape.
"""
import numpy as np
from genlab.testing import assert_close, assert_tensor
from genlab.fw import to_tensor as T

assert_close(hz_to_mel(T(np.array([0.0, 700.0, 1000.0, 4000.0]))), [0.0, 781.172838748, 999.9855371396, 2146.0645275062],
             "hz_to_mel of 0, 700, 1000 and 4000 Hz", rtol=1e-5)
assert_close(mel_to_hz(T(np.array([500.0, 1500.0, 2146.06]))), [390.8782111309, 1949.3096543148, 3999.9811185925],
             "mel_to_hz of 500, 1500 and 2146.06 mel", rtol=1e-5)
assert_close(mel_filterbank(8000, 16, 3), [
    [0.0, 0.0016042926, 0.0002975158, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    [0.0, 0.0001188433, 0.0009306479, 0.000725976, 0.0002216614, 0.0, 0.0, 0.0, 0.0],
    [0.0, 0.0, 0.0, 0.0002419656, 0.0005552593, 0.000583879, 0.0003892527, 0.0001946263, 0.0]],
    "mel_filterbank(8000, 16, 3)", atol=1e-9, rtol=1e-5)
assert_close(mel_filterbank(8000, 16, 3, fmin=300.0, fmax=3000.0), [
    [0.0, 0.0011194053, 0.0009021091, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    [0.0, 0.0, 0.0009109954, 0.0009814203, 0.0, 0.0, 0.0, 0.0, 0.0],
    [0.0, 0.0, 0.0, 0.0004182062, 0.0010906997, 0.0005453499, 0.0, 0.0, 0.0]],
    "mel_filterbank(8000, 16, 3, fmin=300, fmax=3000)", atol=1e-9, rtol=1e-5)
### BEGIN HIDDEN TESTS


def _mel_oracle(sr, n_fft, n_mels, fmin=0.0, fmax=None):
    fmax = sr / 2 if fmax is None else fmax
    m = np.linspace(1127.0 * np.log1p(fmin / 700.0), 1127.0 * np.log1p(fmax / 700.0), n_mels + 2)
    f = 700.0 * np.expm1(m / 1127.0)
    bins = np.linspace(0.0, sr / 2, n_fft // 2 + 1)
    out = np.zeros((n_mels, len(bins)))
    for i in range(n_mels):
        up = (bins - f[i]) / (f[i + 1] - f[i])
        down = (f[i + 2] - bins) / (f[i + 2] - f[i + 1])
        out[i] = np.maximum(0.0, np.minimum(up, down)) * 2.0 / (f[i + 2] - f[i])
    return out


rng = np.random.default_rng(6060)
f = rng.uniform(0.0, 20000.0, size=(3, 7))
assert_close(hz_to_mel(T(f)), 1127.0 * np.log1p(f / 700.0), "hz_to_mel of random frequencies (3, 7)", rtol=1e-5, atol=1e-3)
m = rng.uniform(0.0, 3500.0, size=(11,))
assert_close(mel_to_hz(T(m)), 700.0 * np.expm1(m / 1127.0), "mel_to_hz of random mels", rtol=1e-4, atol=1e-2)
assert_close(mel_to_hz(hz_to_mel(T(f))), f, "mel_to_hz(hz_to_mel(f))", rtol=1e-4, atol=1e-2)
for sr, n_fft, n_mels, fmin, fmax in [(8000, 256, 40, 0.0, None), (16000, 512, 64, 20.0, 7600.0), (22050, 1024, 80, 0.0, 8000.0),
                                      (8000, 64, 5, 100.0, None), (4000, 128, 12, 50.0, 1800.0)]:
    fb = mel_filterbank(sr, n_fft, n_mels, fmin, fmax) if fmax is not None else mel_filterbank(sr, n_fft, n_mels, fmin)
    want = _mel_oracle(sr, n_fft, n_mels, fmin, fmax)
    got = assert_close(fb, want, f"mel_filterbank({sr}, {n_fft}, {n_mels}, fmin={fmin}, fmax={fmax})",
                       atol=1e-6 * float(want.max()), rtol=1e-4)
    # unit area: the filters' integrals over frequency (trapezoid on the bin grid) are close to 1 where bins are dense
    area = got.sum(1) * (sr / n_fft)
    if n_fft >= 512:
        assert np.all(np.abs(area[n_mels // 2:] - 1.0) < 0.05), f"filter areas {area[n_mels // 2:]} are not about 1 (Slaney norm)"
assert_tensor(mel_filterbank(8000, 64, 5), "mel_filterbank")
assert np.asarray(mel_filterbank(8000, 64, 5)).dtype == np.float32, "mel_filterbank must return float32"
# an odd sampling rate: the Nyquist frequency is sr / 2, not sr // 2
for sr, n_fft, n_mels in [(1001, 64, 6), (11025, 256, 20)]:
    want = _mel_oracle(sr, n_fft, n_mels)
    assert_close(mel_filterbank(sr, n_fft, n_mels), want, f"mel_filterbank({sr}, {n_fft}, {n_mels}) (an odd sampling rate)", atol=1e-6 * float(want.max()), rtol=1e-4)
# the mel conversions return float32 framework tensors for float32 input
for name, fn in [("hz_to_mel", hz_to_mel), ("mel_to_hz", mel_to_hz)]:
    out = fn(T(np.array([440.0, 1000.0])))
    assert_tensor(out, name)
    assert np.asarray(out).dtype == np.float32, f"{name} must return float32 for float32 input"
### END HIDDEN TESTS

# %% [markdown]
# The filterbank and the log-mel spectrogram of the speech above, checked against librosa (`librosa.feature.melspectrogram` with `htk=True`, `norm="slaney"`, power 2).
# The triangles widen with frequency (equal steps in mel are wider steps in Hz) while their heights fall: each has unit area.

# %%
def log_mel(power_spec, fb, eps=1e-6):
    """power (B, frames, bins) and a filterbank (mels, bins) -> log-mel (B, frames, mels)."""
    return np.log(np.asarray(power_spec) @ np.asarray(fb).T + eps)


fb40 = to_numpy(mel_filterbank(SR, N_FFT, 40))
power = np.abs(ours) ** 2
mel_ours = power @ fb40.T
try:
    mel_lib = librosa.feature.melspectrogram(y=speech[0], sr=SR, n_fft=N_FFT, hop_length=HOP, n_mels=40, htk=True, norm="slaney",
                                             power=2.0, center=True, pad_mode="constant").T
    mel_err = np.abs(mel_ours - mel_lib).max() / np.abs(mel_lib).max()
    print(f"mel spectrogram (our STFT + your filterbank) vs librosa: {mel_err:.2e} of the largest value")
    report("audio/mel_rel_err_librosa", mel_err)
except RuntimeError as err:  # while the chapter is graded, librosa's filterbank is hidden
    print("librosa's mel filterbank is not available here:", str(err)[:80])
fig, axes = plt.subplots(1, 2, figsize=(11, 3.2))
axes[0].plot(np.linspace(0, SR / 2, N_FFT // 2 + 1), fb40[::3].T)
axes[0].set_xlabel("Hz")
axes[0].set_title("every third of 40 mel filters (unit area)")
axes[1].imshow(np.log(mel_ours.T + 1e-6), origin="lower", aspect="auto", cmap="magma", extent=[0, len(speech[0]) / SR, 0, 40])
axes[1].set_xlabel("s")
axes[1].set_ylabel("mel band")
axes[1].set_title("log-mel spectrogram")
plt.tight_layout()
plt.show()

# %% [markdown]
# **Griffin-Lim: hearing what a spectrogram keeps.** A magnitude spectrogram drops the phase. Griffin-Lim (1984) finds a waveform whose STFT magnitude matches:
# start from random phases, then repeat "inverse STFT, STFT, keep the new phase, restore the target magnitude". It is why early TTS sounded "phasey",
# and why neural vocoders (WaveNet, WaveRNN, HiFi-GAN) replaced it. Listen to the original and the reconstruction from the magnitude alone:

# %%
gl = A.griffin_lim(np.abs(ours), N_FFT, HOP, n_iter=pick(48, 4), length=len(speech[0]))
print(f"spectral convergence of the Griffin-Lim waveform: {A.spectral_convergence(speech[0], gl):.3f} (0 = the same magnitude)")
display(Audio(speech[0], rate=SR))
display(Audio(gl, rate=SR))

# %% [markdown]
# ## 5. mu-law companding · mu-law 压扩
#
# ### Exercise 2 · `mu_law_encode` and `mu_law_decode` (2 points)
# * `mu_law_encode(x, mu=255)`: `x` a float tensor in $[-1, 1]$ (clip values outside); return the **int64** classes $\lfloor \frac{F(x) + 1}{2}\mu + \frac12 \rfloor \in \{0, \dots, \mu\}$ with
#   $F(x) = \operatorname{sign}(x) \ln(1 + \mu|x|) / \ln(1 + \mu)$ (so silence is class 128 for $\mu = 255$).
# * `mu_law_decode(q, mu=255)`: integer classes back to floats: $y = 2q/\mu - 1$, then $x = \operatorname{sign}(y)\,\big((1 + \mu)^{|y|} - 1\big)/\mu$.
#
# The WaveNet below reads its training targets through your encoder, and you will listen to its samples through your decoder.

# %% solution id=audio_mu_law only=torch
def mu_law_encode(x, mu=255):
    """Floats in [-1, 1] -> int64 classes 0..mu."""
    ### BEGIN SOLUTION
    x = torch.clamp(x, -1.0, 1.0)
    y = torch.sign(x) * torch.log1p(mu * torch.abs(x)) / math.log1p(mu)
    return torch.floor((y + 1.0) / 2.0 * mu + 0.5).to(torch.int64)
    ### END SOLUTION


def mu_law_decode(q, mu=255):
    """int classes 0..mu -> floats in [-1, 1]."""
    ### BEGIN SOLUTION
    y = 2.0 * q.to(torch.float32) / mu - 1.0
    return torch.sign(y) * ((1.0 + mu) ** torch.abs(y) - 1.0) / mu
    ### END SOLUTION

# %% solution id=audio_mu_law only=tf
def mu_law_encode(x, mu=255):
    """Floats in [-1, 1] -> int64 classes 0..mu."""
    ### BEGIN SOLUTION
    x = tf.clip_by_value(x, -1.0, 1.0)
    y = tf.sign(x) * tf.math.log1p(mu * tf.abs(x)) / math.log1p(mu)
    return tf.cast(tf.floor((y + 1.0) / 2.0 * mu + 0.5), tf.int64)
    ### END SOLUTION


def mu_law_decode(q, mu=255):
    """int classes 0..mu -> floats in [-1, 1]."""
    ### BEGIN SOLUTION
    y = 2.0 * tf.cast(q, tf.float32) / mu - 1.0
    return tf.sign(y) * (tf.pow(1.0 + mu, tf.abs(y)) - 1.0) / mu
    ### END SOLUTION

# %% test id=audio_mu_law_test points=2
"""mu_law_encode / mu_law_decode: G.711-style companding with mu levels plus one, rounding, clipping, exact inversion.

Catches: the sign dropped (in the encoder or the decoder); mu off by one (ln(mu) instead of ln(1 + mu), 256 levels for
mu = 255, mu ** |y| in the decoder); truncation instead of rounding; no clipping of values outside [-1, 1]; float
classes instead of integers; a decoder that does not invert the encoder to within one quantisation step.
"""
import numpy as np
from genlab.testing import assert_close, assert_tensor
from genlab.fw import to_labels, to_tensor as T

assert_close(mu_law_encode(T(np.array([-1.0, -0.5, -0.01, 0.0, 0.01, 0.5, 1.0]))), [0, 16, 98, 128, 157, 239, 255],
             "mu_law_encode of -1, -0.5, -0.01, 0, 0.01, 0.5, 1")
assert_close(mu_law_encode(T(np.array([-0.3, 0.2, 0.81, 1.5])), mu=15), [3, 11, 14, 15], "mu_law_encode with mu = 15 (1.5 is clipped to 1)")
assert_close(mu_law_decode(to_labels(np.array([0, 64, 128, 200, 255]))), [-1.0, -0.0581450039, 0.0000862116, 0.0878802262, 1.0],
             "mu_law_decode of 0, 64, 128, 200, 255", atol=1e-6)
### BEGIN HIDDEN TESTS


def _enc(x, mu):
    x = np.clip(x, -1, 1)
    return np.floor((np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu) + 1) / 2 * mu + 0.5)


def _dec(q, mu):
    y = 2 * np.asarray(q, dtype=float) / mu - 1
    return np.sign(y) * ((1 + mu) ** np.abs(y) - 1) / mu


rng = np.random.default_rng(2711)
for mu, shape in [(255, (4, 50)), (15, (200,)), (1023, (3, 2, 9))]:
    x = np.tanh(rng.normal(size=shape) * 0.5)
    code = mu_law_encode(T(x), mu=mu)
    want = _enc(x, mu)
    got = np.asarray(code)
    # float32 rounding may move a value lying on a level boundary by one class
    assert got.shape == want.shape, f"mu_law_encode(mu={mu}) returned shape {got.shape}, expected {want.shape}"
    assert np.mean(got != want) < 0.01 and np.abs(got - want).max() <= 1, \
        f"mu_law_encode(mu={mu}) disagrees with the G.711 formula on {np.mean(got != want):.1%} of random inputs"
    assert np.issubdtype(got.dtype, np.integer), f"mu_law_encode must return integer classes, got {got.dtype}"
    assert_close(mu_law_decode(to_labels(want.astype(np.int64)), mu=mu), _dec(want, mu), f"mu_law_decode(mu={mu})", atol=1e-5, rtol=1e-4)
    # decode(encode(x)) is within half a quantisation step (in the companded domain) of x
    back = np.asarray(mu_law_decode(code, mu=mu))
    comp = lambda v: np.sign(v) * np.log1p(mu * np.abs(v)) / np.log1p(mu)  # noqa: E731
    assert np.abs(comp(back) - comp(x)).max() <= 1.0 / mu + 1e-5, f"decode(encode(x)) strays more than one step (mu={mu})"
assert_close(mu_law_encode(T(np.array([-3.0, 1.5, 7.0]))), [0, 255, 255], "values outside [-1, 1] are clipped")
q_all = np.arange(256)
assert_close(mu_law_encode(mu_law_decode(to_labels(q_all))), q_all, "encode(decode(q)) for every class q")
assert_tensor(mu_law_encode(T(np.zeros(3))), "mu_law_encode")
assert_tensor(mu_law_decode(to_labels(np.zeros(3, dtype=np.int64))), "mu_law_decode")
# rounding is floor(v + 1/2) (half up), not round-half-to-even: silence is class 3 for mu = 5 and 51 for mu = 101
assert_close(mu_law_encode(T(np.zeros(2)), mu=5), [3, 3], "mu_law_encode of silence with mu = 5 (floor(2.5 + 0.5) = 3)")
assert_close(mu_law_encode(T(np.zeros(1)), mu=101), [51], "mu_law_encode of silence with mu = 101 (floor(50.5 + 0.5) = 51)")
# int64 classes (cross-entropy targets) and float32 samples
assert np.asarray(mu_law_encode(T(np.zeros(3)))).dtype == np.int64, "mu_law_encode must return int64 classes"
assert np.asarray(mu_law_decode(to_labels(np.zeros(3, dtype=np.int64)))).dtype == np.float32, "mu_law_decode must return float32 samples"
### END HIDDEN TESTS

# %% [markdown]
# What 8 bits buy: quantise a quiet note (peak 0.05) to 256 levels, linearly and after mu-law, and compare the signal-to-quantisation-noise ratios.
# Linear steps of 2/255 are coarse next to a quiet signal; mu-law spends its levels where the samples are.

# %%
quiet = A.make_note(67, "organ", 0.5, MUSIC_SR, seed=5) * 0.05 / 0.9
lin = np.round((quiet + 1) / 2 * 255) / 255 * 2 - 1
mu_rt = to_numpy(mu_law_decode(mu_law_encode(to_tensor(quiet))))
snr = lambda ref, est: 10 * np.log10(np.sum(ref ** 2) / np.sum((ref - est) ** 2))  # noqa: E731
print(f"8-bit linear: SNR {snr(quiet, lin):.1f} dB; 8-bit mu-law: SNR {snr(quiet, mu_rt):.1f} dB")
xs = np.linspace(-1, 1, 401).astype(np.float32)
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(xs, to_numpy(mu_law_encode(to_tensor(xs))))
ax.set_xlabel("sample value")
ax.set_ylabel("class")
ax.set_title("mu-law: fine steps near zero")
plt.show()

# %% [markdown]
# ## 6. WaveNet · 扩张因果卷积生成音符
#
# ### Exercise 3 · `causal_pad` and `receptive_field` (2 points)
# * `causal_pad(x, kernel_size, dilation=1)`: `x` of shape `(B, T, C)` (batch, **time**, channels: the same layout in both frameworks here). Pad zeros on the time axis so that a
#   "valid" convolution with this kernel size and dilation returns `T` steps and output `t` depends on inputs `t - (K - 1)d, ..., t` only: all the padding goes **before** the signal.
# * `receptive_field(kernel_size, dilations)`: how many input samples one output of a stack of such layers (one per dilation, the same kernel size) depends on: a plain int.
#
# The WaveNet in `genlab.{{fw}}.audio` calls your `causal_pad` before each of its dilated convolutions.

# %% solution id=audio_receptive_field only=torch
def causal_pad(x, kernel_size, dilation=1):
    """(B, T, C) -> (B, T + (kernel_size - 1) * dilation, C), zeros before the first step."""
    ### BEGIN SOLUTION
    return F.pad(x, (0, 0, (kernel_size - 1) * dilation, 0))
    ### END SOLUTION


def receptive_field(kernel_size, dilations):
    """Samples seen by one output of a stack of causal convolutions with these dilations."""
    ### BEGIN SOLUTION
    return 1 + sum((kernel_size - 1) * d for d in dilations)
    ### END SOLUTION

# %% solution id=audio_receptive_field only=tf
def causal_pad(x, kernel_size, dilation=1):
    """(B, T, C) -> (B, T + (kernel_size - 1) * dilation, C), zeros before the first step."""
    ### BEGIN SOLUTION
    return tf.pad(x, [[0, 0], [(kernel_size - 1) * dilation, 0], [0, 0]])
    ### END SOLUTION


def receptive_field(kernel_size, dilations):
    """Samples seen by one output of a stack of causal convolutions with these dilations."""
    ### BEGIN SOLUTION
    return 1 + sum((kernel_size - 1) * d for d in dilations)
    ### END SOLUTION

# %% test id=audio_receptive_field_test points=2
"""causal_pad and receptive_field: all padding before the signal, (K - 1) * d of it; 1 + sum((K - 1) d) samples seen.

Catches: padding after the signal or split between both ends (the model sees the future); the dilation ignored; K * d
instead of (K - 1) * d; padding of the channel or batch axis; a receptive field off by one in total or per layer.
"""
import numpy as np
from genlab.testing import assert_close
from genlab.fw import to_tensor as T

x = np.array([[[1.0], [2.0], [3.0]]])  # (B=1, T=3, C=1)
assert_close(causal_pad(T(x), 2, 2), [[[0.0], [0.0], [1.0], [2.0], [3.0]]], "causal_pad of [1, 2, 3] for K = 2, d = 2")
assert_close(causal_pad(T(x), 3, 1), [[[0.0], [0.0], [1.0], [2.0], [3.0]]], "causal_pad of [1, 2, 3] for K = 3, d = 1")
assert_close(causal_pad(T(x), 1, 4), x, "causal_pad for K = 1 (nothing to pad)")
assert_close(float(receptive_field(2, [1, 2, 4, 8])), 16.0, "receptive_field(2, [1, 2, 4, 8])")
assert_close(float(receptive_field(3, [1, 2])), 7.0, "receptive_field(3, [1, 2])")
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(3030)
for b, t, c, k, d in [(2, 9, 3, 2, 1), (1, 20, 4, 3, 4), (3, 5, 2, 4, 2), (2, 6, 6, 2, 16), (4, 4, 4, 4, 1)]:
    x = rng.normal(size=(b, t, c))
    want = np.concatenate([np.zeros((b, (k - 1) * d, c)), x], axis=1)
    assert_close(causal_pad(T(x), k, d), want, f"causal_pad of a ({b}, {t}, {c}) input for K = {k}, d = {d}")
# causality: a valid dilated convolution after the padding gives output t from inputs <= t only
x = rng.normal(size=(1, 12, 1))
w = rng.normal(size=3)
for d in (1, 3):
    padded = np.asarray(causal_pad(T(x), 3, d))[0, :, 0]
    out = np.array([sum(w[j] * padded[t + j * d] for j in range(3)) for t in range(12)])
    want = np.array([sum(w[j] * (x[0, t - (2 - j) * d, 0] if t - (2 - j) * d >= 0 else 0.0) for j in range(3)) for t in range(12)])
    assert_close(out, want, f"a kernel-3 convolution (dilation {d}) after causal_pad sees only the past")
for k, dil in [(2, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512] * 3), (3, [1, 1, 1]), (5, [2]), (2, []), (4, [1, 3, 9, 27])]:
    want = 1 + sum((k - 1) * dd for dd in dil)
    got = receptive_field(k, dil)
    assert_close(float(got), float(want), f"receptive_field({k}, {dil[:6]}{'...' if len(dil) > 6 else ''})")
from genlab.testing import assert_tensor
from genlab.fw import grad_of
# causal_pad keeps a float32 framework tensor and lets gradients through (the WaveNet trains through it)
x = rng.normal(size=(2, 5, 3))
assert_tensor(causal_pad(T(x), 3, 2), "causal_pad")
assert np.asarray(causal_pad(T(x), 3, 2)).dtype == np.float32, "causal_pad must keep the input's dtype (float32)"
_, (g_pad,) = grad_of(lambda v: causal_pad(v, 3, 2), x)
assert g_pad is not None, "no gradient flows through causal_pad (a detach, a NumPy round trip or stop_gradient?)"
assert_close(g_pad, np.ones_like(x), "d sum(causal_pad(x)) / dx")
got = receptive_field(2, [1, 2, 4])
assert type(got) is int, f"receptive_field must return a plain int, got {type(got).__name__}"
### END HIDDEN TESTS

# %% [markdown]
# **The model.** Seven layers of kernel 2 with dilations 1, 2, ..., 64, 32 residual channels, 64 skip channels, gated units and a global conditioning vector
# (a one-hot note and a one-hot timbre, projected into every layer). Its receptive field, by your function, is below: 32 ms at 4 kHz, several periods of the lowest note.
# It is trained with teacher forcing (the true previous samples as input, a 256-way cross-entropy on the next class), on random 256-sample windows of 0.5 s notes.
# Generation is sample by sample; each layer keeps a **cache** of the last $(K-1)d$ inputs it saw (fast WaveNet, Paine et al., 2016), so a step costs one position per layer
# instead of a whole receptive field.

# %%
DILATIONS = (1, 2, 4, 8, 16, 32, 64)
print(f"receptive field: {receptive_field(2, DILATIONS)} samples = {receptive_field(2, DILATIONS) / MUSIC_SR * 1000:.0f} ms at {MUSIC_SR} Hz")
note_waves, note_ids, note_timbres = A.note_set(pick(480, 24), 0.5, MUSIC_SR, seed=SEED)
note_classes = to_numpy(mu_law_encode(to_tensor(note_waves)))           # (N, 2000) ints via your encoder
note_cond = A.pitch_conditioning(note_ids, note_timbres)
print(f"{len(note_waves)} training notes; conditioning vectors {note_cond.shape}")


def wavenet_batch(rng, batch=16, window=256):
    """Random windows (a quarter of them at the note's onset, which generation starts from) -> (inputs, targets, cond)."""
    i = rng.integers(0, len(note_classes), batch)
    starts = np.where(rng.random(batch) < 0.25, 0, rng.integers(0, note_classes.shape[1] - window - 1, batch))
    seg = np.stack([note_classes[j, s:s + window + 1] for j, s in zip(i, starts)])
    first = np.full((batch, 1), 128)                                    # the "silence" class before a note's onset
    inputs = np.where(starts[:, None] == 0, np.concatenate([first, seg[:, :-2]], 1), seg[:, :-1])
    targets = np.where(starts[:, None] == 0, seg[:, :-1], seg[:, 1:])
    return inputs, targets, note_cond[i]

# %% only=torch
genlab.seed_everything(SEED)
wavenet = WaveNet(causal_pad, n_cond=note_cond.shape[1], dilations=DILATIONS).to(DEVICE)
opt = torch.optim.Adam(wavenet.parameters(), lr=3e-3)
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=max(WAVENET_STEPS, 2), pct_start=0.1)
rng = np.random.default_rng(SEED)
wn_losses = []
for step in time_budget(WAVENET_SECONDS, max_steps=WAVENET_STEPS, desc="WaveNet"):
    x, y, c = wavenet_batch(rng)
    logits = wavenet(to_labels(x, DEVICE), to_tensor(c, device_=DEVICE))
    loss = F.cross_entropy(logits.reshape(-1, 256), to_labels(y, DEVICE).reshape(-1))
    opt.zero_grad()
    loss.backward()
    opt.step()
    sched.step()
    wn_losses.append(float(loss))
print(f"WaveNet: {count_params(wavenet):,} parameters; {len(wn_losses)} steps; loss {wn_losses[0]:.2f} -> {np.mean(wn_losses[-20:]):.2f} nats per sample")

# %% only=tf
genlab.seed_everything(SEED)
wavenet = WaveNet(causal_pad, n_cond=note_cond.shape[1], dilations=DILATIONS)
sched = keras.optimizers.schedules.CosineDecay(3e-4, max(WAVENET_STEPS, 2), warmup_target=3e-3,
                                               warmup_steps=max(WAVENET_STEPS // 10, 1))
opt = keras.optimizers.Adam(learning_rate=sched)
opt.build(wavenet.trainable_variables)  # slots made now: a compiled step that creates variables is traced twice


@tf.function(jit_compile=False, reduce_retracing=True)
def wavenet_step(x, y, c):
    with tf.GradientTape() as tape:
        logits = wavenet(x, c)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
    grads = tape.gradient(loss, wavenet.trainable_variables)
    opt.apply_gradients(zip(grads, wavenet.trainable_variables))
    return loss


rng = np.random.default_rng(SEED)
wn_losses = []
for step in time_budget(WAVENET_SECONDS, max_steps=WAVENET_STEPS, desc="WaveNet"):
    x, y, c = wavenet_batch(rng)
    wn_losses.append(wavenet_step(to_labels(x), to_labels(y), to_tensor(c)))
wn_losses = [float(v) for v in wn_losses]
print(f"WaveNet: {count_params(wavenet):,} parameters; {len(wn_losses)} steps; loss {wn_losses[0]:.2f} -> {np.mean(wn_losses[-20:]):.2f} nats per sample")

# %% [markdown]
# **Generating notes.** Every note of the scale in two timbres, all in one batch, sampled at temperature 0.9; the classes go back to samples through your `mu_law_decode`.
# The course's pitch detector (normalised autocorrelation, `genlab.audio.estimate_pitch`) then measures each note: a note counts as right within 50 cents (half a semitone).

# %%
gen_notes = np.arange(GEN_NOTES) % len(A.NOTE_MIDI)
gen_timbres = (np.arange(GEN_NOTES) // len(A.NOTE_MIDI)) % len(A.TIMBRES)
t0 = time.perf_counter()
gen_ids = wavenet.generate(A.pitch_conditioning(gen_notes, gen_timbres), GEN_SAMPLES, first_id=128, temperature=0.9, seed=SEED)
gen_waves = to_numpy(mu_law_decode(gen_ids))
gen_seconds = time.perf_counter() - t0
targets_hz = A.midi_to_hz(np.array(A.NOTE_MIDI)[gen_notes])
est_hz = np.array([A.estimate_pitch(w[len(w) // 8:], MUSIC_SR) for w in gen_waves])
err_cents = np.abs(A.cents(np.maximum(est_hz, 1.0), targets_hz))
pitch_acc = float(np.mean(err_cents < 50))
print(f"generated {GEN_NOTES} x {GEN_SAMPLES} samples in {gen_seconds:.1f} s ({GEN_NOTES * GEN_SAMPLES / gen_seconds:,.0f} samples/s, "
      f"one step per sample)")
print("requested:", [A.NOTE_NAMES[n] for n in gen_notes])
print("error in cents:", np.round(err_cents).astype(int).tolist())
report("audio/wavenet_pitch_accuracy", pitch_acc)

# %%
fig, axes = plt.subplots(1, 3, figsize=(12, 2.8))
for ax, j in zip(axes, [0, min(4, GEN_NOTES - 1), GEN_NOTES - 1]):
    n_show = min(400, GEN_SAMPLES)
    ax.plot(np.arange(n_show) / MUSIC_SR * 1000, gen_waves[j, -n_show:], lw=0.8)
    ax.set_title(f"{A.NOTE_NAMES[gen_notes[j]]} ({A.TIMBRES[gen_timbres[j]]}): {est_hz[j]:.0f} Hz, wanted {targets_hz[j]:.0f}")
    ax.set_xlabel("ms")
plt.tight_layout()
plt.show()
print("the generated scale (sine timbre), then the organ timbre:")
display(Audio(np.concatenate(list(gen_waves[: len(A.NOTE_MIDI)])), rate=MUSIC_SR))
if GEN_NOTES > len(A.NOTE_MIDI):
    display(Audio(np.concatenate(list(gen_waves[len(A.NOTE_MIDI):])), rate=MUSIC_SR))

# %% [markdown]
# **Why nobody generates raw audio this way any more.** One second of 24 kHz audio is 24,000 sequential network calls; the original WaveNet generated about 0.02 s of audio per second.
# The fixes, in order: caching (above), distillation into a parallel flow (Parallel WaveNet), small RNN vocoders (WaveRNN), GAN vocoders conditioned on mel spectrograms
# (MelGAN, HiFi-GAN: all samples at once), and finally **modelling codec tokens** instead of samples (section 9): 50-75 frames per second instead of 24,000 samples.
#
# ## 7. Speech enhancement · 语音增强
#
# ### Exercise 4 · `si_sdr` (2 points)
# `si_sdr(estimate, reference, eps=1e-8)`: tensors of shape `(..., T)`; return the SI-SDR in dB along the last axis, shape `(...)`. Remove each signal's mean first,
# project the estimate on the reference ($\alpha = \langle \hat s, s\rangle / \|s\|^2$), and return $10\log_{10}\frac{\|\alpha s\|^2 + \epsilon}{\|\hat s - \alpha s\|^2 + \epsilon}$.
# It must be differentiable: the enhancer below is **trained** with $-$SI-SDR as its loss. (`genlab.metrics.audio.si_sdr` and torchmetrics are hidden while grading.)

# %% solution id=audio_si_sdr only=torch
def si_sdr(estimate, reference, eps=1e-8):
    """Scale-invariant SDR in dB along the last axis: (..., T) -> (...)."""
    ### BEGIN SOLUTION
    estimate = estimate - estimate.mean(dim=-1, keepdim=True)
    reference = reference - reference.mean(dim=-1, keepdim=True)
    alpha = (estimate * reference).sum(-1, keepdim=True) / ((reference ** 2).sum(-1, keepdim=True) + eps)
    target = alpha * reference
    noise = estimate - target
    return 10.0 * torch.log10(((target ** 2).sum(-1) + eps) / ((noise ** 2).sum(-1) + eps))
    ### END SOLUTION

# %% solution id=audio_si_sdr only=tf
def si_sdr(estimate, reference, eps=1e-8):
    """Scale-invariant SDR in dB along the last axis: (..., T) -> (...)."""
    ### BEGIN SOLUTION
    estimate = estimate - tf.reduce_mean(estimate, axis=-1, keepdims=True)
    reference = reference - tf.reduce_mean(reference, axis=-1, keepdims=True)
    alpha = tf.reduce_sum(estimate * reference, -1, keepdims=True) / (tf.reduce_sum(reference ** 2, -1, keepdims=True) + eps)
    target = alpha * reference
    noise = estimate - target
    return 10.0 * tf.math.log((tf.reduce_sum(target ** 2, -1) + eps) / (tf.reduce_sum(noise ** 2, -1) + eps)) / math.log(10.0)
    ### END SOLUTION

# %% test id=audio_si_sdr_test points=2
"""si_sdr: zero-mean, projection on the reference, 10 log10 of an energy ratio, along the last axis, differentiable.

Catches: no projection (plain SNR); the mean not removed; the reference projected on the estimate (arguments' roles
swapped); 20 log10 of energies or a natural log; the ratio inverted; a sum over the whole batch instead of per signal;
a result that is not invariant to rescaling the estimate; no gradient for the estimate.
"""
import numpy as np
from genlab.testing import assert_close, assert_tensor
from genlab.fw import grad_of, to_tensor as T

ref = np.array([1.0, -2.0, 3.0, -1.0, 0.5])
est = np.array([1.5, -1.0, 2.5, 0.0, 1.0])
assert_close(si_sdr(T(est), T(ref)), 17.35639838047826, "si_sdr of a 5-sample estimate", rtol=1e-4)
assert_close(si_sdr(T(2.0 * est + 3.0), T(ref)), 17.35639838047826, "si_sdr of the estimate scaled by 2 and shifted by 3", rtol=1e-4)
assert_close(si_sdr(T(np.array([[0.1, 0.8, 0.2, -1.1], [1.5, 1.0, -0.5, 0.2]])), T(np.array([[0.0, 1.0, 0.0, -1.0], [2.0, 1.0, -1.0, 0.0]]))),
             [12.7875360095, 21.0871532465], "si_sdr of a batch of two", rtol=1e-4)
### BEGIN HIDDEN TESTS


def _si_sdr_oracle(e, r):
    e = e - e.mean(-1, keepdims=True)
    r = r - r.mean(-1, keepdims=True)
    a = (e * r).sum(-1, keepdims=True) / (r * r).sum(-1, keepdims=True)
    t, n = a * r, e - a * r
    return 10 * np.log10((t * t).sum(-1) / (n * n).sum(-1))


rng = np.random.default_rng(4711)
for shape, noise_level, offset in [((3, 400), 0.3, 0.0), ((2, 2, 160), 1.0, 0.7), ((1000,), 3.0, -0.2), ((5, 64), 0.05, 2.0)]:
    r = rng.normal(size=shape) + offset
    e = 0.6 * r + noise_level * rng.normal(size=shape) + rng.normal() * 0.5
    assert_close(si_sdr(T(e), T(r)), _si_sdr_oracle(e, r), f"si_sdr for shape {shape}", atol=1e-3, rtol=1e-4)
# invariance to the scale (and offset) of the estimate, not symmetric in its arguments
r, e = rng.normal(size=(4, 300)), rng.normal(size=(4, 300))
e = r + 0.8 * e
assert_close(si_sdr(T(0.01 * e), T(r)), _si_sdr_oracle(e, r), "si_sdr of a quiet (x0.01) estimate", atol=1e-3)
assert_close(si_sdr(T(r), T(2.0 * e + 1.0)), _si_sdr_oracle(r, e), "si_sdr with the roles of the two signals exchanged", atol=1e-3)
assert_tensor(si_sdr(T(e), T(r)), "si_sdr")
# differentiable wrt the estimate: the gradient of the summed SI-SDR matches finite differences
r, e = rng.normal(size=(2, 30)), rng.normal(size=(2, 30))
e = r + 0.5 * e
_, (g_est, _) = grad_of(si_sdr, e, r)
assert g_est is not None, "no gradient flows from si_sdr to the estimate (a detach, a NumPy round trip or stop_gradient?)"
h = 1e-4
for idx in [(0, 3), (1, 17)]:
    ep, em = e.copy(), e.copy()
    ep[idx] += h
    em[idx] -= h
    fd = (_si_sdr_oracle(ep, r).sum() - _si_sdr_oracle(em, r).sum()) / (2 * h)
    assert_close(g_est[idx], fd, f"d si_sdr / d estimate{list(idx)}", atol=2e-2, rtol=2e-2)
# the eps terms keep a perfect estimate and a silent reference finite (no inf or NaN)
r_ok = rng.normal(size=(2, 50))
perfect = np.asarray(si_sdr(T(r_ok), T(r_ok)))
assert np.all(np.isfinite(perfect)) and np.all(perfect > 60.0), f"si_sdr of a perfect estimate must be large and finite (the eps terms), got {perfect}"
silent = np.asarray(si_sdr(T(r_ok), T(np.zeros((2, 50)))))
assert np.all(np.isfinite(silent)) and np.all(silent < -60.0), f"si_sdr against a silent reference must be very negative and finite (the eps terms), got {silent}"
assert np.asarray(si_sdr(T(e), T(r))).dtype == np.float32, "si_sdr must return float32 for float32 inputs"
### END HIDDEN TESTS

# %% [markdown]
# **The data.** Clean strings of two or three digits from the training voices, cut or padded to 1.5 s, each mixed on the fly with white noise, babble or hum at an SNR drawn from
# $[-5, 5]$ dB. The test set: strings from the four **held-out voices**, at exactly 0 dB, each noise kind a third of the time (the babble drawn from test utterances).
#
# **The model** (`MaskNet`): from the noisy log-power STFT (centred per utterance) (129 bins, 8 ms hop), three convolutions over time (a 13-frame context) predict a mask in $(0, 1)$ per time-frequency bin;
# the enhanced STFT is the mask times the noisy STFT (noisy phase kept), inverted by the framework's inverse STFT. The loss is $-$**your** SI-SDR of the output waveform:
# training end to end through the inverse STFT.

# %%
SEG = int(1.5 * SR)


def fixed_length(waves, lens, n=SEG):
    out = np.zeros((len(waves), n), np.float32)
    for i, (w, L) in enumerate(zip(waves, lens)):
        out[i, :min(L, n)] = w[:min(L, n)]
    return out


enh_clean, enh_lens, _, _ = A.digit_strings(train_digits, pick(1200, 64), 2, 3, seed=11)
enh_clean = fixed_length(enh_clean, enh_lens)
test_clean, test_lens, _, _ = A.digit_strings(test_digits, N_TEST_STRINGS, 2, 3, seed=12)
test_clean = fixed_length(test_clean, test_lens)
test_noisy = np.concatenate([A.add_noise(test_clean[k::3], 0.0, kind, seed=13 + k, data=test_digits)
                             for k, kind in enumerate(A.NOISE_KINDS)])
test_clean = np.concatenate([test_clean[k::3] for k in range(3)])
test_kinds = np.concatenate([[kind] * len(test_clean[k::3]) for k, kind in enumerate(A.NOISE_KINDS)])


def noisy_batch(rng, batch=16):
    i = rng.integers(0, len(enh_clean), batch)
    clean = enh_clean[i]
    noisy = np.stack([A.add_noise(c, rng.uniform(-5, 5), A.NOISE_KINDS[rng.integers(3)], seed=int(rng.integers(2**31)), data=train_digits)
                      for c in clean])
    return noisy, clean

# %% only=torch
def enhance(model, noisy):
    """noisy (B, T) tensor -> enhanced (B, T): mask the noisy STFT, keep its phase, invert."""
    spec = stft(noisy, N_FFT, HOP)
    feats = torch.log(spec.abs() ** 2 + 1e-6)
    mask = model((feats - feats.mean(dim=(1, 2), keepdim=True)) / 4.0)   # log-power, centred per utterance
    return istft(spec * mask, N_FFT, HOP, length=noisy.shape[-1])


genlab.seed_everything(SEED)
masknet = MaskNet(N_FFT // 2 + 1, N_FFT // 2 + 1).to(DEVICE)
opt = torch.optim.Adam(masknet.parameters(), lr=2e-3)
rng = np.random.default_rng(SEED)
enh_losses = []
for step in time_budget(ENH_SECONDS, max_steps=ENH_STEPS, desc="MaskNet"):
    noisy, clean = noisy_batch(rng)
    loss = -si_sdr(enhance(masknet, to_tensor(noisy, device_=DEVICE)), to_tensor(clean, device_=DEVICE)).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    enh_losses.append(float(loss))
masknet.eval()
with torch.no_grad():
    test_enhanced = np.concatenate([to_numpy(enhance(masknet, to_tensor(test_noisy[j:j + 32], device_=DEVICE)))
                                    for j in range(0, len(test_noisy), 32)])

# %% only=tf
def enhance(model, noisy):
    """noisy (B, T) tensor -> enhanced (B, T): mask the noisy STFT, keep its phase, invert."""
    spec = stft(noisy, N_FFT, HOP)
    feats = tf.math.log(tf.abs(spec) ** 2 + 1e-6)
    mask = model((feats - tf.reduce_mean(feats, axis=[1, 2], keepdims=True)) / 4.0)   # log-power, centred per utterance
    return istft(spec * tf.complex(mask, tf.zeros_like(mask)), N_FFT, HOP, length=tf.shape(noisy)[-1])


genlab.seed_everything(SEED)
masknet = MaskNet(N_FFT // 2 + 1, N_FFT // 2 + 1)
opt = keras.optimizers.Adam(learning_rate=2e-3)
opt.build(masknet.trainable_variables)  # slots made now: a compiled step that creates variables is traced twice


@tf.function(reduce_retracing=True)
def enh_step(noisy, clean):
    with tf.GradientTape() as tape:
        loss = -tf.reduce_mean(si_sdr(enhance(masknet, noisy), clean))
    grads = tape.gradient(loss, masknet.trainable_variables)
    opt.apply_gradients(zip(grads, masknet.trainable_variables))
    return loss


rng = np.random.default_rng(SEED)
enh_losses = []
for step in time_budget(ENH_SECONDS, max_steps=ENH_STEPS, desc="MaskNet"):
    noisy, clean = noisy_batch(rng)
    enh_losses.append(enh_step(to_tensor(noisy), to_tensor(clean)))
enh_losses = [float(v) for v in enh_losses]
enhance_fn = tf.function(lambda x: enhance(masknet, x), reduce_retracing=True)
test_enhanced = np.concatenate([to_numpy(enhance_fn(to_tensor(test_noisy[j:j + 32]))) for j in range(0, len(test_noisy), 32)])

# %%
before = to_numpy(si_sdr(to_tensor(test_noisy), to_tensor(test_clean)))
after = to_numpy(si_sdr(to_tensor(test_enhanced), to_tensor(test_clean)))
print(f"MaskNet: {count_params(masknet):,} parameters; training loss {enh_losses[0]:.1f} -> {np.mean(enh_losses[-20:]):.1f} dB (minus SI-SDR)")
rows = [f"| {kind} | {before[test_kinds == kind].mean():.1f} | {after[test_kinds == kind].mean():.1f} | "
        f"{(after - before)[test_kinds == kind].mean():+.1f} |" for kind in A.NOISE_KINDS]
display(Markdown("| noise at 0 dB (held-out voices) | SI-SDR in | SI-SDR out | improvement |\n|---|---|---|---|\n" + "\n".join(rows)))
report("audio/enhancement_si_sdr_improvement_db", float(np.mean(after - before)))

# %%
j = int(np.flatnonzero(test_kinds == "babble")[0]) if (test_kinds == "babble").any() else 0
fig, axes = plt.subplots(1, 3, figsize=(13, 3))
for ax, sig, title in zip(axes, [test_clean[j], test_noisy[j], test_enhanced[j]], ["clean", "noisy (0 dB)", "enhanced"]):
    ax.imshow(20 * np.log10(np.abs(A.np_stft(sig, N_FFT, HOP)).T + 1e-4), origin="lower", aspect="auto", cmap="magma", vmin=-60,
              extent=[0, len(sig) / SR, 0, SR / 2])
    ax.set_title(f"{title}: SI-SDR {to_numpy(si_sdr(to_tensor(sig), to_tensor(test_clean[j]))):.1f} dB" if title != "clean" else title)
    ax.set_xlabel("s")
plt.tight_layout()
plt.show()
for k, kind in enumerate(A.NOISE_KINDS):
    jj = int(np.flatnonzero(test_kinds == kind)[0]) if (test_kinds == kind).any() else 0
    print(f"{kind}: noisy, then enhanced")
    display(Audio(test_noisy[jj], rate=SR, normalize=True))
    display(Audio(test_enhanced[jj], rate=SR, normalize=True))

# %% [markdown]
# What the numbers say: the mask removes most of the stationary noise (hum, white) and less of the babble, which *is* speech: a mask over time-frequency bins cannot tell one talker
# from another by energy alone. Stronger systems: complex masks or direct spectrum mapping (the noisy phase limits a magnitude mask), time-domain networks (Conv-TasNet, Demucs),
# and generative enhancers (diffusion or GAN based) for heavy distortion, which hallucinate plausible speech and so need perceptual scores (PESQ, DNSMOS) beside SI-SDR.
#
# ## 8. Speech recognition with CTC · 基于 CTC 的语音识别
#
# ### Exercise 5 · `ctc_greedy_decode` (2 points)
# `log_probs` of shape `(B, T, V)` (per-frame log-probabilities over `V` classes, one of them the **blank**), optional `lengths` (`(B,)` ints: frames that count per row; all `T` if `None`),
# and `blank` (the blank's index). Take the best class per frame, **merge repeats, then drop blanks**, within each row's length.
# Return an integer tensor of shape `(B, T)`: each row's labels from the left, then `-1` padding. (Library decoders such as `tf.nn.ctc_greedy_decoder` and `keras.ops.ctc_decode` are hidden while grading.)

# %% solution id=audio_ctc_greedy_decode only=torch
def ctc_greedy_decode(log_probs, lengths=None, blank=0):
    """(B, T, V) -> int64 (B, T): best path per row, repeats merged, blanks removed, padded with -1."""
    ### BEGIN SOLUTION
    best = torch.argmax(log_probs, dim=-1)                                        # (B, T)
    b_size, t_max = best.shape
    lengths = torch.full((b_size,), t_max) if lengths is None else torch.as_tensor(lengths)
    prev = torch.cat([torch.full_like(best[:, :1], blank), best[:, :-1]], dim=1)
    keep = (best != prev) & (best != blank) & (torch.arange(t_max, device=best.device)[None, :] < lengths.to(best.device)[:, None])
    out = torch.full_like(best, -1)
    for b in range(b_size):
        labels = best[b][keep[b]]
        out[b, :labels.shape[0]] = labels
    return out
    ### END SOLUTION

# %% solution id=audio_ctc_greedy_decode only=tf
def ctc_greedy_decode(log_probs, lengths=None, blank=0):
    """(B, T, V) -> int (B, T): best path per row, repeats merged, blanks removed, padded with -1."""
    ### BEGIN SOLUTION
    best = tf.argmax(log_probs, axis=-1, output_type=tf.int32)                   # (B, T)
    b_size, t_max = best.shape
    lengths = tf.fill([b_size], t_max) if lengths is None else tf.cast(lengths, tf.int32)
    prev = tf.concat([tf.fill([b_size, 1], blank), best[:, :-1]], axis=1)
    keep = (best != prev) & (best != blank) & (tf.range(t_max)[None, :] < lengths[:, None])
    rows = []
    for b in range(b_size):
        labels = tf.boolean_mask(best[b], keep[b])
        rows.append(tf.pad(labels, [[0, t_max - tf.shape(labels)[0]]], constant_values=-1))
    return tf.stack(rows)
    ### END SOLUTION

# %% test id=audio_ctc_greedy_decode_test points=2
"""ctc_greedy_decode: argmax per frame, merge repeats, drop blanks (in that order), per-row lengths, any blank index.

Catches: blanks kept; repeats not merged; repeats separated by a blank merged (blanks dropped before merging); the
lengths ignored (frames past a row's end decoded); the blank assumed to be class 0; the argmax over the wrong axis; a
result not padded with -1 to (B, T).
"""
import numpy as np
from genlab.testing import assert_close, assert_tensor
from genlab.fw import to_labels, to_tensor as T


def _one_hot_path(path, v):
    """Log-probabilities whose best class at frame t is path[t]."""
    lp = np.full((len(path), v), -5.0)
    lp[np.arange(len(path)), path] = -0.1
    return lp


# blank = 0: the path 1 1 0 1 2 2 0 0 3 decodes to 1 1 2 3 (the blank keeps the two 1s apart)
lp = np.stack([_one_hot_path([1, 1, 0, 1, 2, 2, 0, 0, 3], 4), _one_hot_path([0, 0, 2, 2, 2, 0, 0, 0, 0], 4)])
assert_close(ctc_greedy_decode(T(lp)), [[1, 1, 2, 3, -1, -1, -1, -1, -1], [2, -1, -1, -1, -1, -1, -1, -1, -1]],
             "greedy decoding of two paths (blank 0)")
assert_close(ctc_greedy_decode(T(lp), lengths=to_labels(np.array([4, 9]))), [[1, 1, -1, -1, -1, -1, -1, -1, -1],
                                                                             [2, -1, -1, -1, -1, -1, -1, -1, -1]],
             "greedy decoding with lengths 4 and 9")
lp = _one_hot_path([3, 0, 0, 3, 3, 1, 2, 3], 4)[None]
assert_close(ctc_greedy_decode(T(lp), blank=3), [[0, 1, 2, -1, -1, -1, -1, -1]], "greedy decoding with blank = 3")
### BEGIN HIDDEN TESTS


def _ctc_oracle(lp, lengths, blank):
    b, t, _ = lp.shape
    out = np.full((b, t), -1)
    for i in range(b):
        path = lp[i, :lengths[i]].argmax(-1)
        labels = [k for j, k in enumerate(path) if k != blank and (j == 0 or k != path[j - 1])]
        out[i, :len(labels)] = labels
    return out


rng = np.random.default_rng(5150)
for b, t, v, blank in [(3, 20, 5, 0), (2, 31, 11, 0), (4, 12, 3, 2), (1, 1, 4, 0), (5, 40, 6, 5)]:
    lp = rng.normal(size=(b, t, v)) * 2.0
    # runs of repeated frames and blanks, as a trained CTC model produces
    path = np.repeat(rng.integers(0, v, size=(b, t // 2 + 1)), 2, axis=1)[:, :t]
    lp[np.arange(b)[:, None], np.arange(t)[None, :], path] += 6.0
    lengths = rng.integers(1, t + 1, size=b)
    lengths[0] = t
    assert_close(ctc_greedy_decode(T(lp), lengths=to_labels(lengths), blank=blank), _ctc_oracle(lp, lengths, blank),
                 f"greedy decoding of a ({b}, {t}, {v}) batch, blank {blank}, lengths {lengths.tolist()}")
    assert_close(ctc_greedy_decode(T(lp), blank=blank), _ctc_oracle(lp, np.full(b, t), blank), f"greedy decoding of a ({b}, {t}, {v}) batch without lengths")
lp = _one_hot_path([2, 0, 2, 2, 0, 0, 2, 1, 1, 0], 3)[None]
assert_close(ctc_greedy_decode(T(lp)), [[2, 2, 2, 1, -1, -1, -1, -1, -1, -1]], "the same label three times, separated by blanks")
lp = _one_hot_path([0, 0, 0, 0], 3)[None]
assert_close(ctc_greedy_decode(T(lp)), [[-1, -1, -1, -1]], "an all-blank path decodes to nothing")
assert_tensor(ctc_greedy_decode(T(lp)), "ctc_greedy_decode")
assert np.issubdtype(np.asarray(ctc_greedy_decode(T(lp))).dtype, np.integer), "ctc_greedy_decode must return integer labels"
### END HIDDEN TESTS

# %% [markdown]
# **The recogniser** (`CTCNet`): 40 log-mel bands from **your** filterbank (each utterance normalised to zero mean and unit variance), a convolution, a stride-2 convolution
# (20 ms per output frame), two dilated residual convolutions, and a linear layer to 11 classes: the blank (0) and the digits 1-10 (digit $d$ is class $d + 1$).
# Trained with the CTC loss of the framework (`F.ctc_loss` / `tf.nn.ctc_loss`), tested on strings of 3-5 digits read by the **held-out voices**, decoded by your greedy decoder.

# %%
CTC_HOP = 80                                                               # 10 ms frames at 8 kHz
fb_ctc = mel_filterbank(SR, N_FFT, 40)


def features(waves):
    """(B, T) waveforms -> per-utterance normalised log-mel (B, frames, 40), as NumPy."""
    spec = to_numpy(stft(to_tensor(waves), N_FFT, CTC_HOP))
    feats = np.log(np.abs(spec) ** 2 @ to_numpy(fb_ctc).T + 1e-6)
    return (feats - feats.mean((1, 2), keepdims=True)) / (feats.std((1, 2), keepdims=True) + 1e-5)


def ctc_set(data, n, seed):
    w, wl, y, yl = A.digit_strings(data, n, 3, 5, seed=seed)
    feats = np.concatenate([features(w[j:j + 64]) for j in range(0, n, 64)])
    return feats.astype(np.float32), 1 + wl // CTC_HOP, y, yl


tr_feats, tr_flen, tr_y, tr_ylen = ctc_set(train_digits, N_TRAIN_STRINGS, seed=21)
te_feats, te_flen, te_y, te_ylen = ctc_set(test_digits, N_TEST_STRINGS, seed=22)
print(f"{len(tr_feats)} training strings, {len(te_feats)} test strings; features {tr_feats.shape[1:]} (frames, mels)")


def ctc_batch(rng, batch=32):
    i = rng.integers(0, len(tr_feats), batch)
    t = int(tr_flen[i].max())
    return tr_feats[i, :t], tr_flen[i], tr_y[i], tr_ylen[i]

# %% only=torch
genlab.seed_everything(SEED)
ctcnet = CTCNet(40, 11).to(DEVICE)
opt = torch.optim.Adam(ctcnet.parameters(), lr=3e-3)
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=max(CTC_STEPS, 2), pct_start=0.05)
rng = np.random.default_rng(SEED)
ctc_losses = []
for step in time_budget(CTC_SECONDS, max_steps=CTC_STEPS, desc="CTC"):
    x, flen, y, ylen = ctc_batch(rng)
    log_probs = ctcnet(to_tensor(x, device_=DEVICE))                                  # (B, T', 11)
    targets = to_labels(np.concatenate([yy[:n] + 1 for yy, n in zip(y, ylen)]), DEVICE)
    loss = F.ctc_loss(log_probs.transpose(0, 1), targets, to_labels(CTCNet.output_lengths(flen)), to_labels(ylen),
                      blank=0, zero_infinity=True)
    opt.zero_grad()
    loss.backward()
    opt.step()
    sched.step()
    ctc_losses.append(float(loss))
ctcnet.eval()
with torch.no_grad():
    te_logp = [ctcnet(to_tensor(te_feats[j:j + 64], device_=DEVICE)) for j in range(0, len(te_feats), 64)]

# %% only=tf
genlab.seed_everything(SEED)
ctcnet = CTCNet(40, 11)
sched = keras.optimizers.schedules.CosineDecay(3e-4, max(CTC_STEPS, 2), warmup_target=3e-3, warmup_steps=max(CTC_STEPS // 20, 1))
opt = keras.optimizers.Adam(learning_rate=sched)
opt.build(ctcnet.trainable_variables)  # slots made now: a compiled step that creates variables is traced twice


@tf.function(reduce_retracing=True)
def ctc_step(x, out_len, y, ylen):
    with tf.GradientTape() as tape:
        log_probs = ctcnet(x)
        loss = tf.reduce_mean(tf.nn.ctc_loss(y, log_probs, ylen, out_len, logits_time_major=False, blank_index=0)
                              / tf.cast(ylen, tf.float32))
    grads = tape.gradient(loss, ctcnet.trainable_variables)
    opt.apply_gradients(zip(grads, ctcnet.trainable_variables))
    return loss


rng = np.random.default_rng(SEED)
ctc_losses = []
for step in time_budget(CTC_SECONDS, max_steps=CTC_STEPS, desc="CTC"):
    x, flen, y, ylen = ctc_batch(rng)
    ctc_losses.append(ctc_step(to_tensor(x), to_labels(CTCNet.output_lengths(flen)), to_labels(np.maximum(y + 1, 0)), to_labels(ylen)))
ctc_losses = [float(v) for v in ctc_losses]
te_logp = [ctcnet(to_tensor(te_feats[j:j + 64])) for j in range(0, len(te_feats), 64)]

# %%
hyps = []
for j, lp in enumerate(te_logp):
    decoded = to_numpy(ctc_greedy_decode(lp, lengths=to_labels(CTCNet.output_lengths(te_flen[j * 64:(j + 1) * 64])), blank=0))
    hyps += [[int(k) - 1 for k in row if k >= 0] for row in decoded]
refs = [list(y[:n]) for y, n in zip(te_y, te_ylen)]
wer = A.word_error_rate(refs, hyps)
print(f"CTCNet: {count_params(ctcnet):,} parameters; CTC loss {ctc_losses[0]:.2f} -> {np.mean(ctc_losses[-20:]):.3f}")
for r, h in list(zip(refs, hyps))[:5]:
    print("ref:", " ".join(A.WORDS[d] for d in r), "| hyp:", " ".join(A.WORDS[d] for d in h))
report("audio/ctc_word_error_rate", wer)

# %%
lp0 = to_numpy(te_logp[0][0])[: CTCNet.output_lengths(te_flen[:1])[0]]
fig, axes = plt.subplots(2, 1, figsize=(11, 4.4), sharex=True)
axes[0].imshow(te_feats[0, : te_flen[0]].T, origin="lower", aspect="auto", cmap="magma", extent=[0, te_flen[0] * CTC_HOP / SR, 0, 40])
axes[0].set_title("log-mel input (a held-out voice)")
tt = np.arange(len(lp0)) * 2 * CTC_HOP / SR
axes[1].plot(tt, np.exp(lp0[:, 0]), "k--", lw=1, label="blank")
for d in range(10):
    axes[1].plot(tt, np.exp(lp0[:, d + 1]), lw=1.2, label=A.WORDS[d])
axes[1].set_xlabel("s")
axes[1].set_title("CTC posteriors: spikes for the digits, blank in between")
axes[1].legend(ncol=6, fontsize=7, loc="center right")
plt.tight_layout()
plt.show()

# %% [markdown]
# **CTC, attention, transducer (an interview favourite).** CTC assumes the outputs are conditionally independent given the audio: fast, monotonic, streamable, but it needs
# a language model for spelling and context. Attention encoder-decoders (LAS, Whisper) model $p(y_t \mid y_{<t}, x)$ with an implicit language model, are best offline, but can
# hallucinate or loop and do not stream naturally. The **transducer** (RNN-T) adds a prediction network over previous labels to CTC-style alignment: streaming and
# context-aware, the default for on-device recognition. Hybrids train a shared encoder with CTC and attention losses together.
#
# ## 9. Neural audio codecs and residual vector quantisation · 神经音频编解码器与残差矢量量化
#
# ### Exercise 6 · `rvq_quantize` (2 points)
# `x` of shape `(N, D)`, `codebooks` of shape `(S, K, D)` ($S$ stages of $K$ codewords). Stage 1 picks, for each row, the codeword nearest (squared Euclidean distance) to `x`;
# stage $s$ picks the codeword nearest to the **residual** $x - (\text{sum of the codewords chosen so far})$. Return `(codes, quantized)`: integer codes `(N, S)` and the sum of the chosen codewords `(N, D)`.

# %% solution id=audio_rvq_quantize only=torch
def rvq_quantize(x, codebooks):
    """x (N, D), codebooks (S, K, D) -> (codes (N, S) int64, quantized (N, D))."""
    ### BEGIN SOLUTION
    residual = x
    quantized = torch.zeros_like(x)
    codes = []
    for cb in codebooks:
        dist = (residual ** 2).sum(-1, keepdim=True) - 2.0 * residual @ cb.T + (cb ** 2).sum(-1)[None, :]   # (N, K)
        idx = torch.argmin(dist, dim=-1)
        chosen = cb[idx]
        quantized = quantized + chosen
        residual = residual - chosen
        codes.append(idx)
    return torch.stack(codes, dim=1), quantized
    ### END SOLUTION

# %% solution id=audio_rvq_quantize only=tf
def rvq_quantize(x, codebooks):
    """x (N, D), codebooks (S, K, D) -> (codes (N, S) int64, quantized (N, D))."""
    ### BEGIN SOLUTION
    residual = x
    quantized = tf.zeros_like(x)
    codes = []
    for cb in tf.unstack(codebooks):
        dist = tf.reduce_sum(residual ** 2, -1, keepdims=True) - 2.0 * tf.matmul(residual, cb, transpose_b=True) + tf.reduce_sum(cb ** 2, -1)[None, :]
        idx = tf.argmin(dist, axis=-1)
        chosen = tf.gather(cb, idx)
        quantized = quantized + chosen
        residual = residual - chosen
        codes.append(idx)
    return tf.stack(codes, axis=1), quantized
    ### END SOLUTION

# %% test id=audio_rvq_quantize_test points=2
"""rvq_quantize: nearest codeword per stage, each stage quantising the residual of the ones before; codes (N, S).

Catches: every stage quantising the input instead of the residual; the residual not accumulated (only the last stage
subtracted) or updated with the wrong sign; the farthest codeword (argmax); the quantized vector of the last stage only;
codes stacked as (S, N); the nearest codeword by dot product instead of distance.
"""
import numpy as np
from genlab.testing import assert_close, assert_tensor
from genlab.fw import to_tensor as T

x = np.array([[1.1, 0.9], [-2.0, 0.2], [0.1, 0.05]])
books = np.array([[[1.0, 1.0], [-2.0, 0.0], [0.0, 0.0]],       # stage 1: coarse
                  [[0.1, -0.1], [0.0, 0.2], [-0.1, 0.1]]])      # stage 2: fine, for the residual
codes, q = rvq_quantize(T(x), T(books))
assert_close(codes, [[0, 0], [1, 1], [2, 0]], "codes of three vectors with two stages")
assert_close(q, [[1.1, 0.9], [-2.0, 0.2], [0.1, -0.1]], "quantized vectors")
codes, q = rvq_quantize(T(x), T(books[:1]))
assert_close(q, [[1.0, 1.0], [-2.0, 0.0], [0.0, 0.0]], "one stage: plain vector quantisation")
### BEGIN HIDDEN TESTS


def _rvq_oracle(x, books):
    r, q, codes = x.copy(), np.zeros_like(x), []
    for cb in books:
        idx = ((r[:, None, :] - cb[None]) ** 2).sum(-1).argmin(-1)
        q, r = q + cb[idx], r - cb[idx]
        codes.append(idx)
    return np.stack(codes, 1), q


rng = np.random.default_rng(6161)
for n, d, s, k in [(50, 8, 4, 16), (7, 3, 6, 5), (1, 16, 2, 32), (30, 2, 3, 4)]:
    x = rng.normal(size=(n, d)) * 2.0
    books = np.stack([rng.normal(size=(k, d)) * 2.0 * 0.5 ** i for i in range(s)])
    want_codes, want_q = _rvq_oracle(x, books)
    codes, q = rvq_quantize(T(x), T(books))
    assert_close(codes, want_codes, f"codes for N={n}, D={d}, S={s}, K={k}")
    assert_close(q, want_q, f"quantized vectors for N={n}, D={d}, S={s}, K={k}", atol=1e-4)
    assert_tensor(codes, "codes")
    assert_tensor(q, "quantized")
# codewords far from the origin: nearest by distance, not by the largest dot product
x = np.array([[1.0, 0.0], [0.0, 1.0]])
books = np.array([[[1.0, 0.0], [10.0, 0.0], [0.0, 1.1], [0.0, 9.0]]])
assert_close(rvq_quantize(T(x), T(books))[0], [[0], [2]], "nearest codeword when a farther one has a larger dot product")
codes, q = rvq_quantize(T(x), T(books))
assert np.issubdtype(np.asarray(codes).dtype, np.integer), "rvq_quantize must return integer codes"
assert np.asarray(q).dtype == np.float32, "rvq_quantize must return the quantized vectors in the input's dtype (float32)"
### END HIDDEN TESTS

# %% [markdown]
# **A toy codec.** Real codecs (SoundStream, EnCodec, DAC) learn an encoder, the RVQ codebooks and a decoder together, with reconstruction, adversarial and feature losses.
# To see what RVQ alone does, we quantise the **log-magnitude STFT frames** (129 numbers every 8 ms) of training speech with 8 stages of 64 codewords, each stage's codebook fitted by k-means
# to the residuals your `rvq_quantize` leaves, and listen to test speech decoded from its tokens (with Griffin-Lim for the phase). Each stage adds 6 bits per frame: 750 bit/s.

# %%
def kmeans(data, k, iters=12, seed=0):
    """Plain k-means (Lloyd) in NumPy: (k, D) centroids."""
    rng = np.random.default_rng(seed)
    cent = data[rng.choice(len(data), k, replace=False)].copy()
    for _ in range(iters):
        assign = ((data ** 2).sum(1)[:, None] - 2 * data @ cent.T + (cent ** 2).sum(1)[None]).argmin(1)
        for j in range(k):
            members = data[assign == j]
            cent[j] = members.mean(0) if len(members) else data[rng.integers(len(data))]
    return cent


rvq_waves, rvq_lens, _, _ = A.digit_strings(train_digits, pick(200, 20), 2, 3, seed=31)
frames = np.log(np.abs(A.np_stft(fixed_length(rvq_waves, rvq_lens), N_FFT, HOP)) + 1e-3).reshape(-1, N_FFT // 2 + 1).astype(np.float32)
frames = frames[np.random.default_rng(0).permutation(len(frames))[: pick(20000, 2000)]]
books = np.zeros((0, RVQ_K, frames.shape[1]), np.float32)
residual = frames
for s in range(RVQ_STAGES):
    books = np.concatenate([books, kmeans(residual, RVQ_K, seed=s)[None].astype(np.float32)])
    _, q = rvq_quantize(to_tensor(frames), to_tensor(books))
    residual = frames - to_numpy(q)
test_wave = test_clean[0]
test_spec = A.np_stft(test_wave, N_FFT, HOP)
test_frames = np.log(np.abs(test_spec) + 1e-3).astype(np.float32)
errs = []
for s in range(1, RVQ_STAGES + 1):
    codes, q = rvq_quantize(to_tensor(test_frames), to_tensor(books[:s]))
    errs.append(float(np.sqrt(np.mean((to_numpy(q) - test_frames) ** 2))))
print("test tokens (first 6 frames, all stages):\n", to_numpy(codes)[:6])
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(np.arange(1, RVQ_STAGES + 1) * 6 * SR / HOP / 1000, errs, "o-")
ax.set_xlabel("kbit/s (stages x 6 bits x 125 frames/s)")
ax.set_ylabel("RMS error of log-magnitude")
ax.set_title("more RVQ stages, less error")
plt.show()
for s in (1, 4, RVQ_STAGES):
    _, q = rvq_quantize(to_tensor(test_frames), to_tensor(books[:s]))
    rebuilt = A.griffin_lim(np.exp(to_numpy(q)), N_FFT, HOP, n_iter=pick(32, 2), length=len(test_wave))
    print(f"{s} stage(s), {s * 6 * SR / HOP / 1000:.2f} kbit/s:")
    display(Audio(rebuilt, rate=SR, normalize=True))

# %% [markdown]
# **What codec tokens enable.** A codec turns audio into a few parallel streams of integers (EnCodec at 24 kHz: 75 frames/s, up to 32 codebooks of 1024 entries).
# A language model over these tokens generates audio the way GPT generates text:
#
# * **AudioLM** (Borsos et al., 2022): semantic tokens (from w2v-BERT) then SoundStream acoustic tokens, coarse stages before fine ones.
# * **MusicGen** (Copet et al., 2023, Meta) and **AudioGen** (Kreuk et al., 2022, Meta): **autoregressive transformers** over EnCodec tokens, conditioned on text (a T5 encoder; MusicGen also on a melody's chroma).
#   MusicGen predicts the 4 codebooks of a frame in one step with a "delay" pattern (codebook $s$ shifted by $s$ frames) instead of flattening them. Neither is a GAN or a VAE (the seeds' claim):
#   the only adversarial part is the loss used to train the codec's decoder.
# * **VALL-E** (Wang et al., 2023): text-to-speech as codec language modelling; a 3-second prompt of a voice is continued in that voice (zero-shot voice cloning; see the risks below).
# * Latent **diffusion** is the other family (Stable Audio, AudioLDM): it denoises a continuous latent of an autoencoder rather than predicting tokens.
#
# ## 10. Text-to-speech, voice conversion, and the seeds' errors · 语音合成、语音转换与种子题的错误
#
# **TTS in outline.** Text normalisation ("3.50 dollars" to words) and phonemes, an acoustic model that predicts a mel spectrogram (**Tacotron 2**: an attention-based encoder-decoder
# with a location-sensitive attention and a stop token; **FastSpeech 2**: non-autoregressive, with explicit durations, pitch and energy), and a **vocoder** that turns the mel spectrogram into a waveform
# (the original Tacotron 2 used a WaveNet; today HiFi-GAN or similar). End-to-end models (VITS) join the two; codec language models (VALL-E) and flow-matching models (Voicebox, F5-TTS) do zero-shot cloning.
# **Voice conversion** keeps what is said and changes who says it: separate content (self-supervised features such as HuBERT units, or phonetic posteriorgrams) from speaker identity (an embedding), then resynthesise.
# **Risks:** a few seconds of someone's voice now suffice to clone it: fraud and impersonation. Mitigations: consent and voice-ownership checks, watermarking generated audio (AudioSeal), anti-spoofing detectors (the ASVspoof challenges).
#
# **The seeds, corrected (S004 ch.5 and A.2, S003-Q6, S000-Q4, S001-Q15):**
#
# | the seed says | what is true |
# |---|---|
# | WaveNet is "an RNN-based text generation tool" from Google, used for NLP | WaveNet (DeepMind, 2016) is an **audio** model: a stack of dilated **causal convolutions** over raw samples with a softmax over mu-law classes (section 6). No recurrence, no text generation; as a vocoder it turns mel spectrograms (from Tacotron 2) into speech. |
# | MusicGen is a GAN, AudioGen a VAE (elsewhere MusicGen "a GPT text generator") | Both are **autoregressive transformers over EnCodec codec tokens**, conditioned on text (section 9). |
# | a "Tacotron 2" code listing: a small CNN classifier | Tacotron 2 is a sequence-to-sequence model with attention from characters to mel frames, plus a vocoder. A CNN that maps a fixed-size input to a label is not a TTS model. |
# | "Wav2LSTM", "EDSpeech", "SonicAI", "Multi-band WaveGAN", "DCGAN-/SRGAN-based Denoising" as established models | No such established models. Real names: wav2vec 2.0 (self-supervised speech features), WaveNet, WaveGlow, **Multi-band MelGAN**, Parallel WaveGAN, HiFi-GAN; enhancement with SEGAN, Demucs, Conv-TasNet, or mask-based networks as here. |
# | "WaveNet Voice Cloning", a GAN-based speech synthesis algorithm | WaveNet is not a GAN. Voice cloning in the WaveNet era was a speaker encoder (a speaker-verification network) conditioning a multi-speaker Tacotron 2 with a WaveNet vocoder (Jia et al., 2018); today codec language models (VALL-E) or flow matching. |
# | MusicGen and "Tacotron 2" code listings: a few layers that load `musicgen.pth` / `tacotron2.pth` | No such checkpoints exist for those classes; the real MusicGen ships with Meta's AudioCraft (an EnCodec tokenizer, a T5 text encoder and a transformer), and the real Tacotron 2 with NVIDIA's and ESPnet's code. |
# | "GAN Lab" is a PyTorch toolkit for GANs | GAN Lab (Kahng et al., 2018) is an **in-browser interactive visualisation** of GAN training (TensorFlow.js), a teaching tool, not a library. |
# | speech synthesis with a GAN as `generator(audio)` judged against `audio` | No text enters the model; a TTS model is conditioned on text (or a mel spectrogram, for a vocoder). |
#
# ## 11. Summary · 小结
#
# * Audio is a 1-D signal sampled at $f_s$; the STFT trades time for frequency resolution; a log-mel spectrogram (triangles equally spaced in mel, Slaney unit area) is the standard input.
# * mu-law companding gives 8-bit classes with fine steps near zero: the softmax output of WaveNet. WaveNet is a stack of dilated causal convolutions, receptive field $1 + \sum (K-1)d$;
#   sample-by-sample generation is slow even with caches, which is why vocoders went parallel and generators moved to codec tokens.
# * Mask-based enhancement, trained end to end on $-$SI-SDR; SI-SDR is scale-invariant and zero-mean, unlike the SNR.
# * CTC: per-frame labels plus blank, merge repeats then drop blanks; contrast with attention decoders and transducers.
# * RVQ: each stage quantises the residual of the previous ones; codec tokens make audio a language-modelling problem (AudioLM, MusicGen, AudioGen, VALL-E).
#
# Interview items for this chapter: `genlab questions --list --chapter audio`; a drill: `genlab drill --chapter audio`.
# 相关面试题：`genlab questions --list --chapter audio`；练习：`genlab drill --chapter audio`。
