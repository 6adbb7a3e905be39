"""Audio metric: scale-invariant signal-to-distortion ratio (Le Roux, Wisdom, Erdogan, Hershey, ICASSP 2019)."""
from __future__ import annotations

import numpy as np

from genlab.metrics._checks import same_shape


def si_sdr(estimate, reference, zero_mean: bool = False):
    """SI-SDR in dB along the last axis.

    alpha = <s_hat, s> / ||s||^2,  e_target = alpha s,  e_noise = s_hat - e_target,
    SI-SDR = 10 log10(||e_target||^2 / ||e_noise||^2)

    Invariant to rescaling the estimate (any non-zero factor). Inputs: ``estimate`` and
    ``reference`` of identical shape (..., T); ``zero_mean=True`` subtracts each signal's mean first
    (as the paper assumes; torchmetrics' ``zero_mean`` flag). Output: a float for 1-D input, else
    an array of shape (...). ``+inf`` for a perfect (rescaled) estimate; ``-inf`` when the estimate
    is orthogonal to the reference. Raises ``ValueError`` for shape mismatch, NaN/inf, a
    reference that is all zeros (no direction to project on), an all-zero estimate, or 0-D input.
    """
    est, ref = same_shape(estimate, reference, ("estimate", "reference"))
    if est.ndim == 0:
        raise ValueError("si_sdr needs signals with a time axis, got scalars")
    if zero_mean:
        est = est - est.mean(axis=-1, keepdims=True)
        ref = ref - ref.mean(axis=-1, keepdims=True)
    ref_energy = (ref * ref).sum(axis=-1, keepdims=True)
    if np.any(ref_energy == 0):
        raise ValueError("reference signal is all zeros (after mean removal if zero_mean=True): SI-SDR is undefined")
    if np.any((est * est).sum(axis=-1) == 0):
        raise ValueError("estimate is all zeros (after mean removal if zero_mean=True): SI-SDR is undefined")
    alpha = (est * ref).sum(axis=-1, keepdims=True) / ref_energy
    target = alpha * ref
    noise = est - target
    with np.errstate(divide="ignore"):
        out = 10.0 * np.log10((target * target).sum(axis=-1) / (noise * noise).sum(axis=-1))
    return float(out) if out.ndim == 0 else out
