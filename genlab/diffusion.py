"""Chapter 04's framework-free helpers (NumPy only): noise schedules, the digits as diffusion data, plots.

Schedules follow the chapter's convention: ``T`` steps indexed ``t = 0 .. T-1`` (0-based; the papers'
step ``t = 1`` is index 0), ``betas[t]`` the variance added at step ``t``, ``alphas = 1 - betas`` and
``alpha_bar[t] = prod_{s <= t} alphas[s]`` (the signal kept from ``x_0`` after step ``t``).

* :func:`linear_betas`: Ho et al. (2020), ``beta`` from 1e-4 to 0.02 (for ``T = 1000``; other ``T`` are
  rescaled so that the total amount of noise stays about the same).
* :func:`cosine_betas`: Nichol & Dhariwal (2021), ``alpha_bar(t) = cos^2(((t / T) + s) / (1 + s) * pi / 2)``
  normalised to 1 at ``t = 0``, betas clipped at 0.999.

Data: :func:`diffusion_digits` gives the course's grey 8x8 digits (``genlab.data.load_digits``) as flat
(N, 64) float32 vectors in [-1, 1]; :func:`to_unit` maps model outputs back to (N, 8, 8) images in [0, 1].

Nothing here implements an exercise of chapter 04: the forward process, the loss, the samplers' steps and
guidance are the learner's functions; this module only builds schedule arrays, time grids and figures.
"""
from __future__ import annotations

import numpy as np

from genlab.data import load_digits

__all__ = ["T_STEPS", "NULL_LABEL", "denoiser_weights", "probe_weights", "probe_forward", "linear_betas", "cosine_betas", "schedule_arrays", "log_snr",
           "diffusion_digits", "to_unit", "ddim_timesteps", "flow_times", "plot_schedules", "plot_chain",
           "steps_curve"]

T_STEPS = 1000     # diffusion steps of the chapter's models
NULL_LABEL = 10    # the "no label" class of the conditional denoiser (digits are 0..9)


def denoiser_weights(dim: int = 64, width: int = 256, blocks: int = 3, time_dim: int = 128, num_classes: int = 10,
                     seed: int = 0) -> dict:
    """The initial weights of ``genlab.{torch,tf}.diffusion.Denoiser`` (both twins build from these): {name: float32 array}.

    Dense kernels are (in, out), scaled 1/sqrt(fan_in) (the second layer of each block and the output layer
    by 0.1 more, so the residual stream starts near the identity); biases zero; the label table (num_classes
    + 1 rows, the last the null label) N(0, 0.25).
    """
    rng = np.random.default_rng(seed)

    def dense(n_in, n_out, scale=1.0):
        w = rng.standard_normal((n_in, n_out)) * (scale / np.sqrt(n_in))
        return w.astype(np.float32), np.zeros(n_out, np.float32)

    p = {}
    p["time1_w"], p["time1_b"] = dense(time_dim, width)
    p["time2_w"], p["time2_b"] = dense(width, width)
    p["label"] = (0.5 * rng.standard_normal((num_classes + 1, width))).astype(np.float32)
    p["in_w"], p["in_b"] = dense(dim, width)
    for i in range(blocks):
        p[f"block{i}_w1"], p[f"block{i}_b1"] = dense(width, width)
        p[f"block{i}_w2"], p[f"block{i}_b2"] = dense(width, width, 0.1)
    p["out_w"], p["out_b"] = dense(width, dim, 0.1)
    return p


PROBE = dict(width=16, blocks=1, time_dim=8, num_classes=NULL_LABEL)


def probe_weights(seed: int = 0, dim: int = 64) -> dict:
    """The weights of ``probe_denoiser(seed, dim)`` (a small Denoiser with perturbed weights, for tests)."""
    p = denoiser_weights(dim=dim, seed=seed, **PROBE)
    rng = np.random.default_rng(seed + 1)
    return {k: (w + 0.3 * rng.standard_normal(w.shape)).astype(np.float32) for k, w in p.items()}


def _silu(z):
    return z / (1.0 + np.exp(-z))


def _ln(h):
    m = h.mean(-1, keepdims=True)
    return (h - m) / np.sqrt(((h - m) ** 2).mean(-1, keepdims=True) + 1e-5)


