"""Compact reference trainers in TensorFlow/Keras 3 (mirrors ``genlab.torch.reference`` name for name).

See ``genlab.torch.reference``: an MLP VAE and the GAN chapter's DCGAN on the 8x8 digits, each returning
a sampler ``sample(n, rng) -> (n, 8, 8)`` NumPy float32 in [0, 1]; batch order and noise come from a
NumPy ``default_rng(seed)``, the weights from ``keras.utils.set_random_seed(seed)``. Training steps
run as ``tf.function`` graphs.
"""
from __future__ import annotations

from typing import Callable

import keras
import numpy as np
import tensorflow as tf

from genlab.data import epoch_batches as _batches
from genlab.tf import MLP, device, images_to_numpy, to_images
from genlab.tf.gan import ConvDiscriminator, ConvGenerator

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
    rng = np.random.default_rng(seed)
    keras.utils.set_random_seed(seed)
    with tf.device(device()):
        enc, dec = MLP(64, (256, 256), 2 * z_dim), MLP(z_dim, (256, 256), 64)
        opt = keras.optimizers.Adam(1e-3)
        variables = enc.trainable_variables + dec.trainable_variables
        opt.build(variables)  # slots made before tracing: a step that creates variables is traced twice

        @tf.function(input_signature=[tf.TensorSpec([None, 64], tf.float32), tf.TensorSpec([None, z_dim], tf.float32)])
        def step(xb, eps):  # the batch size left open: one trace, also for the short last batch
            with tf.GradientTape() as tape:
                mu, logvar = tf.split(enc(xb), 2, axis=1)
                logits = dec(mu + tf.exp(0.5 * logvar) * eps)
                rec = -tf.reduce_sum(xb * logits - tf.nn.softplus(logits), axis=1)
                kl = 0.5 * tf.reduce_sum(mu ** 2 + tf.exp(logvar) - 1.0 - logvar, axis=1)
                loss = tf.reduce_mean(rec + kl)
            opt.apply_gradients(zip(tape.gradient(loss, variables), variables))
            return loss

        for _ in range(epochs):
            for idx in _batches(len(x), 100, rng):
                step(tf.constant(x[idx]), tf.constant(rng.standard_normal((len(idx), z_dim), dtype=np.float32)))

    def sample(n: int, rng: np.random.Generator) -> np.ndarray:
        z = tf.constant(rng.standard_normal((n, z_dim), dtype=np.float32))
        return tf.sigmoid(dec(z)).numpy().reshape(n, 8, 8)

    return sample


def train_dcgan(images, epochs: int, seed: int = 0, lr: float = 2e-4,
                batch_size: int = 64) -> Callable[[int, np.random.Generator], np.ndarray]:
    """Train the GAN chapter's DCGAN (``ConvGenerator(32)`` / ``ConvDiscriminator(1)``) on ``images``
    (N, 8, 8) in [0, 1] (scaled to [-1, 1]); return its sampler ``sample(n, rng) -> (n, 8, 8)`` in [0, 1].

    It repeats chapter 03's losses and alternating step (authoring/03_gan/gan.py, exercises 1-3),
    written inline so that nothing here implements an exercise as a callable function.
    Non-saturating loss from logits, Adam(lr, betas (0.5, 0.999)) for both nets, one D step (on the
    generator's output, no gradient to G) then one G step (on fresh codes) per batch.
    """
    imgs = np.asarray(images, dtype=np.float32)
    if imgs.ndim != 3 or imgs.shape[1:] != (8, 8):
        raise ValueError(f"train_dcgan wants (N, 8, 8) images, got {imgs.shape}")
    rng = np.random.default_rng(seed)
    keras.utils.set_random_seed(seed)
    with tf.device(device()):
        G, D = ConvGenerator(GAN_Z_DIM), ConvDiscriminator(1)
        opt_g = keras.optimizers.Adam(lr, beta_1=0.5, beta_2=0.999)
        opt_d = keras.optimizers.Adam(lr, beta_1=0.5, beta_2=0.999)
        opt_g.build(G.trainable_variables)  # slots made before tracing: a step that creates variables is traced twice
        opt_d.build(D.trainable_variables)
        real_all = to_images(2.0 * imgs[..., None] - 1.0)  # (N, 8, 8, 1) in [-1, 1]

        @tf.function(input_signature=[tf.TensorSpec([None, 8, 8, 1], tf.float32),
                                      tf.TensorSpec([None, GAN_Z_DIM], tf.float32), tf.TensorSpec([None, GAN_Z_DIM], tf.float32)])
        def step(real, z_d, z_g):  # the batch size left open: one trace, also for the short last batch
            fake = tf.stop_gradient(G(z_d))
            with tf.GradientTape() as tape:
                d_loss = (tf.reduce_mean(tf.nn.softplus(-D(real))) +  # -log D(x)
                          tf.reduce_mean(tf.nn.softplus(D(fake))))    # -log(1 - D(G(z)))
            opt_d.apply_gradients(zip(tape.gradient(d_loss, D.trainable_variables), D.trainable_variables))
            with tf.GradientTape() as tape:
                g_loss = tf.reduce_mean(tf.nn.softplus(-D(G(z_g))))  # non-saturating: -log D(G(z))
            opt_g.apply_gradients(zip(tape.gradient(g_loss, G.trainable_variables), G.trainable_variables))
            return d_loss, g_loss

        for _ in range(epochs):
            for idx in _batches(len(imgs), batch_size, rng):
                z_d = rng.standard_normal((len(idx), GAN_Z_DIM), dtype=np.float32)
                z_g = rng.standard_normal((len(idx), GAN_Z_DIM), dtype=np.float32)
                step(tf.gather(real_all, idx), tf.constant(z_d), tf.constant(z_g))

    def sample(n: int, rng: np.random.Generator) -> np.ndarray:
        z = tf.constant(rng.standard_normal((n, GAN_Z_DIM), dtype=np.float32))
        return (images_to_numpy(G(z))[..., 0] + 1.0) / 2.0

    return sample
