"""Data and framework-neutral helpers of chapter 06_audio (NumPy only).

- The spoken digits (``datasets/spoken_digits.npz``, made once by ``tools/make_spoken_digits.py`` with
  espeak-ng; datasheet ``datasets/spoken_digits.md``): :func:`load_digits`, checked against
  :data:`DIGITS_SHA256`; digit strings for CTC (:func:`digit_strings`) and noisy copies at a set SNR
  (:func:`add_noise`: white, babble made of other utterances, mains hum), made at run time.
- The synthesised music set (:func:`make_note`, :func:`note_set`, :func:`melody`): notes with an
  attack-decay envelope in several timbres, chords and short melodies, from a fixed seed.
- The course's own pitch detector (:func:`estimate_pitch`, normalised autocorrelation), an STFT / inverse STFT
  and Griffin-Lim in NumPy for listening, and the word error rate (:func:`word_error_rate`).

Nothing here implements an exercise of the chapter: the mel filterbank, mu-law, causal padding and the
receptive field, SI-SDR, greedy CTC decoding and residual vector quantisation are written by the learner.
"""
from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

DIGITS_PATH = Path(__file__).resolve().parents[1] / "datasets" / "spoken_digits.npz"
DIGITS_SHA256 = "1f8e82bc47a8de4071a090fd3a351f8e469b66fa824f75ffc10054c369ea4f27"
SAMPLE_RATE = 8000           # the spoken digits
MUSIC_RATE = 4000            # the music set (notes up to C5 with harmonics below 2 kHz)
WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
NOTE_NAMES = ("C4", "D4", "E4", "F4", "G4", "A4", "B4", "C5")
NOTE_MIDI = (60, 62, 64, 65, 67, 69, 71, 72)
TIMBRES = ("sine", "organ", "reed")
NOISE_KINDS = ("white", "babble", "hum")


def midi_to_hz(m) -> np.ndarray:
    """Equal temperament, A4 (MIDI 69) = 440 Hz."""
    return 440.0 * 2.0 ** ((np.asarray(m, dtype=np.float64) - 69.0) / 12.0)


# ----------------------------------------------------------------------------------------------- spoken digits

@dataclass(frozen=True)
class Digits:
    """One split of the spoken digits: ``clips`` (list of float32 waveforms in [-1, 1] at 8 kHz),
    ``digits`` (int, 0-9), ``voice`` (int voice id) and ``voice_names`` (espeak-ng voice of each id)."""
    clips: tuple
    digits: np.ndarray
    voice: np.ndarray
    voice_names: tuple

    def __len__(self) -> int:
        return len(self.clips)


