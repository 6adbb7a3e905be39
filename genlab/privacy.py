"""Framework-neutral (NumPy) plumbing for chapter 08 (privacy): fixed features, client splits, the
watermark's green lists, a toy language model, attack metrics and a toy table.

Nothing here implements one of the chapter's exercises (the Gaussian mechanism, the DP-SGD
aggregation, Poisson sampling, the RDP accountant, membership scores, FedAvg, the watermark
z-score): the notebooks write those, and the grader hides ``opacus`` and ``dp_accounting``.
"""
from __future__ import annotations

import numpy as np

__all__ = ["fixed_features", "split_by_digit", "green_mask", "bigram_logits", "tpr_at_fpr", "toy_patients",
           "QUASI_IDENTIFIERS"]


def fixed_features(x, n_features: int = 512, scale: float = 0.35, seed: int = 123) -> np.ndarray:
    """Random Fourier features of (N, 64) pixels: ``sqrt(2 / F) * cos(x W + b) * 5`` with W ~ N(0, scale^2), b ~ U(0, 2 pi).

    The map is drawn from ``seed`` alone and never looks at data, so using it costs no privacy
    (Tramer & Boneh, 2021: good *fixed* features make DP-SGD's job a linear problem). The factor 5
    puts the feature norm near 5 (||phi(x)||^2 ~ 25 for every x), so clipping at C = 1 bites gently.
    """
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    rng = np.random.default_rng(seed)
    w = rng.normal(scale=scale, size=(x.shape[1], n_features))
    b = rng.uniform(0.0, 2 * np.pi, n_features)
    return (np.sqrt(2.0 / n_features) * np.cos(x @ w + b) * 5.0).astype(np.float32)


def split_by_digit(y, n_clients: int = 5, seed: int = 0) -> list[np.ndarray]:
    """Non-IID federated clients: client k holds every example of digits 2k and 2k + 1 (n_clients = 5),
    or, in general, the digits d with d % n_clients == k. Returns index arrays (sizes differ)."""
    y = np.asarray(y)
    if not 1 <= n_clients <= 10:
        raise ValueError(f"n_clients must be in 1..10, got {n_clients}")
    rng = np.random.default_rng(seed)
    digits = np.arange(10)
    owner = {int(d): (i // (10 // n_clients)) % n_clients if n_clients in (1, 2, 5, 10) else int(d) % n_clients
             for i, d in enumerate(digits)}
    return [rng.permutation(np.flatnonzero([owner[int(v)] == k for v in y])) for k in range(n_clients)]


def green_mask(prev_token: int, vocab_size: int, gamma: float, key: int = 42) -> np.ndarray:
    """The watermark's green list after ``prev_token`` (Kirchenbauer et al., 2023): a boolean (vocab_size,)
    mask with exactly ``int(gamma * vocab_size)`` True entries, drawn by a PRNG seeded with (key, prev_token).

    Whoever knows ``key`` can recompute it from the text alone; nobody else can tell green from red.
    """
    if not 0.0 < gamma < 1.0:
        raise ValueError(f"gamma must be in (0, 1), got {gamma}")
    rng = np.random.default_rng([int(key), int(prev_token)])
    mask = np.zeros(int(vocab_size), dtype=bool)
    mask[rng.permutation(int(vocab_size))[: int(gamma * vocab_size)]] = True
    return mask


def bigram_logits(vocab_size: int = 500, temperature: float = 1.0, seed: int = 0) -> np.ndarray:
    """A toy language model: next-token logits (vocab_size, vocab_size) for each previous token.

    Heavy-tailed logits (a few likely continuations per token, like real text); ``temperature`` < 1
    lowers the entropy (the regime where a watermark has little room).
    """
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((vocab_size, vocab_size)) * 2.5 / temperature).astype(np.float64)


def tpr_at_fpr(labels, scores, fpr: float = 0.01) -> float:
    """The attack's true-positive rate at a false-positive rate of at most ``fpr`` (Carlini et al., 2022):
    the metric that says whether an attack identifies *some* members with confidence."""
    from sklearn.metrics import roc_curve

    f, t, _ = roc_curve(np.asarray(labels), np.asarray(scores))
    return float(t[f <= fpr].max())


QUASI_IDENTIFIERS = ("zip", "age", "sex")


_PATIENTS = [  # name, zip, age, sex, diagnosis: built so that generalisation gives k = 3 with one homogeneous group
    ("Alice", "47677", 29, "F", "flu"), ("Bob", "47602", 22, "M", "asthma"), ("Chen", "47678", 27, "M", "flu"),
    ("Dana", "47605", 36, "F", "diabetes"), ("Eve", "47677", 33, "F", "heart disease"), ("Farid", "47606", 31, "M", "flu"),
    ("Grace", "47905", 45, "F", "cancer"), ("Hui", "47909", 48, "F", "cancer"), ("Ivan", "47906", 41, "M", "cancer"),
    ("Jia", "47678", 58, "F", "flu"), ("Kofi", "47603", 55, "M", "asthma"), ("Lena", "47677", 52, "F", "diabetes"),
]


def toy_patients() -> list[dict]:
    """A toy medical table (12 rows): name (a direct identifier), zip, age, sex (quasi-identifiers), diagnosis (sensitive)."""
    return [dict(zip(("name",) + QUASI_IDENTIFIERS + ("diagnosis",), row)) for row in _PATIENTS]
