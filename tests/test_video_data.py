"""The moving-digits clips (genlab.video) match their datasheet (datasets/moving_digits.md), and the
framework-free helpers of chapter 07 keep their promises: checksums, value range, disjoint train/test
digits, bouncing motion, the baselines, block-matching flow, clip features."""
import re
from pathlib import Path

import numpy as np
import pytest

from genlab.data import load_digits
from genlab.video import (CANVAS, block_match_flow, checksum, clip_features, copy_last, linear_extrapolation,
                          moving_digits)

ROOT = Path(__file__).resolve().parents[1]
SHEET = (ROOT / "datasets" / "moving_digits.md").read_text(encoding="utf-8")


def _sheet_sha(prefix: str) -> str:
    m = re.search(re.escape(prefix) + r"[^|]*\|\s*`([0-9a-f]{64})`", SHEET)
    assert m, f"no checksum for {prefix} in the datasheet"
    return m.group(1)


@pytest.fixture(scope="module")
def train():
    return moving_digits("train", 2000)


@pytest.fixture(scope="module")
def test_clips():
    return moving_digits("test", 300)


def test_checksums_match_the_datasheet(train, test_clips):
    assert checksum(train) == _sheet_sha('`moving_digits("train", 2000)`')
    assert checksum(test_clips) == _sheet_sha('`moving_digits("test", 300)`')


def test_shapes_range_and_determinism(train, test_clips):
    assert train.shape == (2000, 20, CANVAS, CANVAS) and train.dtype == np.float32
    assert test_clips.shape == (300, 20, CANVAS, CANVAS)
    assert train.min() == 0.0 and train.max() <= 1.0
    np.testing.assert_array_equal(moving_digits("train", 5), train[:5])  # QUICK's clips are a prefix
    assert not np.array_equal(moving_digits("train", 5, seed=3), train[:5])
    assert 0.08 < train.mean() < 0.14 and abs(train.mean() - test_clips.mean()) < 0.01


def test_train_and_test_use_disjoint_digit_images(train, test_clips):
    def sprites(split):
        x = load_digits(split).x
        return {np.kron(im, np.ones((2, 2), np.float32)).tobytes() for im in x}
    tr, te = sprites("train"), sprites("test")
    # a clip with one digit shows its sprite in full somewhere in frame 0: find some and check their split
    found = 0
    for clips, own, other in ((train[:200], tr, te), (test_clips[:200], te, tr)):
        for clip in clips:
            frame = clip[0]
            for y in range(CANVAS - 15):
                for x in range(CANVAS - 15):
                    key = frame[y:y + 16, x:x + 16].tobytes()
                    if key in own:
                        found += 1
                    assert key not in other or key in own
    assert found > 100


def test_motion_is_bounded_and_continuous(train):
    diffs = np.abs(np.diff(train[:100], axis=1)).sum(axis=(2, 3))
    assert (diffs > 0).mean() > 0.95  # something moves in nearly every frame pair
    # the mass of a clip is constant unless digits overlap: one-digit clips keep it exactly
    mass = train[:200].sum(axis=(2, 3))
    assert (np.ptp(mass, axis=1) < 1e-3).mean() > 0.3


def test_baselines():
    ctx = np.random.default_rng(0).random((3, 5, 4, 4)).astype(np.float32)
    cl = copy_last(ctx, 3)
    assert cl.shape == (3, 3, 4, 4) and np.array_equal(cl[:, 2], ctx[:, -1])
    le = linear_extrapolation(ctx, 2)
    np.testing.assert_allclose(le[:, 0], np.clip(2 * ctx[:, -1] - ctx[:, -2], 0, 1), atol=1e-6)


def test_block_matching_recovers_integer_motion(test_clips):
    f0, f1 = test_clips[:40, 3], test_clips[:40, 4]
    flow = block_match_flow(f0, f1, radius=3, window=3)
    assert flow.shape == (40, CANVAS, CANVAS, 2)
    # on the digits' pixels, f1 read at p + flow equals f0 (integer flow: an exact shift where the match is unique)
    ys, xs = np.meshgrid(np.arange(CANVAS), np.arange(CANVAS), indexing="ij")
    sx = np.clip(xs + flow[..., 0], 0, CANVAS - 1).astype(int)
    sy = np.clip(ys + flow[..., 1], 0, CANVAS - 1).astype(int)
    back = f1[np.arange(40)[:, None, None], sy, sx]
    on = f0 > 0.3
    assert np.abs(back - f0)[on].mean() < 0.1 * np.abs(f1 - f0)[on].mean()
    # flat background: zero flow
    blank = np.zeros((1, 16, 16), np.float32)
    assert not block_match_flow(blank, blank).any()


def test_clip_features():
    pytest.importorskip("torch")
    clips = moving_digits("test", 6)[:, :8]
    f = clip_features(clips, framework="torch")
    assert f.shape == (6, 128) and np.isfinite(f).all()
    assert np.allclose(f[:, 64:], clip_features(clips, framework="torch")[:, 64:])
    still = np.repeat(clips[:, :1], 8, axis=1)
    assert np.abs(clip_features(still, framework="torch")[:, 64:]).max() == 0.0  # no motion, no motion features
    with pytest.raises(ValueError):
        clip_features(clips[:, :, :30])
