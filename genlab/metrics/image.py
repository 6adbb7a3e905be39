"""Pixel-space image metrics: PSNR and SSIM (Wang, Bovik, Sheikh, Simoncelli, IEEE TIP 2004)."""
from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

from genlab.metrics._checks import positive_number, same_shape


def psnr(a, b, data_range, axis=None):
    """Peak signal-to-noise ratio in dB: 10 log10(data_range^2 / MSE(a, b)).

    Inputs: arrays of identical shape (no broadcasting), ``data_range`` = max - min of the pixel
    scale (1.0 for images in [0, 1], 255 for uint8; required, never guessed). ``axis`` = axes the
    MSE averages over: None (default) -> one number over all elements (what
    ``skimage.metrics.peak_signal_noise_ratio`` returns); e.g. ``axis=(1, 2)`` on (N, H, W) gives a
    PSNR per image (average those for a per-image mean). Returns a float (or array), ``inf`` where
    the inputs are equal. Raises ``ValueError`` for shape mismatch, NaN/inf, bad data_range.
    """
    a, b = same_shape(a, b)
    data_range = positive_number(data_range, "data_range")
    mse = np.mean((a - b) ** 2, axis=axis)
    with np.errstate(divide="ignore"):
        out = 10.0 * np.log10(data_range ** 2 / mse)
    return float(out) if np.ndim(out) == 0 else out


def ssim(a, b, data_range, *, sigma: float = 1.5, truncate: float = 3.5, k1: float = 0.01, k2: float = 0.03,
         channel_axis: int | None = None, reduction: str = "mean"):
    """Mean structural similarity with a Gaussian window (Wang et al. 2004).

    SSIM(x, y) = (2 mu_x mu_y + C1)(2 s_xy + C2) / ((mu_x^2 + mu_y^2 + C1)(s_x^2 + s_y^2 + C2)),
    C1 = (k1 * data_range)^2, C2 = (k2 * data_range)^2, where the local means, variances and
    covariance are Gaussian-weighted (std ``sigma``, cut at ``truncate * sigma``: radius
    r = int(truncate * sigma + 0.5), an 11x11 window for the defaults) with population (not
    sample) normalisation, and 'reflect' borders. The SSIM map is averaged after cropping r pixels
    on every side, which reproduces ``skimage.metrics.structural_similarity(gaussian_weights=True,
    sigma=sigma, use_sample_covariance=False, data_range=data_range)`` (skimage always uses
    truncate=3.5).

    Inputs: ``a``, ``b`` of identical shape (..., H, W): the last two axes are the image, any leading
    axes are a batch. Colour images: give ``channel_axis`` (e.g. -1 for (..., H, W, C)); channels
    are filtered separately and averaged, as skimage does. H and W must be >= 2r + 1 (for 8x8 digits
    use e.g. sigma=0.5 -> 5x5 window). ``data_range`` is required (1.0 for [0, 1] images).
    Output: ``reduction="mean"`` -> one float (mean over batch and channels); ``"none"`` -> an
    array with one value per image (the leading batch shape). Range [-1, 1], 1 iff equal.
    Raises ``ValueError`` for shape mismatch, images smaller than the window, NaN/inf, bad options.
    """
    a, b = same_shape(a, b)
    data_range = positive_number(data_range, "data_range")
    sigma = positive_number(sigma, "sigma")
    truncate = positive_number(truncate, "truncate")
    if k1 < 0 or k2 < 0:
        raise ValueError(f"k1 and k2 must be non-negative, got {k1}, {k2}")
    if reduction not in ("mean", "none"):
        raise ValueError(f"reduction must be 'mean' or 'none', got {reduction!r}")
    if channel_axis is not None:
        a, b = np.moveaxis(a, channel_axis, -3), np.moveaxis(b, channel_axis, -3)  # (..., C, H, W)
    min_ndim = 2 if channel_axis is None else 3
    if a.ndim < min_ndim:
        raise ValueError(f"images must have at least {min_ndim} axes, got shape {a.shape}")
    r = int(truncate * sigma + 0.5)
    win = 2 * r + 1
    if min(a.shape[-2:]) < win:
        raise ValueError(f"images of size {a.shape[-2:]} are smaller than the {win}x{win} Gaussian window "
                         f"(sigma={sigma}, truncate={truncate}); use a smaller sigma")
    sig = [0.0] * (a.ndim - 2) + [sigma, sigma]

    def filt(x):
        return gaussian_filter(x, sig, mode="reflect", truncate=truncate)

    ux, uy = filt(a), filt(b)
    vx = filt(a * a) - ux * ux
    vy = filt(b * b) - uy * uy
    vxy = filt(a * b) - ux * uy
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux ** 2 + uy ** 2 + c1) * (vx + vy + c2))
    s = s[..., r:s.shape[-2] - r, r:s.shape[-1] - r]
    per_image = s.mean(axis=(-2, -1))
    if channel_axis is not None:
        per_image = per_image.mean(axis=-1)
    if reduction == "mean":
        return float(np.mean(per_image))
    return per_image
