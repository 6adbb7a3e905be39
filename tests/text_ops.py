"""Reference versions of the three functions chapter 05_text's TinyGPT takes as arguments, in both frameworks.

They live in tests/ on purpose: students write them in the notebook (graded exercises), and nothing a
student can import (genlab/) may implement them. Contracts: see ``genlab.torch.text.TinyGPT``.

RoPE here is the "rotate half" form (GPT-NeoX / LLaMA in Hugging Face): the head dimension is split into
two halves (x1, x2), pair i = (x1[i], x2[i]) is rotated by the angle position * 10000^(-2i/Dh).
"""
from __future__ import annotations

import math

import numpy as np


# ----------------------------------------------------------------------------------------------- PyTorch

def torch_attention(q, k, v):
    import torch

    tq, tk = q.shape[-2], k.shape[-2]
    att = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])                 # (B, H, Tq, Tk)
    i = torch.arange(tq, device=q.device)[:, None] + (tk - tq)                # absolute query positions
    j = torch.arange(tk, device=q.device)[None, :]
    att = att.masked_fill(j > i, float("-inf"))
    return torch.softmax(att, dim=-1) @ v                                     # (B, H, Tq, Dh)


def torch_rope(x, positions):
    import torch

    half = x.shape[-1] // 2
    inv = 1.0 / (10000.0 ** (torch.arange(half, device=x.device, dtype=torch.float32) / half))
    ang = positions.to(torch.float32)[:, None] * inv[None, :]                 # (T, Dh/2)
    cos, sin = torch.cos(ang), torch.sin(ang)
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


def torch_cache_update(cache, k_new, v_new):
    import torch

    if cache is None:
        return k_new, v_new
    k, v = cache
    return torch.cat([k, k_new], dim=2), torch.cat([v, v_new], dim=2)


# ----------------------------------------------------------------------------------------------- TensorFlow

def tf_attention(q, k, v):
    import tensorflow as tf

    tq, tk = tf.shape(q)[-2], tf.shape(k)[-2]
    att = tf.matmul(q, k, transpose_b=True) / math.sqrt(q.shape[-1])          # (B, H, Tq, Tk)
    i = tf.range(tq)[:, None] + (tk - tq)
    j = tf.range(tk)[None, :]
    att = tf.where(j > i, tf.constant(-np.inf, att.dtype), att)
    return tf.matmul(tf.nn.softmax(att, axis=-1), v)                          # (B, H, Tq, Dh)


def tf_rope(x, positions):
    import tensorflow as tf

    half = x.shape[-1] // 2
    inv = 1.0 / (10000.0 ** (tf.range(half, dtype=tf.float32) / half))
    ang = tf.cast(positions, tf.float32)[:, None] * inv[None, :]             # (T, Dh/2)
    cos, sin = tf.cos(ang), tf.sin(ang)
    x1, x2 = x[..., :half], x[..., half:]
    return tf.concat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], axis=-1)


def tf_cache_update(cache, k_new, v_new):
    import tensorflow as tf

    if cache is None:
        return k_new, v_new
    k, v = cache
    return tf.concat([k, k_new], axis=2), tf.concat([v, v_new], axis=2)


TORCH_OPS = {"attention": torch_attention, "rope": torch_rope, "cache_update": torch_cache_update}
TF_OPS = {"attention": tf_attention, "rope": tf_rope, "cache_update": tf_cache_update}
