"""The reference values that chapter 09's check cell compares the student's metrics with are the
course's own NumPy implementations (genlab.metrics) on the same inputs: recomputed here, so they
cannot drift from the code they stand for."""
import re
from pathlib import Path

import numpy as np

import genlab.metrics as gm
from genlab.data import load_digits

SOURCE = Path(__file__).resolve().parents[1] / "authoring" / "09_evaluation" / "evaluation.py"


def test_check_cell_reference_values_match_genlab_metrics():
    text = SOURCE.read_text(encoding="utf-8")
    stored = {name: float(v) for name, v in re.findall(r'"([A-Za-z ()0-9]+)": \([^\n]*, ([0-9.]+)\),', text)}
    train, test = load_digits("train"), load_digits("test")
    f_train, f_test = gm.digits_features(train.x), gm.digits_features(test.x)
    noisy = np.clip(test.x + 0.1, 0, 1)
    want = {
        "FD": gm.frechet_distance(f_train, f_test),
        "KID (one subset of 297)": gm.mmd2_unbiased(f_train[:297], f_test),
        "IS": gm.inception_score(gm.digits_probs(test.x))[0],
        "precision": gm.precision_recall(f_train[:400], f_test)[0],
        "PSNR": gm.psnr(test.x, noisy, 1.0),
        "SSIM": gm.ssim(test.x, noisy, 1.0, sigma=0.5),
    }
    assert set(stored) == set(want)
    for name, value in want.items():
        assert abs(stored[name] - value) <= 1e-9 * max(1.0, abs(value)), (name, stored[name], value)
