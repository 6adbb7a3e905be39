"""Moving digits: the video data of chapter 07, with its framework-free helpers (NumPy only).

Clips are generated, never downloaded: the course's 8x8 digits (``genlab.data``) are upscaled 2x
(each pixel a 2x2 block, 16x16) and bounce on a 32x32 black canvas at a constant integer velocity,
one or two digits per clip (overlaps take the pixel-wise maximum). Training clips use the digits of
the training split, test clips those of the test split (disjoint images), each with its own fixed
seed. ``datasets/moving_digits.md`` is the datasheet; ``tests/test_video_data.py`` checks the
arrays against its checksums.

Layout: NumPy clips are (N, T, H, W) (one channel) or (N, T, H, W, C); ``genlab.torch.video`` and
``genlab.tf.video`` convert them to each framework's video layout.

Nothing here implements an exercise of chapter 07: no warping, no interpolation, no rollout. The
block-matching flow estimator only searches integer displacements.
"""
from __future__ import annotations

import numpy as np

from genlab.data import checksum, load_digits

__all__ = ["CANVAS", "DIGIT_SCALE", "N_FRAMES", "SPLIT_SEEDS", "moving_digits", "checksum", "copy_last",
           "linear_extrapolation", "block_match_flow", "clip_features", "animate", "frame_strip"]

CANVAS = 32          # frames are CANVAS x CANVAS
DIGIT_SCALE = 2      # 8x8 digits -> 16x16
N_FRAMES = 20
SPLIT_SEEDS = {"train": 0, "test": 1}
SPEEDS = (-2, -1, 0, 1, 2)  # pixels per frame, per axis; (0, 0) is redrawn


def _digit_sprites(split: str) -> np.ndarray:
    x = load_digits(split).x  # (N, 8, 8) in [0, 1]
    return np.kron(x, np.ones((DIGIT_SCALE, DIGIT_SCALE), dtype=np.float32)).astype(np.float32)


def _bounce(pos: int, vel: int, limit: int) -> tuple[int, int]:
    pos += vel
    if pos < 0:
        pos, vel = -pos, -vel
    elif pos > limit:
        pos, vel = 2 * limit - pos, -vel
    return pos, vel


def moving_digits(split: str = "train", n_clips: int = 1000, n_frames: int = N_FRAMES, seed: int | None = None,
                  max_digits: int = 2) -> np.ndarray:
    """Clips of bouncing digits: float32 (n_clips, n_frames, 32, 32) in [0, 1].

    ``split`` picks the digit images ("train" or "test": disjoint) and the default seed
    (:data:`SPLIT_SEEDS`); ``seed`` overrides it. Each clip holds 1..``max_digits`` digits, each
    with a random image, a random integer start position and a random velocity in
    {-2, ..., 2}^2 (not both zero), reflected at the canvas borders. The same arguments always give
    the same array (``numpy.random.default_rng``).
    """
    if split not in SPLIT_SEEDS:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if n_clips <= 0 or n_frames <= 0 or max_digits <= 0:
        raise ValueError("n_clips, n_frames and max_digits must be positive")
    rng = np.random.default_rng(SPLIT_SEEDS[split] if seed is None else seed)
    sprites = _digit_sprites(split)
    side = sprites.shape[1]
    limit = CANVAS - side
    out = np.zeros((n_clips, n_frames, CANVAS, CANVAS), dtype=np.float32)
    for n in range(n_clips):
        for _ in range(int(rng.integers(1, max_digits + 1))):
            img = sprites[rng.integers(len(sprites))]
            x, y = (int(v) for v in rng.integers(0, limit + 1, 2))
            vx, vy = 0, 0
            while vx == 0 and vy == 0:
                vx, vy = (int(v) for v in rng.choice(SPEEDS, 2))
            for t in range(n_frames):
                view = out[n, t, y:y + side, x:x + side]
                np.maximum(view, img, out=view)
                x, vx = _bounce(x, vx, limit)
                y, vy = _bounce(y, vy, limit)
    return out


def copy_last(context: np.ndarray, horizon: int) -> np.ndarray:
    """Baseline prediction: the last context frame repeated. (N, T, ...) -> (N, horizon, ...)."""
    context = np.asarray(context)
    return np.repeat(context[:, -1:], horizon, axis=1)


def linear_extrapolation(context: np.ndarray, horizon: int) -> np.ndarray:
    """Baseline prediction: each pixel continues its last change, x_{T+k} = x_T + k (x_T - x_{T-1}), clipped to [0, 1]."""
    context = np.asarray(context, dtype=np.float32)
    last, step = context[:, -1], context[:, -1] - context[:, -2]
    return np.clip(np.stack([last + k * step for k in range(1, horizon + 1)], axis=1), 0.0, 1.0)


def _box_sum(x: np.ndarray, r: int) -> np.ndarray:
    """Sum over a (2r+1)^2 window (zero padding) of the last two axes."""
    p = np.pad(x, [(0, 0)] * (x.ndim - 2) + [(r + 1, r), (r + 1, r)])
    c = p.cumsum(-1).cumsum(-2)
    k = 2 * r + 1
    return c[..., k:, k:] - c[..., :-k, k:] - c[..., k:, :-k] + c[..., :-k, :-k]


