"""Run-mode switches and seeding shared by every notebook.

``GENLAB_QUICK=1`` (set by the tests and the grader) shrinks data and training so a notebook
runs in about a minute on 2 CPU cores; without it a notebook trains to the quality its
chapter promises.
"""
from __future__ import annotations

import os
import random
import sys

import numpy as np

_TRUE = {"1", "true", "yes", "on"}


def is_quick() -> bool:
    """True when the environment asks for QUICK mode (``GENLAB_QUICK`` in 1/true/yes/on)."""
    return os.environ.get("GENLAB_QUICK", "").strip().lower() in _TRUE


QUICK: bool = is_quick()


def pick(full, quick):
    """Return ``quick`` in QUICK mode and ``full`` otherwise: ``EPOCHS = pick(60, 3)``."""
    return quick if is_quick() else full


def seed_everything(seed: int = 0, deterministic: bool = True) -> int:
    """Seed Python's ``random``, NumPy, and PyTorch/TensorFlow when they are imported.

    Frameworks that the caller has not imported are left alone, so a PyTorch notebook never
    pays for importing TensorFlow (and vice versa). With ``deterministic`` the frameworks'
    cheap determinism switches are turned on too (cuDNN deterministic kernels in torch,
    op determinism in TensorFlow). Returns the seed so it can be logged.
    """
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    seed = int(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    if "torch" in sys.modules:
        import torch

        torch.manual_seed(seed)
        if torch.cuda.is_available():
            torch.cuda.manual_seed_all(seed)
        if deterministic:
            torch.backends.cudnn.deterministic = True
            torch.backends.cudnn.benchmark = False
    if "tensorflow" in sys.modules or "keras" in sys.modules:
        import keras

        keras.utils.set_random_seed(seed)  # seeds random, numpy and the TF backend
        if deterministic:
            import tensorflow as tf

            try:
                tf.config.experimental.enable_op_determinism()
            except Exception:  # pragma: no cover - older TF builds
                pass
    return seed
