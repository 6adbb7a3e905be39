"""Checks used by the notebooks' test cells (visible and hidden), framework-neutral.

Student results are converted to plain NumPy arrays before any comparison, so an object
that fakes ``==`` or ``allclose`` cannot pass: only real arrays, NumPy/Python numbers and
PyTorch/TensorFlow tensors are accepted.
"""
from __future__ import annotations

import numpy as np

_NUMBER_TYPES = (int, float, np.integer, np.floating)


def as_array(value, name: str = "result") -> np.ndarray:
    """``value`` as a float64 NumPy array; raises AssertionError for anything else."""
    t = type(value)
    mod = t.__module__ or ""
    if t.__name__ == "Remote" and mod == "genlab.grading.judge":
        # under the grader: a result living in the student's kernel, fetched as plain numbers
        value = value.fetch_array(name)
        t, mod = np.ndarray, "numpy"
    if isinstance(value, np.ndarray) and t is np.ndarray:
        arr = value
    elif t in (bool,) or isinstance(value, np.bool_):
        raise AssertionError(f"{name} must be a number or an array, got a bool")
    elif isinstance(value, _NUMBER_TYPES) and t.__module__ in ("builtins", "numpy"):
        arr = np.asarray(value)
    elif mod.startswith("torch") and t.__name__ in ("Tensor", "Parameter"):
        arr = value.detach().cpu().numpy()
    elif (mod.startswith("tensorflow") or mod.startswith("keras")) and hasattr(value, "numpy"):
        arr = np.asarray(value.numpy())
    else:
        raise AssertionError(f"{name} must be a NumPy array or a framework tensor, got {t.__module__}.{t.__name__}")
    if type(arr) is not np.ndarray:
        raise AssertionError(f"{name} could not be converted to a plain array")
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise AssertionError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    return np.array(arr, dtype=np.float64, copy=True)


def assert_close(actual, expected, name: str = "result", atol: float = 1e-5, rtol: float = 1e-4,
                 shape: tuple | None = None) -> np.ndarray:
    """Assert ``actual`` has ``expected``'s shape (or ``shape``), is finite, and matches within tolerance.

    Tolerances suit float32 results compared with a float64 reference. Returns the array.
    """
    got = as_array(actual, name)
    want = np.asarray(expected, dtype=np.float64)
    want_shape = tuple(shape) if shape is not None else want.shape
    if got.shape != want_shape:
        raise AssertionError(f"{name}: shape {got.shape}, expected {want_shape}")
    if not np.all(np.isfinite(got)):
        bad = int(np.size(got) - np.isfinite(got).sum())
        raise AssertionError(f"{name}: {bad} value(s) are NaN or infinite")
    err = np.abs(got - want)
    tol = atol + rtol * np.abs(want)
    if not np.all(err <= tol):
        i = np.unravel_index(int(np.argmax(err - tol)), err.shape) if err.ndim else ()
        raise AssertionError(f"{name}: mismatch at index {tuple(int(j) for j in i)}: got {got[i]!r}, "
                             f"expected {want[i]!r} (max abs error {err.max():.3g})")
    return got


_IMAGE_LAYOUTS = {1: "(N, C, H, W)", 3: "(N, H, W, C)"}


def assert_close_images(actual, expected, name: str = "images", channel_axis: int = -1, **tolerances) -> np.ndarray:
    """:func:`assert_close` for a batch of images: ``actual`` in the student's framework layout,
    ``expected`` in the framework-neutral layout (N, H, W, C).

    ``channel_axis`` is the framework's ``CHANNEL_AXIS`` (``genlab.torch``: 1, images (N, C, H, W);
    ``genlab.tf``: -1, images (N, H, W, C)); the comparison is made in that layout, so the shapes and
    indices in a failure message are the ones the student sees. Returns the result as (N, H, W, C).
    """
    want = np.asarray(expected, dtype=np.float64)
    if want.ndim != 4:
        raise ValueError(f"expected images must be (N, H, W, C), got shape {want.shape}")
    axis = channel_axis % 4
    if axis not in _IMAGE_LAYOUTS:
        raise ValueError(f"channel_axis must be 1 or -1, got {channel_axis}")
    got = assert_close(actual, np.moveaxis(want, -1, axis), f"{name} {_IMAGE_LAYOUTS[axis]}", **tolerances)
    return np.moveaxis(got, axis, -1)


def assert_finite_grads(grads, names) -> None:
    """Every gradient exists (is not None), is finite and is not identically zero."""
    for g, n in zip(grads, names):
        if g is None:
            raise AssertionError(f"no gradient reaches {n}: is the graph cut (detach/numpy/stop_gradient)?")
        g = as_array(g, f"gradient wrt {n}")
        if not np.all(np.isfinite(g)):
            raise AssertionError(f"gradient wrt {n} is not finite")
        if not np.any(g != 0):
            raise AssertionError(f"gradient wrt {n} is identically zero")


def assert_tensor(value, name: str = "result") -> None:
    """``value`` is a PyTorch or TensorFlow tensor, not a NumPy array, a list or a Python number: what a
    function whose result feeds a model must return (under the grader, the kernel's type name is checked)."""
    t = type(value)
    if t.__name__ == "Remote" and (t.__module__ or "") == "genlab.grading.judge":
        kind = value.remote_type
    else:
        kind = f"{t.__module__}.{t.__name__}"
    if not kind.startswith(("torch.", "tensorflow.", "keras.")):
        raise AssertionError(f"{name} must be a framework tensor, got {kind}")