def block_match_flow(frame0: np.ndarray, frame1: np.ndarray, radius: int = 4, window: int = 3,
                     penalty: float = 1e-3) -> np.ndarray:
    """Integer optical flow by block matching: (N, H, W) x 2 -> flow (N, H, W, 2) as (dx, dy).

    For every pixel p of ``frame0`` it picks the displacement d (|dx|, |dy| <= ``radius``) whose
    (2 ``window`` + 1)^2 block around p + d in ``frame1`` best matches the block around p (sum of
    squared differences, plus ``penalty`` |d|^2 so that flat regions get d = 0). So
    ``frame1[p + flow[p]] ~ frame0[p]``: the flow from frame 0 to frame 1 on frame 0's grid, which
    is what backward warping frame 1 onto frame 0's grid needs. Outside the canvas counts as black.
    """
    f0 = np.asarray(frame0, dtype=np.float32)
    f1 = np.asarray(frame1, dtype=np.float32)
    if f0.shape != f1.shape or f0.ndim != 3:
        raise ValueError(f"frames must be two (N, H, W) arrays of one shape, got {f0.shape} and {f1.shape}")
    h, w = f0.shape[1:]
    padded = np.pad(f1, [(0, 0), (radius, radius), (radius, radius)])
    best = np.full(f0.shape, np.inf, dtype=np.float64)
    flow = np.zeros(f0.shape + (2,), dtype=np.float32)
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            shifted = padded[:, radius + dy:radius + dy + h, radius + dx:radius + dx + w]  # f1[p + d]
            cost = _box_sum((f0 - shifted) ** 2, window) + penalty * (dx * dx + dy * dy)
            better = cost < best - 1e-9
            best = np.where(better, cost, best)
            flow[..., 0] = np.where(better, dx, flow[..., 0])
            flow[..., 1] = np.where(better, dy, flow[..., 1])
    return flow


def clip_features(clips: np.ndarray, framework: str | None = None) -> np.ndarray:
    """Clip features for a Frechet distance: (N, T, 32, 32) -> (N, 128) float64.

    Each frame is average-pooled 4x4 to 8x8 and embedded by the course's digits classifier
    (``genlab.metrics.digits_features``, 64-d); a clip's feature is the mean of its frames'
    features (appearance) next to the mean absolute change between consecutive frames' features
    (motion), so a generator is judged on both.
    """
    from genlab.metrics import digits_features

    clips = np.asarray(clips, dtype=np.float32)
    if clips.ndim != 4 or clips.shape[1] < 2 or clips.shape[2] % 8 or clips.shape[3] % 8:
        raise ValueError(f"clips must be (N, T >= 2, H, W) with H, W multiples of 8, got {clips.shape}")
    n, t, h, w = clips.shape
    small = clips.reshape(n * t, 8, h // 8, 8, w // 8).mean(axis=(2, 4))
    f = digits_features(small, framework).reshape(n, t, -1).astype(np.float64)
    return np.concatenate([f.mean(1), np.abs(np.diff(f, axis=1)).mean(1)], axis=1)


def animate(clips, titles=None, interval: int = 150, scale: float = 1.2, dpi: int = 60):
    """Side-by-side animation of clips (each (T, H, W), same T) as an HTML/JavaScript player.

    Returns an ``IPython.display.HTML`` object (frames as PNGs at ``dpi``: some tens of kB for a few
    32x32 clips of 20 frames); the notebook shows it.
    """
    import matplotlib.pyplot as plt
    from IPython.display import HTML
    from matplotlib import animation

    clips = [np.asarray(c, dtype=np.float32) for c in clips]
    if not clips or any(c.ndim != 3 or len(c) != len(clips[0]) for c in clips):
        raise ValueError("clips must be a non-empty list of (T, H, W) arrays with the same T")
    fig, axes = plt.subplots(1, len(clips), figsize=(scale * len(clips), scale + (0.3 if titles else 0)), squeeze=False,
                             dpi=dpi)
    ims = []
    for i, (ax, c) in enumerate(zip(axes[0], clips)):
        ax.axis("off")
        ims.append(ax.imshow(c[0], cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest"))
        if titles:
            ax.set_title(titles[i], fontsize=7)
    fig.tight_layout()

    def update(t):
        for im, c in zip(ims, clips):
            im.set_data(c[t])
        return ims

    anim = animation.FuncAnimation(fig, update, frames=len(clips[0]), interval=interval, blit=True)
    html = HTML(anim.to_jshtml(default_mode="loop"))
    plt.close(fig)
    return html


def frame_strip(rows, row_titles=None, title: str | None = None, scale: float = 0.75):
    """Clips as rows of frames (each row (T, H, W), same T); returns the figure."""
    import matplotlib.pyplot as plt

    rows = [np.asarray(r, dtype=np.float32) for r in rows]
    t = len(rows[0])
    fig, axes = plt.subplots(len(rows), t, figsize=(scale * t + (1.2 if row_titles else 0), scale * len(rows) + 0.3),
                             squeeze=False)
    for i, r in enumerate(rows):
        for j in range(t):
            ax = axes[i, j]
            ax.set_xticks([]); ax.set_yticks([])
            ax.imshow(r[j], cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
            if i == 0:
                ax.set_title(f"t={j}", fontsize=7)
        if row_titles:
            axes[i, 0].set_ylabel(row_titles[i], fontsize=7, rotation=0, ha="right", va="center")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
