"""The digits feature extractor, framework-free part: architecture, weight file, input checks.

Why not Inception? FID, KID and the Inception Score were defined with Inception-v3 features
(ImageNet, 299x299 RGB photographs). On 8x8 grey digits those features are meaningless: the
images would have to be upsampled ~37x, they lie far outside ImageNet's distribution, and the
network's features then mostly encode upsampling artefacts, not digit identity or style. The
standard substitute on small domains (e.g. the LeNet features used for MNIST FID/KID/IS in the
GAN literature, such as Binkowski et al. 2018) is a classifier trained on the domain itself:
its penultimate activations separate the classes, vary with style within a class, and its
softmax gives the p(y|x) the Inception Score needs. It is also tiny (ships with the course, no
100 MB download) and fast on a CPU. Numbers from it are comparable with each other only, never
with Inception-based FIDs in papers.

Architecture (``DigitsClassifier`` in ``genlab.torch.features`` and ``genlab.tf.features``),
input (N, 8, 8) in [0, 1]:

    conv1 3x3, 1 -> 16, same padding, ReLU
    conv2 3x3, 16 -> 32, same, ReLU, max-pool 2   -> 4x4x32
    conv3 3x3, 32 -> 64, same, ReLU, max-pool 2   -> 2x2x64
    flatten in (H, W, C) order                    -> 256
    fc    256 -> 64                                -> the features (D = 64), then ReLU
    out   64 -> 10                                 -> logits (softmax -> probs)

The features are the penultimate layer's pre-activations (before its ReLU). After the ReLU about
half of the 64 units are zero on every digit, which would leave a covariance of rank ~33; before
it all 64 dimensions vary, so the Frechet distance sees a full-rank covariance.

Weights: ``datasets/digits_classifier.npz`` (datasheet ``datasets/digits_classifier.md``),
trained by ``tools/train_digits_classifier.py``; arrays in Keras layout (conv kernel (kh, kw, in,
out), dense kernel (in, out), then bias). The PyTorch model transposes to (out, in, kh, kw) /
(out, in) and flattens NCHW activations after permuting them to NHWC, so one file serves both.
"""
from __future__ import annotations

import hashlib
import io
import sys
import zipfile
from pathlib import Path

import numpy as np

WEIGHTS_PATH = Path(__file__).resolve().parents[2] / "datasets" / "digits_classifier.npz"
WEIGHTS_SHA256 = "f4688234bec2161b74ca2062f5635da999895985959530124caa222baf9a5da8"
FEATURE_DIM = 64
NUM_CLASSES = 10
# (name, shape) in file order, Keras layout
LAYOUT: list[tuple[str, tuple[int, ...]]] = [
    ("conv1.kernel", (3, 3, 1, 16)), ("conv1.bias", (16,)),
    ("conv2.kernel", (3, 3, 16, 32)), ("conv2.bias", (32,)),
    ("conv3.kernel", (3, 3, 32, 64)), ("conv3.bias", (64,)),
    ("fc.kernel", (256, FEATURE_DIM)), ("fc.bias", (FEATURE_DIM,)),
    ("out.kernel", (FEATURE_DIM, NUM_CLASSES)), ("out.bias", (NUM_CLASSES,)),
]
# Inputs outside this interval are almost surely on the wrong scale (0..16, 0..255, [-1, 1] ...)
INPUT_RANGE = (-0.5, 1.5)


def sha256_file(path) -> str:
    h = hashlib.sha256()
    h.update(Path(path).read_bytes())
    return h.hexdigest()


def save_weights(weights, path=WEIGHTS_PATH) -> str:
    """Write weights (list in :data:`LAYOUT` order) as a byte-reproducible .npz; returns its sha256.

    ``numpy.savez`` stamps the zip entries with the current time, so its bytes (and checksum)
    change on every run; here every entry gets the fixed 1980-01-01 timestamp and no compression.
    """
    check_layout(weights)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for (name, _), arr in zip(LAYOUT, weights):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arr, dtype=np.float32), allow_pickle=False)
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue())
    return sha256_file(path)