def probe_embedding(t, d: int) -> np.ndarray:
    """The probe's fixed time features (not the exercise's embedding): [sin(t k / 100), cos(t k / 50)], k = 1..d/2."""
    k = np.arange(1, d // 2 + 1, dtype=np.float64)
    tt = np.asarray(t, dtype=np.float64)[:, None]
    return np.concatenate([np.sin(tt / 100.0 * k), np.cos(tt / 50.0 * k)], -1)


def probe_forward(weights: dict, x, t, y=None) -> np.ndarray:
    """NumPy (float64) forward pass of the probe denoiser with ``weights`` (see :func:`probe_weights`)."""
    p = {k: np.asarray(v, dtype=np.float64) for k, v in weights.items()}
    x = np.asarray(x, dtype=np.float64)
    shape = x.shape
    h = x.reshape(shape[0], -1)
    y = np.full(shape[0], NULL_LABEL) if y is None else np.asarray(y)
    e = _silu(probe_embedding(t, PROBE["time_dim"]) @ p["time1_w"] + p["time1_b"]) @ p["time2_w"] + p["time2_b"]
    e = _silu(e + p["label"][y])
    h = h @ p["in_w"] + p["in_b"]
    for i in range(PROBE["blocks"]):
        a = _silu(_ln(h)) @ p[f"block{i}_w1"] + p[f"block{i}_b1"] + e
        h = h + _silu(a) @ p[f"block{i}_w2"] + p[f"block{i}_b2"]
    return (_silu(_ln(h)) @ p["out_w"] + p["out_b"]).reshape(shape)


def linear_betas(T: int = T_STEPS, beta_start: float = 1e-4, beta_end: float = 0.02) -> np.ndarray:
    """Ho et al.'s linear schedule, rescaled by 1000 / T so that other T keep about the same total noise."""
    scale = 1000.0 / T
    return np.linspace(scale * beta_start, min(scale * beta_end, 0.999), T).astype(np.float32)


def cosine_betas(T: int = T_STEPS, s: float = 0.008, max_beta: float = 0.999) -> np.ndarray:
    """Nichol & Dhariwal's cosine schedule: betas from the ratio of consecutive alpha-bars, clipped at max_beta."""
    steps = np.arange(T + 1, dtype=np.float64) / T
    f = np.cos((steps + s) / (1 + s) * np.pi / 2) ** 2
    abar = f / f[0]
    return np.clip(1.0 - abar[1:] / abar[:-1], 0.0, max_beta).astype(np.float32)


def schedule_arrays(betas) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(betas, alphas, alpha_bar) as float32 arrays of length T (alpha_bar accumulated in float64)."""
    betas = np.asarray(betas, dtype=np.float64)
    if betas.ndim != 1 or not np.all((betas > 0) & (betas < 1)):
        raise ValueError("betas must be a 1-D array of values in (0, 1)")
    alphas = 1.0 - betas
    return betas.astype(np.float32), alphas.astype(np.float32), np.cumprod(alphas).astype(np.float32)


def log_snr(alpha_bar) -> np.ndarray:
    """The signal-to-noise ratio of q(x_t | x_0) in nats: log(alpha_bar / (1 - alpha_bar))."""
    ab = np.asarray(alpha_bar, dtype=np.float64)
    return np.log(ab) - np.log1p(-ab)


def diffusion_digits(split: str = "train", limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The grey 8x8 digits as (N, 64) float32 vectors in [-1, 1] and their int64 labels (N,)."""
    d = load_digits(split, limit=limit)
    return (2.0 * d.x.reshape(len(d.x), 64) - 1.0).astype(np.float32), d.y


def to_unit(x) -> np.ndarray:
    """Model outputs in [-1, 1] (N, 64) or (N, 8, 8) -> (N, 8, 8) images in [0, 1] (clipped), float32."""
    x = np.asarray(x, dtype=np.float32)
    return np.clip((x.reshape(len(x), 8, 8) + 1.0) / 2.0, 0.0, 1.0)


def ddim_timesteps(T: int, steps: int) -> np.ndarray:
    """``steps`` timesteps from T-1 down to 0, evenly spaced (rounded; int64, strictly decreasing)."""
    if not 1 <= steps <= T:
        raise ValueError(f"steps must be in 1..{T}, got {steps}")
    ts = np.unique(np.round(np.linspace(0, T - 1, steps)).astype(np.int64))[::-1]
    return np.ascontiguousarray(ts)


def flow_times(steps: int) -> np.ndarray:
    """The Euler grid of the flow sampler: ``steps + 1`` times from 1 (noise) to 0 (data), float32."""
    return np.linspace(1.0, 0.0, steps + 1).astype(np.float32)


def plot_schedules(schedules: dict, title: str | None = None):
    """alpha_bar(t) and log SNR(t) of several schedules ({name: alpha_bar array}), side by side."""
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.2))
    for name, ab in schedules.items():
        ab = np.asarray(ab, dtype=np.float64)
        a.plot(ab, label=name)
        b.plot(log_snr(np.clip(ab, 1e-12, 1 - 1e-12)), label=name)
    a.set_xlabel("t"); a.set_ylabel(r"$\bar\alpha_t$"); a.set_title("signal kept"); a.legend()
    b.set_xlabel("t"); b.set_ylabel(r"$\log(\bar\alpha_t / (1 - \bar\alpha_t))$"); b.set_title("log SNR"); b.axhline(0, color="grey", lw=0.5)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    plt.show()
    return fig


def plot_chain(rows: dict, steps, title: str | None = None):
    """Rows of images along a chain: {row name: (len(steps), 8, 8) images in [0, 1]}, columns labelled by ``steps``."""
    import matplotlib.pyplot as plt

    names = list(rows)
    cols = len(steps)
    fig, axes = plt.subplots(len(names), cols, figsize=(0.9 * cols, 1.0 * len(names) + 0.3), squeeze=False)
    for r, name in enumerate(names):
        for c in range(cols):
            ax = axes[r, c]
            ax.imshow(rows[name][c], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([]); ax.set_yticks([])
            if r == 0:
                ax.set_title(str(steps[c]), fontsize=7)
        axes[r, 0].set_ylabel(name, fontsize=7, rotation=0, ha="right", va="center")
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    plt.show()
    return fig


def steps_curve(curves: dict, floor: float | None = None, title: str | None = None, ylabel: str = "FD to the test digits"):
    """Quality vs number of sampling steps: {name: {steps: value}}, log-scaled steps, optional real floor."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    for name, pts in curves.items():
        ks = sorted(pts)
        ax.plot(ks, [pts[k] for k in ks], "o-", label=name)
    if floor is not None:
        ax.axhline(floor, color="grey", ls="--", label="real floor")
    ax.set_xscale("log"); ax.set_xlabel("sampling steps (network evaluations)"); ax.set_ylabel(ylabel)
    ax.set_yscale("log")
    if title:
        ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    plt.show()
    return fig