@lru_cache(maxsize=1)
def _raw_digits() -> dict:
    data = DIGITS_PATH.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != DIGITS_SHA256:
        raise ValueError(f"{DIGITS_PATH} has sha256 {digest}, expected {DIGITS_SHA256}: the file changed "
                         "(remake it with tools/make_spoken_digits.py and update the datasheet)")
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def load_digits(split: str = "train") -> Digits:
    """The training voices (``"train"``: 640 utterances) or the held-out voices (``"test"``: 160)."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    raw = _raw_digits()
    ends = np.cumsum(raw["lengths"])
    audio = raw["audio"].astype(np.float32) / 32767.0
    keep = np.flatnonzero(raw["test"] == (split == "test"))
    clips = tuple(audio[ends[i] - raw["lengths"][i]: ends[i]] for i in keep)
    return Digits(clips, raw["digits"][keep].astype(np.int64), raw["voice"][keep].astype(np.int64),
                  tuple(str(v) for v in raw["voice_names"]))


def digit_strings(data: Digits, n: int, min_len: int = 3, max_len: int = 5, seed: int = 0,
                  gap_ms: tuple = (30, 120), same_voice: bool = True):
    """``n`` spoken digit strings made by concatenating utterances with short silent gaps.

    Returns ``(waves, wave_lengths, labels, label_lengths)``: waves (n, T) float32 zero-padded to the longest,
    labels (n, max_len) int64 digits padded with -1. With ``same_voice`` a string is read by one voice.
    """
    rng = np.random.default_rng(seed)
    by_voice = {v: np.flatnonzero(data.voice == v) for v in np.unique(data.voice)}
    waves, labels = [], []
    for _ in range(n):
        k = int(rng.integers(min_len, max_len + 1))
        pool = by_voice[int(rng.choice(list(by_voice)))] if same_voice else np.arange(len(data))
        idx = rng.choice(pool, size=k)
        parts = [np.zeros(int(rng.integers(*gap_ms)) * SAMPLE_RATE // 1000, np.float32)]
        for i in idx:
            parts += [data.clips[i], np.zeros(int(rng.integers(*gap_ms)) * SAMPLE_RATE // 1000, np.float32)]
        waves.append(np.concatenate(parts))
        labels.append(data.digits[idx])
    lengths = np.array([len(w) for w in waves], dtype=np.int64)
    out = np.zeros((n, lengths.max()), np.float32)
    lab = np.full((n, max_len), -1, np.int64)
    for i, (w, y) in enumerate(zip(waves, labels)):
        out[i, :len(w)] = w
        lab[i, :len(y)] = y
    return out, lengths, lab, np.array([len(y) for y in labels], dtype=np.int64)


def make_noise(kind: str, length: int, rng: np.random.Generator, data: Digits | None = None) -> np.ndarray:
    """A noise signal of ``length`` samples at 8 kHz: ``white`` (Gaussian), ``babble`` (four other utterances of
    ``data`` summed at random offsets, looped) or ``hum`` (50 Hz mains hum with decaying harmonics and a little hiss)."""
    if kind == "white":
        return rng.normal(size=length).astype(np.float32)
    if kind == "hum":
        t = np.arange(length) / SAMPLE_RATE
        f0 = 50.0 * (1 + 0.002 * rng.normal())
        phases = rng.uniform(0, 2 * np.pi, 12)
        x = sum(np.sin(2 * np.pi * f0 * h * t + phases[h - 1]) / h for h in range(1, 13))
        return (x + 0.05 * rng.normal(size=length)).astype(np.float32)
    if kind == "babble":
        if data is None:
            raise ValueError("babble noise needs the utterances to mix (data=...)")
        x = np.zeros(length, np.float32)
        for _ in range(4):
            talker = np.concatenate([data.clips[int(i)] for i in rng.integers(0, len(data), 1 + length // 2000)])
            start = int(rng.integers(0, max(len(talker) - length, 1)))
            seg = np.resize(talker[start:], length)
            x += seg * rng.uniform(0.5, 1.0)
        return x
    raise ValueError(f"noise kind must be one of {NOISE_KINDS}, got {kind!r}")


def add_noise(clean: np.ndarray, snr_db: float, kind: str, seed: int = 0, data: Digits | None = None,
              lengths: np.ndarray | None = None) -> np.ndarray:
    """``clean`` (T,) or (B, T) plus noise scaled so that 10 log10(P_clean / P_noise) = ``snr_db`` per row
    (powers over each row's first ``lengths[i]`` samples; the padding stays silent)."""
    rng = np.random.default_rng(seed)
    x = np.atleast_2d(np.asarray(clean, dtype=np.float32))
    lens = np.full(len(x), x.shape[1]) if lengths is None else np.asarray(lengths)
    out = x.copy()
    for i, n in enumerate(lens):
        noise = make_noise(kind, int(n), rng, data)
        p_clean = np.mean(x[i, :n].astype(np.float64) ** 2)
        p_noise = np.mean(noise.astype(np.float64) ** 2)
        out[i, :n] += (noise * np.sqrt(p_clean / (p_noise * 10.0 ** (snr_db / 10.0)))).astype(np.float32)
    return out.reshape(np.shape(clean)) if np.ndim(clean) == 1 else out


def word_error_rate(references, hypotheses) -> float:
    """Levenshtein distance (substitutions + deletions + insertions) between word sequences, summed over
    the pairs and divided by the total number of reference words."""
    errors = total = 0
    for ref, hyp in zip(references, hypotheses, strict=True):
        ref, hyp = list(ref), list(hyp)
        d = np.arange(len(hyp) + 1)
        for i, r in enumerate(ref, 1):
            prev, d[0] = d.copy(), i
            for j, h in enumerate(hyp, 1):
                d[j] = min(prev[j] + 1, d[j - 1] + 1, prev[j - 1] + (r != h))
        errors += int(d[-1])
        total += len(ref)
    return errors / max(total, 1)


# ----------------------------------------------------------------------------------------------- music

def make_note(midi: float, timbre: str = "sine", seconds: float = 0.5, sr: int = MUSIC_RATE, seed: int = 0,
              vibrato: bool = True) -> np.ndarray:
    """One note: a harmonic tone at ``midi`` with an attack (10-30 ms) and exponential decay, float32 in [-0.9, 0.9].

    Timbres: ``sine`` (the fundamental), ``organ`` (harmonics 1-4 with amplitudes 1, 0.5, 0.3, 0.2),
    ``reed`` (odd harmonics 1/k up to the Nyquist limit: a soft square wave).
    """
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sr))
    t = np.arange(n) / sr
    f0 = float(midi_to_hz(midi))
    phase = 2 * np.pi * f0 * t + rng.uniform(0, 2 * np.pi)
    if vibrato:
        phase += 0.002 * f0 / 5.0 * np.sin(2 * np.pi * 5.0 * t) * 2 * np.pi
    if timbre == "sine":
        amps = {1: 1.0}
    elif timbre == "organ":
        amps = {1: 1.0, 2: 0.5, 3: 0.3, 4: 0.2}
    elif timbre == "reed":
        amps = {k: 1.0 / k for k in range(1, 40, 2)}
    else:
        raise ValueError(f"timbre must be one of {TIMBRES}, got {timbre!r}")
    x = sum(a * np.sin(k * phase) for k, a in amps.items() if k * f0 < 0.45 * sr)
    attack = rng.uniform(0.01, 0.03)
    env = np.minimum(t / attack, 1.0) * np.exp(-np.maximum(t - attack, 0) * rng.uniform(1.5, 3.0))
    x = x * env
    return (0.9 * x / np.abs(x).max()).astype(np.float32)