def check_layout(weights) -> None:
    if len(weights) != len(LAYOUT):
        raise ValueError(f"expected {len(LAYOUT)} arrays, got {len(weights)}")
    for (name, shape), arr in zip(LAYOUT, weights):
        if tuple(np.shape(arr)) != shape:
            raise ValueError(f"{name}: shape {tuple(np.shape(arr))}, expected {shape}")


def load_weights(path=None, verify: bool = True) -> list[np.ndarray]:
    """The shipped weights as float32 arrays in Keras layout (:data:`LAYOUT` order).

    With ``verify`` (default) and no ``path``, the shipped file's sha256 must equal
    :data:`WEIGHTS_SHA256`, else ``ValueError``: a silently changed extractor would make every FID incomparable.
    """
    check = verify and path is None
    path = WEIGHTS_PATH if path is None else Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} not found; run tools/train_digits_classifier.py to recreate it")
    if check and sha256_file(path) != WEIGHTS_SHA256:
        raise ValueError(f"{path} has sha256 {sha256_file(path)}, expected {WEIGHTS_SHA256} "
                         "(see datasets/digits_classifier.md)")
    with np.load(path, allow_pickle=False) as z:
        weights = [np.asarray(z[name], dtype=np.float32) for name, _ in LAYOUT]
    check_layout(weights)
    return weights


def prepare_images(x) -> np.ndarray:
    """Digits as float32 (N, 8, 8) from (N, 8, 8), (N, 64), (N, 1, 8, 8) or (N, 8, 8, 1) arrays in [0, 1]."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 2 and x.shape[1] == 64:
        x = x.reshape(-1, 8, 8)
    elif x.ndim == 4 and x.shape[1:] in ((1, 8, 8), (8, 8, 1)):
        x = x.reshape(-1, 8, 8)
    if x.ndim != 3 or x.shape[1:] != (8, 8):
        raise ValueError(f"expected digits of shape (N, 8, 8), (N, 64), (N, 1, 8, 8) or (N, 8, 8, 1), got {x.shape}")
    if x.shape[0] == 0:
        raise ValueError("no images given")
    if not np.all(np.isfinite(x)):
        raise ValueError("images contain NaN or infinite values")
    lo, hi = float(x.min()), float(x.max())
    if lo < INPUT_RANGE[0] or hi > INPUT_RANGE[1]:
        raise ValueError(f"pixel values span [{lo:.3g}, {hi:.3g}]; the classifier expects [0, 1] "
                         "(divide 0..16 digits by 16, map [-1, 1] samples with (x + 1) / 2)")
    return x


_CACHE: dict[str, object] = {}


def _model(framework: str | None):
    if framework is None:
        framework = "tf" if ("tensorflow" in sys.modules and "torch" not in sys.modules) else "torch"
    if framework not in ("torch", "tf"):
        raise ValueError(f"framework must be 'torch', 'tf' or None, got {framework!r}")
    if framework not in _CACHE:
        if framework == "torch":
            from genlab.torch.features import load_pretrained
        else:
            from genlab.tf.features import load_pretrained
        _CACHE[framework] = load_pretrained()
    return _CACHE[framework]


def digits_features(images, framework: str | None = None) -> np.ndarray:
    """Penultimate-layer (64-d, pre-ReLU) activations of the shipped digits classifier: (N, 64) float32.

    ``images``: (N, 8, 8) / (N, 64) / (N, 1, 8, 8) / (N, 8, 8, 1) in [0, 1]. ``framework``: "torch",
    "tf", or None = the one already imported (torch if both or neither). Both give the same
    features within 1e-5 (tests/test_features_parity.py). The model is loaded once and cached.
    """
    return _model(framework).features(images)


def digits_probs(images, framework: str | None = None) -> np.ndarray:
    """Class probabilities (N, 10) of the shipped digits classifier (for :func:`inception_score`)."""
    return _model(framework).probs(images)
