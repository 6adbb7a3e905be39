"""Plotting helpers shared by the notebooks (matplotlib only, framework-free)."""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np


def _plt():
    import matplotlib.pyplot as plt

    return plt


def image_grid(images, nrow: int | None = None, titles: Sequence[str] | None = None, title: str | None = None,
               cmap: str = "gray", vmin: float = 0.0, vmax: float = 1.0, scale: float = 0.9, axes=None):
    """Show a batch of images (N, H, W), (N, H*W) square, or (N, H, W, C) on a grid; returns the figure.

    ``nrow`` is the number of images per row (default: about sqrt(N)).
    """
    plt = _plt()
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 2:
        side = int(round(math.sqrt(images.shape[1])))
        if side * side != images.shape[1]:
            raise ValueError(f"cannot reshape rows of length {images.shape[1]} into square images")
        images = images.reshape(-1, side, side)
    if images.ndim not in (3, 4):
        raise ValueError(f"images must be (N, H, W), (N, H*W) or (N, H, W, C); got shape {images.shape}")
    n = len(images)
    if n == 0:
        raise ValueError("no images to show")
    if titles is not None and len(titles) != n:
        raise ValueError(f"{len(titles)} titles for {n} images")
    ncol = nrow or int(math.ceil(math.sqrt(n)))
    rows = int(math.ceil(n / ncol))
    if axes is None:
        fig, axes = plt.subplots(rows, ncol, figsize=(scale * ncol, scale * rows + (0.4 if title else 0)),
                                 squeeze=False)
    else:
        axes = np.atleast_2d(axes)
        fig = axes.flat[0].figure
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i], cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
            if titles is not None:
                ax.set_title(titles[i], fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def loss_curves(history: Mapping[str, Sequence[float]], xlabel: str = "epoch", ylabel: str = "loss",
                title: str | None = None, logy: bool = False, ax=None):
    """Plot named curves ({"train": [...], "test": [...]}) on one axis; returns the figure."""
    plt = _plt()
    if not history:
        raise ValueError("history is empty")
    if ax is None:
        fig, ax = plt.subplots(figsize=(5, 3.2))
    else:
        fig = ax.figure
    for name, values in history.items():
        values = np.asarray(values, dtype=float)
        ax.plot(np.arange(1, len(values) + 1), values, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def scatter_2d(points, labels=None, title: str | None = None, ax=None, s: float = 8.0):
    """Scatter (N, 2) points, coloured by integer labels with a legend; returns the figure."""
    plt = _plt()
    points = np.asarray(points, dtype=float)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"points must be (N, 2), got {points.shape}")
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.5, 4.5))
    else:
        fig = ax.figure
    if labels is None:
        ax.scatter(points[:, 0], points[:, 1], s=s)
    else:
        labels = np.asarray(labels)
        for c in np.unique(labels):
            m = labels == c
            ax.scatter(points[m, 0], points[m, 1], s=s, label=str(c), color=plt.cm.tab10(int(c) % 10))
        ax.legend(markerscale=2, fontsize=7, ncol=2)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig
