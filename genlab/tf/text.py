"""Language models of chapter 05_text in Keras 3 / TensorFlow (mirrors ``genlab.torch.text`` name for name).

Same layers, same order, same maths, same weight layout (the table in ``genlab.torch.text``; Keras's own
layouts ARE that layout: Dense kernel (in, out), LSTM gates (i, f, c, o) with one bias, GRU
``reset_after=True`` gates (z, r, h) with bias (2, 3H)). Tensors are TensorFlow tensors; the injected
functions of :class:`TinyGPT` receive and return TensorFlow tensors (``tf`` or ``keras.ops`` code).
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import keras
import numpy as np
import tensorflow as tf

from genlab.config import is_quick
from genlab.text import EOS, PAD, GPTConfig
from genlab.tf import _matmul_last, device
from genlab.tf.weights import assign_arrays, read_arrays

__all__ = ["GPTConfig", "TinyGPT", "Block", "CausalSelfAttention", "MLP", "CharLSTM", "Seq2Seq", "LoRALinear",
           "apply_lora", "count_params", "make_lm_step", "make_seq2seq_step", "get_weights", "set_weights"]

# XLA-compile a model's training step (tf.function(jit_compile=True))? Measured on 2 shared CPU cores (min over
# repeats): TinyGPT 125 ms/step with XLA vs 167 ms without (XLA fuses the attention's element-wise ops);
# the recurrent models are faster as a plain graph (Seq2Seq 25 vs 38 ms, CharLSTM 542 vs 579 ms): Keras's
# LSTM/GRU while-loops gain nothing from XLA on the CPU. Both forms give the same numbers.
_JIT_COMPILE = {"TinyGPT": True, "CharLSTM": False, "Seq2Seq": False}


def _jit(model) -> bool:
    # QUICK mode trains for seconds: XLA's compilation (~5 s for TinyGPT's step vs ~2 s to trace a plain graph)
    # would cost more than it saves there
    return _JIT_COMPILE.get(type(model).__name__, True) and not is_quick()


def _dense(units: int, in_dim: int, std: float = 0.02, use_bias: bool = True) -> keras.layers.Dense:
    layer = keras.layers.Dense(units, use_bias=use_bias, kernel_initializer=keras.initializers.RandomNormal(0.0, std),
                               bias_initializer="zeros")  # GPT-2 initialisation: N(0, 0.02), biases zero
    layer.build((None, in_dim))
    return layer


def _uniform(fan_in: int):
    bound = 1.0 / math.sqrt(fan_in)
    return keras.initializers.RandomUniform(-bound, bound)


def _torch_dense(units: int, in_dim: int, use_bias: bool = True) -> keras.layers.Dense:
    """A Dense initialised like PyTorch's nn.Linear (weights and bias uniform in +-1/sqrt(in)), so that the
    twins start from the same distribution and train alike."""
    layer = keras.layers.Dense(units, use_bias=use_bias, kernel_initializer=_uniform(in_dim),
                               bias_initializer=_uniform(in_dim))
    layer.build((None, in_dim))
    return layer


def _torch_rnn_init(hidden: int) -> dict:
    """PyTorch's LSTM/GRU initialisation (everything uniform in +-1/sqrt(hidden)) as Keras arguments."""
    return {"kernel_initializer": _uniform(hidden), "recurrent_initializer": _uniform(hidden),
            "bias_initializer": _uniform(hidden)}


def _torch_embedding(n: int, dim: int) -> keras.layers.Embedding:
    """An Embedding initialised like PyTorch's nn.Embedding: N(0, 1)."""
    layer = keras.layers.Embedding(n, dim, embeddings_initializer=keras.initializers.RandomNormal(0.0, 1.0))
    layer.build((None,))
    return layer


def _layer_norm(dim: int) -> keras.layers.LayerNormalization:
    layer = keras.layers.LayerNormalization(epsilon=1e-5)  # PyTorch's default eps (Keras's is 1e-3)
    layer.build((None, dim))
    return layer


def _embedding(n: int, dim: int) -> keras.layers.Embedding:
    layer = keras.layers.Embedding(n, dim, embeddings_initializer=keras.initializers.RandomNormal(0.0, 0.02))
    layer.build((None,))
    return layer


# ----------------------------------------------------------------------------------------------- TinyGPT