def note_set(n: int, seconds: float = 0.5, sr: int = MUSIC_RATE, seed: int = 0):
    """``n`` random notes: (waves (n, T) float32, note index (n,) into NOTE_MIDI, timbre index (n,) into TIMBRES)."""
    rng = np.random.default_rng(seed)
    notes = rng.integers(0, len(NOTE_MIDI), n)
    timbres = rng.integers(0, len(TIMBRES), n)
    seeds = rng.integers(0, 2**31, n)
    waves = np.stack([make_note(NOTE_MIDI[p], TIMBRES[k], seconds, sr, int(s)) for p, k, s in zip(notes, timbres, seeds)])
    return waves, notes.astype(np.int64), timbres.astype(np.int64)


def chord(midis, timbre: str = "organ", seconds: float = 1.0, sr: int = MUSIC_RATE, seed: int = 0) -> np.ndarray:
    """Several notes sounded together (normalised to a peak of 0.9)."""
    x = sum(make_note(m, timbre, seconds, sr, seed + i) for i, m in enumerate(midis))
    return (0.9 * x / np.abs(x).max()).astype(np.float32)


def melody(n_notes: int = 8, note_seconds: float = 0.25, sr: int = MUSIC_RATE, seed: int = 0, timbre: str = "organ"):
    """A short random melody on the C-major scale: (wave, the MIDI numbers played)."""
    rng = np.random.default_rng(seed)
    walk = np.clip(np.cumsum(rng.integers(-2, 3, n_notes)) + 3, 0, len(NOTE_MIDI) - 1)
    midis = [NOTE_MIDI[i] for i in walk]
    return np.concatenate([make_note(m, timbre, note_seconds, sr, seed + i) for i, m in enumerate(midis)]), midis


def pitch_conditioning(notes, timbres) -> np.ndarray:
    """One-hot note (len(NOTE_MIDI)) and one-hot timbre (len(TIMBRES)) side by side: (n, 11) float32."""
    notes, timbres = np.asarray(notes), np.asarray(timbres)
    out = np.zeros((len(notes), len(NOTE_MIDI) + len(TIMBRES)), np.float32)
    out[np.arange(len(notes)), notes] = 1.0
    out[np.arange(len(notes)), len(NOTE_MIDI) + timbres] = 1.0
    return out


