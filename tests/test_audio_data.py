"""Chapter 06_audio's data (genlab.audio, NumPy only): the checksummed spoken digits and their held-out voices,
digit strings and noise at a set SNR, the synthesised notes and the course's pitch detector, the NumPy STFT and its
inverse, Griffin-Lim and the word error rate."""
import hashlib

import numpy as np
import pytest

from genlab import audio

ROOT = audio.DIGITS_PATH.parents[1]


def test_checksum_matches_the_file_and_the_datasheet():
    digest = hashlib.sha256(audio.DIGITS_PATH.read_bytes()).hexdigest()
    assert digest == audio.DIGITS_SHA256
    sheet = (ROOT / "datasets" / "spoken_digits.md").read_text(encoding="utf-8")
    assert audio.DIGITS_SHA256 in sheet
    assert f"{audio.DIGITS_PATH.stat().st_size:,}" in sheet
    assert audio.DIGITS_PATH.stat().st_size < 6_000_000, "the spoken digits must stay a few MB"


def test_a_changed_file_is_refused(tmp_path, monkeypatch):
    bad = tmp_path / "spoken_digits.npz"
    data = bytearray(audio.DIGITS_PATH.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad.write_bytes(bytes(data))
    monkeypatch.setattr(audio, "DIGITS_PATH", bad)
    audio._raw_digits.cache_clear()
    try:
        with pytest.raises(ValueError, match="sha256"):
            audio.load_digits("train")
    finally:
        audio._raw_digits.cache_clear()


def test_splits_hold_out_voices_and_cover_every_digit():
    train, test = audio.load_digits("train"), audio.load_digits("test")
    assert len(train) == 640 and len(test) == 160
    train_voices = {train.voice_names[v] for v in train.voice}
    test_voices = {test.voice_names[v] for v in test.voice}
    assert not train_voices & test_voices
    # held out in both respects: no accent and no variant of a test voice occurs in training
    split = lambda names: ({n.split("+")[0] for n in names}, {n.split("+")[1] for n in names})  # noqa: E731
    (tr_acc, tr_var), (te_acc, te_var) = split(train_voices), split(test_voices)
    assert not tr_acc & te_acc and not tr_var & te_var
    for data in (train, test):
        assert np.bincount(data.digits, minlength=10).min() == len(data) // 10
        for clip in data.clips:
            assert clip.dtype == np.float32 and 1500 < len(clip) < 7000
            assert 0.85 < np.abs(clip).max() <= 0.91
    with pytest.raises(ValueError):
        audio.load_digits("val")


def test_digit_strings_concatenate_one_voice_with_pauses():
    data = audio.load_digits("test")
    waves, lengths, labels, label_lengths = audio.digit_strings(data, 6, 3, 5, seed=4)
    assert waves.shape == (6, lengths.max()) and labels.shape == (6, 5)
    assert np.all((label_lengths >= 3) & (label_lengths <= 5))
    for w, n, y, k in zip(waves, lengths, labels, label_lengths):
        assert np.all(y[:k] >= 0) and np.all(y[k:] == -1)
        assert np.all(w[n:] == 0)
    again = audio.digit_strings(data, 6, 3, 5, seed=4)
    assert np.array_equal(again[0], waves) and np.array_equal(again[2], labels)


@pytest.mark.parametrize("kind", audio.NOISE_KINDS)
@pytest.mark.parametrize("snr", [-5.0, 0.0, 10.0])
def test_noise_is_added_at_the_requested_snr(kind, snr):
    data = audio.load_digits("train")
    clean, lengths, _, _ = audio.digit_strings(data, 3, 2, 3, seed=1)
    noisy = audio.add_noise(clean, snr, kind, seed=2, data=data, lengths=lengths)
    for c, x, n in zip(clean, noisy, lengths):
        noise = x[:n] - c[:n]
        got = 10 * np.log10(np.mean(c[:n].astype(float) ** 2) / np.mean(noise.astype(float) ** 2))
        assert abs(got - snr) < 1e-3
        assert np.all(x[n:] == 0)
    with pytest.raises(ValueError):
        audio.make_noise("pink", 10, np.random.default_rng(0))


def test_notes_have_their_pitch_and_the_detector_finds_it():
    waves, notes, timbres = audio.note_set(24, seed=0)
    assert waves.shape == (24, 2000) and set(timbres) <= {0, 1, 2}
    est = np.array([audio.estimate_pitch(w) for w in waves])
    err = audio.cents(est, audio.midi_to_hz(np.array(audio.NOTE_MIDI)[notes]))
    assert np.abs(err).max() < 25
    assert np.array_equal(audio.note_set(3, seed=5)[0], audio.note_set(3, seed=5)[0])
    assert audio.estimate_pitch(np.zeros(1000)) == 0.0
    # a pure tone between notes, and an octave apart: no octave errors
    t = np.arange(2000) / audio.MUSIC_RATE
    for f in (200.0, 311.1, 400.0, 650.0):
        assert abs(audio.cents(audio.estimate_pitch(np.sin(2 * np.pi * f * t)), f)) < 5
    cond = audio.pitch_conditioning([0, 7], [2, 0])
    assert cond.shape == (2, 11) and cond.sum() == 4 and cond[0, 0] == cond[0, 10] == cond[1, 7] == cond[1, 8] == 1


def test_numpy_stft_inverts_and_matches_a_direct_dft():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 1000))
    spec = audio.np_stft(x, 64, 16)
    assert spec.shape == (2, 1 + 1000 // 16, 33)
    assert np.abs(audio.np_istft(spec, 64, 16, length=1000) - x).max() < 1e-10
    # frame 5 by the DFT formula: samples 5 * 16 - 32 ... of the signal, Hann-windowed
    n = np.arange(64)
    seg = x[0, 5 * 16 - 32: 5 * 16 + 32] * audio.hann(64)
    want = np.array([np.sum(seg * np.exp(-2j * np.pi * k * n / 64)) for k in range(33)])
    assert np.abs(spec[0, 5] - want).max() < 1e-9


def test_griffin_lim_recovers_a_magnitude():
    x = audio.make_note(64, "organ", 0.5, seed=1)
    mag = np.abs(audio.np_stft(x))
    y = audio.griffin_lim(mag, n_iter=32, length=len(x))
    assert y.shape == x.shape
    assert audio.spectral_convergence(x, y) < 0.2
    assert audio.spectral_convergence(x, np.random.default_rng(0).normal(size=len(x))) > 0.9


def test_word_error_rate():
    assert audio.word_error_rate([[1, 2, 3]], [[1, 2, 3]]) == 0.0
    assert audio.word_error_rate([[1, 2, 3], [4, 5]], [[1, 3], [4, 5, 6]]) == pytest.approx(2 / 5)
    assert audio.word_error_rate([[1, 2]], [[2, 1]]) == 1.0
    assert audio.word_error_rate([[1]], [[]]) == 1.0