class CausalSelfAttention(keras.layers.Layer):
    """Multi-head self-attention around an injected ``attention(q, k, v)`` (see ``genlab.torch.text``)."""

    def __init__(self, config: GPTConfig, **kwargs):
        super().__init__(**kwargs)
        self.n_head, self.n_embd = config.n_head, config.n_embd
        self.qkv = _dense(3 * config.n_embd, config.n_embd)                   # C -> 3C: q, k, v at once
        self.proj = _dense(config.n_embd, config.n_embd, 0.02 / math.sqrt(2 * config.n_layer))
        self.drop = keras.layers.Dropout(config.dropout)
        self.built = True

    def _heads(self, t, B, T):
        return tf.transpose(tf.reshape(t, (B, T, self.n_head, self.n_embd // self.n_head)), (0, 2, 1, 3))

    def call(self, x, positions, attention, rope=None, cache_update=None, cache=None, training=False):
        B, T, C = tf.shape(x)[0], tf.shape(x)[1], self.n_embd                # (B, T, C)
        q, k, v = tf.split(self.qkv(x), 3, axis=-1)                           # 3 x (B, T, C)
        q, k, v = self._heads(q, B, T), self._heads(k, B, T), self._heads(v, B, T)  # (B, H, T, Dh)
        if rope is not None:
            q, k = rope(q, positions), rope(k, positions)                     # rotate by absolute position
        new_cache = None
        if cache_update is not None:
            k, v = cache_update(cache, k, v)                                  # (B, H, Tc + T, Dh)
            new_cache = (k, v)
        y = attention(q, k, v)                                                # (B, H, T, Dh), causal
        y = tf.reshape(tf.transpose(y, (0, 2, 1, 3)), (B, T, C))             # (B, T, C)
        return self.drop(self.proj(y), training=training), new_cache


class MLP(keras.layers.Layer):
    """Position-wise feed-forward: C -> 4C, GELU (exact, erf), 4C -> C."""

    def __init__(self, config: GPTConfig, **kwargs):
        super().__init__(**kwargs)
        self.fc = _dense(4 * config.n_embd, config.n_embd)
        self.proj = _dense(config.n_embd, 4 * config.n_embd, 0.02 / math.sqrt(2 * config.n_layer))
        self.drop = keras.layers.Dropout(config.dropout)
        self.built = True

    def call(self, x, training=False):  # (B, T, C) -> (B, T, C)
        return self.drop(self.proj(tf.nn.gelu(self.fc(x), approximate=False)), training=training)


class Block(keras.layers.Layer):
    """Pre-LayerNorm transformer block: x = x + attn(ln1(x)); x = x + mlp(ln2(x))."""

    def __init__(self, config: GPTConfig, **kwargs):
        super().__init__(**kwargs)
        self.ln1 = _layer_norm(config.n_embd)
        self.attn = CausalSelfAttention(config)
        self.ln2 = _layer_norm(config.n_embd)
        self.mlp = MLP(config)
        self.built = True

    def call(self, x, positions, attention, rope=None, cache_update=None, cache=None, training=False):
        a, new_cache = self.attn(self.ln1(x), positions, attention=attention, rope=rope, cache_update=cache_update,
                                 cache=cache, training=training)
        x = x + a                                                             # (B, T, C)
        x = x + self.mlp(self.ln2(x), training=training)                      # (B, T, C)
        return x, new_cache


class TinyGPT(keras.Model):
    """A character-level GPT whose attention, RoPE and KV-cache update are supplied by the caller.

    Same contracts as ``genlab.torch.text.TinyGPT`` with TensorFlow tensors (positions are int32).
    ``model(idx, training=False)``: idx (B, T) ints -> logits (B, T, V). ``model.forward_cached(idx, caches)``
    -> (logits, new_caches), caches None (prefill) or the list of per-layer (k, v) returned last time.
    """

    def __init__(self, config: GPTConfig, attention: Callable, rope: Callable | None = None,
                 cache_update: Callable | None = None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(config, GPTConfig):
            raise TypeError(f"config must be a GPTConfig, got {type(config).__name__}")
        if not callable(attention):
            raise TypeError("attention must be a function attention(q, k, v)")
        if config.rope and not callable(rope):
            raise ValueError("config.rope=True needs a rope(x, positions) function")
        self.config = config
        self.attention, self.rope, self.cache_update = attention, rope if config.rope else None, cache_update
        with tf.device(device()):
            self.wte = _embedding(config.vocab_size, config.n_embd)              # token embedding (V, C)
            self.wpe = None if config.rope else _embedding(config.block_size, config.n_embd)  # (T, C)
            self.drop = keras.layers.Dropout(config.dropout)
            self.blocks = [Block(config) for _ in range(config.n_layer)]
            self.ln_f = _layer_norm(config.n_embd)
            # tied: logits = h @ wte^T; untied: its own (C, V) matrix without bias
            self.lm_head = None if config.tie_weights else _dense(config.vocab_size, config.n_embd, use_bias=False)
        self.built = True

    def parts(self) -> list:
        """The leaf layers in the order of :func:`get_weights` (the same order in ``genlab.torch.text``)."""
        out = [self.wte] + ([self.wpe] if self.wpe is not None else [])
        for b in self.blocks:
            out += [b.ln1, b.attn.qkv, b.attn.proj, b.ln2, b.mlp.fc, b.mlp.proj]
        return out + [self.ln_f] + ([self.lm_head] if self.lm_head is not None else [])

    def _embed(self, idx, t0, training):
        T = idx.shape[1]
        if not self.config.rope and isinstance(t0, int) and T is not None and t0 + T > self.config.block_size:
            raise ValueError(f"positions up to {t0 + T} exceed block_size={self.config.block_size} "
                             "(a learned position embedding has no rows beyond it)")
        positions = tf.range(t0, t0 + tf.shape(idx)[1])                       # (T,) absolute positions, int32
        x = self.wte(idx)                                                     # (B, T, C)
        if self.wpe is not None:
            x = x + self.wpe(positions)                                       # (B, T, C) + (T, C)
        return self.drop(x, training=training), positions

    def _logits(self, x):
        x = self.ln_f(x)                                                      # (B, T, C)
        if self.lm_head is None:
            return _matmul_last(x, tf.transpose(self.wte.embeddings))        # (B, T, C) @ (C, V) -> (B, T, V)
        return self.lm_head(x)                                                # (B, T, V)

    def call(self, idx, training=False):
        x, positions = self._embed(idx, 0, training)  # learned positions: T <= block_size (checked there)
        for block in self.blocks:
            x, _ = block(x, positions, attention=self.attention, rope=self.rope, training=training)
        return self._logits(x)

    def forward_cached(self, idx, caches: Sequence | None = None):
        """Incremental decoding with a KV cache: -> (logits (B, T, V), new_caches). See
        ``genlab.torch.text.TinyGPT.forward_cached``; positions continue from the cached length."""
        if self.cache_update is None:
            raise ValueError("forward_cached needs the model to be built with cache_update=...")
        idx = tf.convert_to_tensor(idx)
        if caches is None:
            caches, t0 = [None] * len(self.blocks), 0
        else:
            if len(caches) != len(self.blocks):
                raise ValueError(f"expected {len(self.blocks)} layer caches, got {len(caches)}")
            t0 = caches[0][0].shape[2]                                          # a Python int when known,
            if t0 is None:                                                    # else (a tf.function traced for any
                t0 = tf.shape(caches[0][0])[2]                                # length) a tensor
        x, positions = self._embed(idx, t0, False)
        new_caches = []
        for block, cache in zip(self.blocks, caches):
            x, cache = block(x, positions, attention=self.attention, rope=self.rope, cache_update=self.cache_update,
                             cache=cache)
            new_caches.append(cache)
        return self._logits(x), new_caches


# ----------------------------------------------------------------------------------------------- CharLSTM

class CharLSTM(keras.Model):
    """Character LSTM language model (see ``genlab.torch.text.CharLSTM``). The state is a list with one
    [h, c] pair of (B, hidden) tensors per layer."""

    def __init__(self, vocab_size: int, n_embd: int = 128, hidden: int = 512, n_layers: int = 1, **kwargs):
        super().__init__(**kwargs)
        with tf.device(device()):
            self.emb = _torch_embedding(vocab_size, n_embd)
            self.lstm = []
            for i in range(n_layers):
                layer = keras.layers.LSTM(hidden, return_sequences=True, return_state=True, unit_forget_bias=False,
                                          **_torch_rnn_init(hidden))
                layer.build((None, None, n_embd if i == 0 else hidden))
                self.lstm.append(layer)
            self.head = _torch_dense(vocab_size, hidden)
        self.built = True

    def parts(self) -> list:
        return [self.emb, self.lstm, self.head]

    def call(self, idx, state=None, return_state: bool = False, training=False):
        h = self.emb(idx)                                                     # (B, T, n_embd)
        new_state = []
        for i, layer in enumerate(self.lstm):
            h, h_n, c_n = layer(h, initial_state=None if state is None else state[i])  # (B, T, hidden)
            new_state.append([h_n, c_n])
        logits = self.head(h)                                                 # (B, T, V)
        return (logits, new_state) if return_state else logits


# ----------------------------------------------------------------------------------------------- Seq2Seq

class Seq2Seq(keras.Model):
    """GRU encoder-decoder with Luong "general" attention (see ``genlab.torch.text.Seq2Seq`` for the maths).

    ``model(src, tgt_in)`` -> (logits (B, T, V), attention (B, T, S)); ``greedy`` decodes without targets.
    """

    def __init__(self, src_vocab: int, tgt_vocab: int, n_embd: int = 64, hidden: int = 128, **kwargs):
        super().__init__(**kwargs)
        self.hidden = hidden
        with tf.device(device()):
            self.src_emb = _torch_embedding(src_vocab, n_embd)
            # reset_after=True is PyTorch's GRU: n = tanh(W_n x + b_in + r * (U_n h + b_hn))
            self.encoder = keras.layers.Bidirectional(keras.layers.GRU(hidden, return_sequences=True,
                                                                       reset_after=True, **_torch_rnn_init(hidden)),
                                                      merge_mode="concat")
            self.encoder.build((None, None, n_embd))
            self.init = _torch_dense(hidden, 2 * hidden)
            self.tgt_emb = _torch_embedding(tgt_vocab, n_embd)
            self.decoder = keras.layers.GRU(hidden, return_sequences=True, return_state=True, reset_after=True,
                                            **_torch_rnn_init(hidden))
            self.decoder.build((None, None, n_embd))
            self.attn_w = _torch_dense(hidden, 2 * hidden, use_bias=False)                  # W_a
            self.combine = _torch_dense(hidden, 3 * hidden)                                   # W_c
            self.out = _torch_dense(tgt_vocab, hidden)                                        # W_out
        self.built = True

    def parts(self) -> list:
        return [self.src_emb, self.encoder, self.init, self.tgt_emb, self.decoder, self.attn_w, self.combine,
                self.out]

    def encode(self, src):
        """src (B, S) ints -> (h_s (B, S, 2*hidden), keys W_a h_s (B, S, hidden), mask (B, S) bool,
        s_0 (B, hidden))."""
        mask = tf.not_equal(src, PAD)                                         # (B, S) True at real characters
        h_s = self.encoder(self.src_emb(src))                                 # (B, S, 2H)
        m = tf.cast(mask, h_s.dtype)[:, :, None]                              # (B, S, 1)
        mean = tf.reduce_sum(h_s * m, 1) / tf.maximum(tf.reduce_sum(m, 1), 1.0)  # (B, 2H)
        s0 = tf.tanh(self.init(mean))                                         # (B, H)
        return h_s, self.attn_w(h_s), mask, s0

    def _attend(self, s_t, h_s, keys, mask):
        scores = tf.matmul(s_t, keys, transpose_b=True)                       # (B, T, H) @ (B, H, S) -> (B, T, S)
        scores = tf.where(mask[:, None, :], scores, tf.constant(-1e9, scores.dtype))  # no attention to PAD
        a = tf.nn.softmax(scores, axis=-1)                                    # (B, T, S)
        c = tf.matmul(a, h_s)                                                 # (B, T, 2H)
        h_tilde = tf.tanh(self.combine(tf.concat([c, s_t], axis=-1)))        # (B, T, H)
        return self.out(h_tilde), a                                           # (B, T, V), (B, T, S)

    def call(self, src, tgt_in, training=False):
        h_s, keys, mask, s0 = self.encode(src)
        s, _ = self.decoder(self.tgt_emb(tgt_in), initial_state=[s0])         # (B, T, H)
        return self._attend(s, h_s, keys, mask)

    def greedy(self, src, max_len: int, bos_id: int, eos_id: int = EOS):
        """Greedy decoding -> (ids (B, max_len) int64, attention (B, max_len, S)); ids after a sequence's
        first ``eos_id`` are PAD (0)."""
        src = tf.convert_to_tensor(np.asarray(src), dtype=tf.int64) if not tf.is_tensor(src) else src
        h_s, keys, mask, state = self.encode(src)
        tok = tf.fill((tf.shape(src)[0], 1), tf.constant(bos_id, tf.int64))
        done = tf.zeros((tf.shape(src)[0],), tf.bool)
        ids, attns = [], []
        for _ in range(max_len):
            s, state = self.decoder(self.tgt_emb(tok), initial_state=[state])  # (B, 1, H)
            logits, a = self._attend(s, h_s, keys, mask)                      # (B, 1, V), (B, 1, S)
            tok = tf.argmax(logits, axis=-1)                                  # (B, 1) int64
            ids.append(tf.where(done[:, None], tf.zeros_like(tok), tok))
            attns.append(a)
            done = done | (tok[:, 0] == eos_id)
        return tf.concat(ids, 1), tf.concat(attns, 1)


# ----------------------------------------------------------------------------------------------- LoRA

class LoRALinear(keras.layers.Layer):
    """A frozen Dense plus a trainable low-rank update: h = W x + b + (alpha / r) * B A x, with A (in, r)
    uniform in +-1/sqrt(in) (what PyTorch's Kaiming-uniform(a=sqrt(5)) gives) and B (r, out) = 0 (Keras
    layout: x @ A @ B)."""

    def __init__(self, base, rank: int = 8, alpha: float = 16.0, **kwargs):
        super().__init__(**kwargs)
        if rank < 1:
            raise ValueError(f"rank must be >= 1, got {rank}")
        self.base, self.rank, self.alpha, self.scaling = base, rank, alpha, alpha / rank
        for v in base.weights:
            v.trainable = False
        in_dim, out_dim = base.kernel.shape
        bound = 1.0 / math.sqrt(in_dim)
        self.lora_a = self.add_weight(shape=(in_dim, rank), name="lora_a",
                                      initializer=keras.initializers.RandomUniform(-bound, bound))
        self.lora_b = self.add_weight(shape=(rank, out_dim), name="lora_b", initializer="zeros")
        self.built = True

    def call(self, x):
        # W x + b + (alpha / r) * B (A x)
        return self.base(x) + self.scaling * tf.matmul(tf.matmul(x, self.lora_a), self.lora_b)


def apply_lora(model: TinyGPT, rank: int = 8, alpha: float = 16.0, mlp: bool = False) -> TinyGPT:
    """Freeze every variable of ``model`` and wrap each block's attention projections (``attn.qkv``,
    ``attn.proj``; with ``mlp=True`` also ``mlp.fc`` and ``mlp.proj``) in :class:`LoRALinear`. In place;
    returns the model. Freezing is per variable (``variable.trainable = False``), so the LoRA variables
    added afterwards are the only trainable ones."""
    if not isinstance(model, TinyGPT):
        raise TypeError(f"apply_lora expects a TinyGPT, got {type(model).__name__}")
    if any(isinstance(layer, LoRALinear) for layer in model._flatten_layers()):
        raise ValueError("the model already has LoRA layers")
    for v in model.weights:
        v.trainable = False
    with tf.device(device()):
        for block in model.blocks:
            for owner, names in ((block.attn, ("qkv", "proj")), (block.mlp, ("fc", "proj") if mlp else ())):
                for name in names:
                    setattr(owner, name, LoRALinear(getattr(owner, name), rank, alpha))
    return model


def count_params(model, trainable_only: bool = False) -> int:
    """Number of parameters (only the trainable variables when ``trainable_only``)."""
    variables = model.trainable_weights if trainable_only else model.weights
    return int(sum(np.prod(v.shape) for v in variables))


# ----------------------------------------------------------------------------------------------- training steps

def _adamw(variables, lr: float, weight_decay: float, grad_clip: float | None):
    # AdamW over the TRAINABLE variables; weight decay on matrices only (nanoGPT), not on biases/LayerNorm
    opt = keras.optimizers.AdamW(learning_rate=lr, weight_decay=weight_decay, beta_1=0.9, beta_2=0.99,
                                 epsilon=1e-8, global_clipnorm=grad_clip)
    opt.exclude_from_weight_decay(var_list=[v for v in variables if len(v.shape) < 2])
    opt.build(variables)
    return opt


def _lr_setter(opt):
    def set_lr(value: float) -> None:
        opt.learning_rate = float(value)  # a variable the compiled step reads: no retracing
    return set_lr


def make_lm_step(model, lr: float = 3e-3, weight_decay: float = 0.1, grad_clip: float = 1.0):
    """-> ``step(x, y) -> float``: one AdamW step on the mean next-token cross-entropy of a batch
    (see ``genlab.torch.text.make_lm_step``). The step is a ``tf.function`` (XLA-compiled for TinyGPT,
    see ``_JIT_COMPILE``); inputs are cast to int32, so equal shapes never retrace
    (``step.trace_count()`` says how often it traced). The optimiser is ``step.optimizer``;
    ``step.set_lr(value)`` changes the learning rate."""
    variables = list(model.trainable_weights)
    opt = _adamw(variables, lr, weight_decay, grad_clip)

    @tf.function(jit_compile=_jit(model))
    def train(x, y):
        with tf.GradientTape() as tape:
            logits = model(x, training=True)                                  # (B, T, V)
            loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True))
        grads = tape.gradient(loss, variables)
        opt.apply(grads, variables)
        return loss

    def step(x, y) -> float:
        return float(train(tf.convert_to_tensor(x, tf.int32), tf.convert_to_tensor(y, tf.int32)))

    step.optimizer, step.trace_count, step.set_lr = opt, train.experimental_get_tracing_count, _lr_setter(opt)
    return step


def make_seq2seq_step(model: Seq2Seq, lr: float = 3e-3, grad_clip: float = 1.0):
    """-> ``step(src, tgt_in, tgt_out) -> float``: one Adam step on the cross-entropy of the non-PAD target
    positions (mean over real tokens, as PyTorch's ``ignore_index=PAD``). Compiled like :func:`make_lm_step`."""
    variables = list(model.trainable_weights)
    opt = _adamw(variables, lr, 0.0, grad_clip)

    @tf.function(jit_compile=_jit(model))
    def train(src, tgt_in, tgt_out):
        with tf.GradientTape() as tape:
            logits, _ = model(src, tgt_in, training=True)                     # (B, T, V)
            per_token = keras.losses.sparse_categorical_crossentropy(tgt_out, logits, from_logits=True)  # (B, T)
            real = tf.cast(tf.not_equal(tgt_out, PAD), per_token.dtype)
            loss = tf.reduce_sum(per_token * real) / tf.maximum(tf.reduce_sum(real), 1.0)
        grads = tape.gradient(loss, variables)
        opt.apply(grads, variables)
        return loss

    def step(src, tgt_in, tgt_out) -> float:
        return float(train(*(tf.convert_to_tensor(a, tf.int32) for a in (src, tgt_in, tgt_out))))

    step.optimizer, step.trace_count, step.set_lr = opt, train.experimental_get_tracing_count, _lr_setter(opt)
    return step


# ----------------------------------------------------------------------------------------------- weights

def _rnn_cells(layer) -> list:
    if isinstance(layer, list):                                               # CharLSTM's stack of LSTMs
        return [c for sub in layer for c in _rnn_cells(sub)]
    if isinstance(layer, keras.layers.Bidirectional):
        return [layer.forward_layer.cell, layer.backward_layer.cell]          # forward direction first
    return [layer.cell]


def _layer_variables(layer) -> list:
    if isinstance(layer, keras.layers.Embedding):
        return [layer.embeddings]
    if isinstance(layer, keras.layers.LayerNormalization):
        return [layer.gamma, layer.beta]
    if isinstance(layer, keras.layers.Dense):
        return [layer.kernel] + ([layer.bias] if layer.use_bias else [])
    if isinstance(layer, LoRALinear):
        return _layer_variables(layer.base) + [layer.lora_a, layer.lora_b]
    if isinstance(layer, (list, keras.layers.Bidirectional, keras.layers.LSTM, keras.layers.GRU)):
        return [v for cell in _rnn_cells(layer) for v in (cell.kernel, cell.recurrent_kernel, cell.bias)]
    raise TypeError(f"no weight layout for {type(layer).__name__}")


def get_weights(model) -> list[np.ndarray]:
    """All weights of a TinyGPT / CharLSTM / Seq2Seq (LoRA'd or not) as float32 NumPy arrays in the shared
    layout (see genlab.torch.text), in the order of ``model.parts()``."""
    return read_arrays(v for layer in model.parts() for v in _layer_variables(layer))


def set_weights(model, weights: Sequence[np.ndarray]):
    """Load weights in the layout :func:`get_weights` returns (shapes and count checked). Returns the model."""
    variables = [v for layer in model.parts() for v in _layer_variables(layer)]
    assign_arrays(variables, weights, [v.path for v in variables])
    return model