def estimate_pitch(x: np.ndarray, sr: int = MUSIC_RATE, fmin: float = 150.0, fmax: float = 700.0) -> float:
    """Fundamental frequency (Hz) of a (roughly stationary) tone by normalised autocorrelation.

    The autocorrelation of the loudest half of the signal is normalised by its value at lag 0; the first lag in
    [sr/fmax, sr/fmin] whose value is within 10% of the best peak is taken (the shortest period, which avoids
    octave errors), refined by a parabola through its neighbours. Returns 0.0 for silence.
    """
    x = np.asarray(x, dtype=np.float64)
    energy = np.convolve(x ** 2, np.ones(256), "same")
    start = int(np.argmax(energy)) - len(x) // 4
    seg = x[max(start, 0): max(start, 0) + len(x) // 2]
    seg = seg - seg.mean()
    if np.sum(seg ** 2) < 1e-8:
        return 0.0
    n = len(seg)
    spec = np.fft.rfft(seg, 2 * n)
    ac = np.fft.irfft(np.abs(spec) ** 2)[:n]
    ac = ac / ac[0] / (1 - np.arange(n) / n + 1e-9)   # unbiased
    lo, hi = int(sr / fmax), min(int(sr / fmin) + 1, n - 2)
    window = ac[lo:hi + 1]
    best = window.max()
    peaks = [i for i in range(1, len(window) - 1) if window[i] >= window[i - 1] and window[i] >= window[i + 1]]
    cand = [i for i in peaks if window[i] >= 0.9 * best] or [int(np.argmax(window))]
    k = lo + cand[0]
    a, b, c = ac[k - 1], ac[k], ac[k + 1]
    shift = 0.5 * (a - c) / (a - 2 * b + c) if (a - 2 * b + c) != 0 else 0.0
    return float(sr / (k + shift))


def cents(f, f_ref) -> np.ndarray:
    """The interval from f_ref to f in cents (100 per semitone)."""
    return 1200.0 * np.log2(np.asarray(f, dtype=np.float64) / np.asarray(f_ref, dtype=np.float64))


# ----------------------------------------------------------------------------------------------- STFT in NumPy

def hann(n_fft: int) -> np.ndarray:
    """The periodic Hann window (what torch.hann_window, tf.signal.hann_window and librosa use for the STFT)."""
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)


def np_stft(x: np.ndarray, n_fft: int = 256, hop: int = 64) -> np.ndarray:
    """Centred STFT (zero padding of n_fft // 2 each side, periodic Hann window): (..., frames, n_fft // 2 + 1) complex."""
    x = np.asarray(x, dtype=np.float64)
    pad = [(0, 0)] * (x.ndim - 1) + [(n_fft // 2, n_fft // 2)]
    xp = np.pad(x, pad)
    n_frames = 1 + (xp.shape[-1] - n_fft) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(n_frames)[:, None]
    return np.fft.rfft(xp[..., idx] * hann(n_fft), axis=-1)


def np_istft(spec: np.ndarray, n_fft: int = 256, hop: int = 64, length: int | None = None) -> np.ndarray:
    """Inverse of :func:`np_stft` by weighted overlap-add (exact where the squared windows overlap)."""
    frames = np.fft.irfft(spec, n=n_fft, axis=-1) * hann(n_fft)
    n_frames = frames.shape[-2]
    total = n_fft + hop * (n_frames - 1)
    out = np.zeros(frames.shape[:-2] + (total,))
    norm = np.zeros(total)
    for i in range(n_frames):
        out[..., i * hop: i * hop + n_fft] += frames[..., i, :]
        norm[i * hop: i * hop + n_fft] += hann(n_fft) ** 2
    out = out / np.maximum(norm, 1e-8)
    out = out[..., n_fft // 2:]
    return out[..., :length] if length is not None else out[..., : total - n_fft]


def griffin_lim(magnitude: np.ndarray, n_fft: int = 256, hop: int = 64, n_iter: int = 32, length: int | None = None,
                seed: int = 0, momentum: float = 0.99) -> np.ndarray:
    """A waveform whose STFT magnitude approximates ``magnitude`` (frames, bins): Griffin & Lim (1984), with the
    "fast" momentum of Perraudin et al. (2013). The phase starts random and is replaced, each iteration, by the
    phase of the STFT of the current estimate."""
    rng = np.random.default_rng(seed)
    angles = np.exp(2j * np.pi * rng.random(magnitude.shape))
    prev = np.zeros_like(angles)
    for _ in range(n_iter):
        y = np_istft(magnitude * angles, n_fft, hop, length)
        rebuilt = np_stft(y, n_fft, hop)[..., : magnitude.shape[-2], :]
        accel = rebuilt - momentum / (1 + momentum) * prev
        prev = rebuilt
        angles = accel / np.maximum(np.abs(accel), 1e-12)
    return np_istft(magnitude * angles, n_fft, hop, length).astype(np.float32)


def spectral_convergence(x: np.ndarray, y: np.ndarray, n_fft: int = 256, hop: int = 64) -> float:
    """|| |STFT x| - |STFT y| ||_F / || |STFT x| ||_F: how far y's magnitude is from x's (0 = identical)."""
    a, b = np.abs(np_stft(x, n_fft, hop)), np.abs(np_stft(y, n_fft, hop))
    n = min(a.shape[-2], b.shape[-2])
    return float(np.linalg.norm(a[..., :n, :] - b[..., :n, :]) / np.linalg.norm(a[..., :n, :]))
