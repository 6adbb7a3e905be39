"""Compact reference trainers in PyTorch (``genlab.tf.reference`` mirrors every name and signature).

Chapters that need a *trained* generative model without depending on another chapter's checkpoint
(the chapters run independently) call these: a small MLP VAE and the GAN chapter's DCGAN on the
8x8 digits. Each trainer returns a sampler ``sample(n, rng) -> (n, 8, 8)`` NumPy float32 in [0, 1].

The mini-batch order and all the noise (reparameterisation, latent codes) come from a NumPy
``default_rng(seed)``, so a run is deterministic given ``seed`` and both frameworks consume the
same random numbers (their weight initialisations still differ).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from torch.nn import functional as F

from genlab.data import epoch_batches as _batches
from genlab.torch import MLP, device, images_to_numpy, to_images
from genlab.torch.gan import ConvDiscriminator, ConvGenerator

__all__ = ["train_vae", "train_dcgan", "GAN_Z_DIM"]

GAN_Z_DIM = 32  # latent size of the reference DCGAN (ConvGenerator(32))


def train_vae(x, epochs: int, z_dim: int = 16, seed: int = 0) -> Callable[[int, np.random.Generator], np.ndarray]:
    """Train an MLP VAE on ``x`` (N, 64) grey levels in [0, 1] for ``epochs`` epochs; return its sampler.

    It repeats chapter 02's model and loss (authoring/02_vae/vae.py: the negative ELBO of exercises
    2, 3 and 5, written inline so that nothing here implements an exercise as a callable function).

    Encoder 64 -> (256, 256) -> 2*z_dim (mean, log-variance), decoder z_dim -> (256, 256) -> 64 logits.
    Loss per image: -sum_pixels [x*l - softplus(l)] (Bernoulli likelihood with soft targets) + the
    closed-form KL to N(0, I); Adam 1e-3, batches of 100. ``sample(n, rng)`` returns the decoder
    *means* sigmoid(logits) for z ~ N(0, I), shape (n, 8, 8).
    """
    x = np.asarray(x, dtype=np.float32).reshape(len(x), -1)
    if x.shape[1] != 64:
        raise ValueError(f"train_vae wants (N, 64) or (N, 8, 8) digits, got {x.shape}")
    dev = device()
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    enc, dec = MLP(64, (256, 256), 2 * z_dim).to(dev), MLP(z_dim, (256, 256), 64).to(dev)
    opt = torch.optim.Adam([*enc.parameters(), *dec.parameters()], lr=1e-3)
    xt = torch.as_tensor(x, device=dev)
    for _ in range(epochs):
        for idx in _batches(len(x), 100, rng):
            xb = xt[torch.as_tensor(idx, device=dev)]
            eps = torch.as_tensor(rng.standard_normal((len(idx), z_dim), dtype=np.float32), device=dev)
            mu, logvar = enc(xb).chunk(2, dim=1)
            logits = dec(mu + torch.exp(0.5 * logvar) * eps)
            rec = -(xb * logits - F.softplus(logits)).sum(1)
            kl = 0.5 * (mu ** 2 + logvar.exp() - 1.0 - logvar).sum(1)
            loss = (rec + kl).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()

    @torch.no_grad()
    def sample(n: int, rng: np.random.Generator) -> np.ndarray:
        z = torch.as_tensor(rng.standard_normal((n, z_dim), dtype=np.float32), device=dev)
        return torch.sigmoid(dec(z)).cpu().numpy().reshape(n, 8, 8)

    return sample


def train_dcgan(images, epochs: int, seed: int = 0, lr: float = 2e-4,
                batch_size: int = 64) -> Callable[[int, np.random.Generator], np.ndarray]:
    """Train the GAN chapter's DCGAN (``ConvGenerator(32)`` / ``ConvDiscriminator(1)``) on ``images``
    (N, 8, 8) in [0, 1] (scaled to [-1, 1]); return its sampler ``sample(n, rng) -> (n, 8, 8)`` in [0, 1].

    It repeats chapter 03's losses and alternating step (authoring/03_gan/gan.py, exercises 1-3),
    written inline so that nothing here implements an exercise as a callable function.
    Non-saturating loss from logits, Adam(lr, betas (0.5, 0.999)) for both nets, one D step (on detached
    fakes) then one G step (on fresh codes) per batch.
    """
    imgs = np.asarray(images, dtype=np.float32)
    if imgs.ndim != 3 or imgs.shape[1:] != (8, 8):
        raise ValueError(f"train_dcgan wants (N, 8, 8) images, got {imgs.shape}")
    dev = device()
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    G, D = ConvGenerator(GAN_Z_DIM).to(dev), ConvDiscriminator(1).to(dev)
    opt_g = torch.optim.Adam(G.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.999))
    real_all = to_images(2.0 * imgs[..., None] - 1.0, device_=dev)  # (N, 1, 8, 8) in [-1, 1]

    def codes(n):
        return torch.as_tensor(rng.standard_normal((n, GAN_Z_DIM), dtype=np.float32), device=dev)

    for _ in range(epochs):
        for idx in _batches(len(imgs), batch_size, rng):
            real = real_all[torch.as_tensor(idx, device=dev)]
            fake = G(codes(len(idx))).detach()
            lr_, lf = D(real), D(fake)
            d_loss = F.softplus(-lr_).mean() + F.softplus(lf).mean()  # -log D(x) - log(1 - D(G(z)))
            opt_d.zero_grad()
            d_loss.backward()
            opt_d.step()
            g_loss = F.softplus(-D(G(codes(len(idx))))).mean()  # non-saturating: -log D(G(z))
            opt_g.zero_grad()
            g_loss.backward()
            opt_g.step()

    @torch.no_grad()
    def sample(n: int, rng: np.random.Generator) -> np.ndarray:
        z = torch.as_tensor(rng.standard_normal((n, GAN_Z_DIM), dtype=np.float32), device=dev)
        return (images_to_numpy(G(z))[..., 0] + 1.0) / 2.0

    return sample
