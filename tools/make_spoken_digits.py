"""Make datasets/spoken_digits.npz: the digits "zero" to "nine" spoken by espeak-ng (chapter 06_audio).

Run once by the course's authors (``apt-get install -y espeak-ng``; learners and tests never need it):

    python tools/make_spoken_digits.py            # writes datasets/spoken_digits.npz and prints its sha256

Each utterance is synthesised at 22,050 Hz by espeak-ng (formant synthesis), resampled to 8 kHz
(scipy's polyphase resampler), trimmed of leading and trailing silence (below 2% of the peak, with 10 ms
kept), normalised to a peak of 0.9 and stored as int16. The voices are an accent (espeak-ng's English
voices) combined with a voice variant (pitch range and formants: m1, f2, ...), each at two speeds and two
base pitches. The TEST voices share neither accent nor variant with the training voices (held-out
speakers). Copy the printed sha256 into genlab/audio.py (DIGITS_SHA256) and datasets/spoken_digits.md.
"""
from __future__ import annotations

import hashlib
import io
import subprocess
import wave
from math import gcd
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "datasets" / "spoken_digits.npz"
SAMPLE_RATE = 8000
WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
TRAIN_ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-029")
TRAIN_VARIANTS = ("m1", "m3", "f2", "f4")
TEST_ACCENTS = ("en-gb-x-rp", "en-gb-x-gbclan")
TEST_VARIANTS = ("m2", "f3")
SPEEDS = (140, 185)   # words per minute
PITCHES = (35, 65)    # espeak-ng's 0-99 pitch scale


def synth(voice: str, word: str, speed: int, pitch: int) -> np.ndarray:
    raw = subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", word],
                         check=True, capture_output=True).stdout
    # espeak-ng streams a WAV whose header has no length: read the header for the rate, the rest as int16
    with wave.open(io.BytesIO(raw[:44] + b"")) as w:
        rate = w.getframerate()
    x = np.frombuffer(raw[44:len(raw) - (len(raw) - 44) % 2], dtype="<i2").astype(np.float64) / 32768.0
    g = gcd(SAMPLE_RATE, rate)
    y = resample_poly(x, SAMPLE_RATE // g, rate // g)
    loud = np.flatnonzero(np.abs(y) > 0.02 * np.abs(y).max())
    pad = SAMPLE_RATE // 100
    y = y[max(loud[0] - pad, 0): loud[-1] + pad + 1]
    return y / np.abs(y).max() * 0.9


def main() -> None:
    clips, labels, voices, splits, voice_names = [], [], [], [], []
    for split, accents, variants in (("train", TRAIN_ACCENTS, TRAIN_VARIANTS), ("test", TEST_ACCENTS, TEST_VARIANTS)):
        for accent in accents:
            for variant in variants:
                voice = f"{accent}+{variant}"
                vid = len(voice_names)
                voice_names.append(voice)
                for digit, word in enumerate(WORDS):
                    for speed in SPEEDS:
                        for pitch in PITCHES:
                            clips.append(np.round(synth(voice, word, speed, pitch) * 32767).astype(np.int16))
                            labels.append(digit)
                            voices.append(vid)
                            splits.append(split == "test")
    lengths = np.array([len(c) for c in clips], dtype=np.int32)
    buf = io.BytesIO()
    np.savez_compressed(buf, audio=np.concatenate(clips), lengths=lengths, digits=np.array(labels, dtype=np.int8),
                        voice=np.array(voices, dtype=np.int8), test=np.array(splits, dtype=bool),
                        voice_names=np.array(voice_names), sample_rate=np.int32(SAMPLE_RATE))
    OUT.write_bytes(buf.getvalue())
    print(f"{len(clips)} utterances, {lengths.sum() / SAMPLE_RATE:.1f} s, lengths {lengths.min()}-{lengths.max()} samples; "
          f"{OUT.stat().st_size:,} bytes")
    print("sha256", hashlib.sha256(OUT.read_bytes()).hexdigest())


if __name__ == "__main__":
    main()
