"""Language models of chapter 05_text in PyTorch (``genlab.tf.text`` mirrors every name and signature).

- :class:`TinyGPT`: a decoder-only transformer (nanoGPT-style, pre-LayerNorm) whose attention, rotary
  embedding and KV-cache update are INJECTED functions: the chapter's exercises, written by the student in
  the notebook. Nothing here builds a causal mask, rotates by RoPE or concatenates a cache.
- :class:`CharLSTM`: a character LSTM language model.
- :class:`Seq2Seq`: a GRU encoder-decoder with (Luong "general") attention, for the date task.
- :func:`apply_lora` / :class:`LoRALinear`: low-rank adapters on the GPT's projections.
- :func:`make_lm_step`, :func:`make_seq2seq_step`: one optimiser step on a NumPy batch -> the float loss.
- :func:`get_weights` / :func:`set_weights`: the weights as NumPy arrays in ONE layout shared with Keras:

  =================  =====================================================================================
  Embedding          table (V, C)
  Linear             kernel (in, out) (``nn.Linear`` stores the transpose), then bias (out,) if it has one
  LayerNorm          gamma (C,), beta (C,)
  LSTM (per layer)   kernel (in, 4H), recurrent kernel (H, 4H), bias (4H,); gates (i, f, g, o) in both
                     frameworks; bias = b_ih + b_hh (Keras has one bias; loading sets b_ih = bias, b_hh = 0)
  GRU (per dir.)     kernel (in, 3H), recurrent kernel (H, 3H), bias (2, 3H) = [input bias; recurrent bias];
                     gates in KERAS order (z, r, n) (PyTorch stores (r, z, n)); n = tanh(W_n x + b_in +
                     r * (U_n h + b_hn)) in both (Keras ``reset_after=True``); forward direction first
  LoRALinear         the base kernel and bias, then A (in, r), then B (r, out)
  =================  =====================================================================================

  in the order of each model's parts (``model.parts()``), the same in both frameworks.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from genlab.text import EOS, PAD, GPTConfig
from genlab.torch import device

__all__ = ["GPTConfig", "TinyGPT", "Block", "CausalSelfAttention", "MLP", "CharLSTM", "Seq2Seq", "LoRALinear",
           "apply_lora", "count_params", "make_lm_step", "make_seq2seq_step", "get_weights", "set_weights"]


def _init_linear(lin: nn.Linear, std: float = 0.02) -> nn.Linear:
    nn.init.normal_(lin.weight, 0.0, std)  # GPT-2 initialisation: N(0, 0.02), biases zero
    if lin.bias is not None:
        nn.init.zeros_(lin.bias)
    return lin


# ----------------------------------------------------------------------------------------------- TinyGPT

class CausalSelfAttention(nn.Module):
    """Multi-head self-attention around an injected ``attention(q, k, v)``: one fused qkv projection,
    heads split out, RoPE on q and k (when given), the attention, heads merged, an output projection."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.n_head, self.n_embd = config.n_head, config.n_embd
        self.qkv = _init_linear(nn.Linear(config.n_embd, 3 * config.n_embd))     # C -> 3C: q, k, v at once
        self.proj = _init_linear(nn.Linear(config.n_embd, config.n_embd), 0.02 / math.sqrt(2 * config.n_layer))
        self.drop = nn.Dropout(config.dropout)

    def forward(self, x, positions, attention, rope=None, cache_update=None, cache=None):
        B, T, C = x.shape                                                # (B, T, C)
        q, k, v = self.qkv(x).split(C, dim=2)                            # 3 x (B, T, C)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, H, T, Dh)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, H, T, Dh)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, H, T, Dh)
        if rope is not None:
            q, k = rope(q, positions), rope(k, positions)                # rotate by absolute position
        new_cache = None
        if cache_update is not None:
            k, v = cache_update(cache, k, v)                             # (B, H, Tc + T, Dh): past + new
            new_cache = (k, v)
        y = attention(q, k, v)                                           # (B, H, T, Dh), causal
        y = y.transpose(1, 2).contiguous().view(B, T, C)                 # (B, T, C): heads side by side
        return self.drop(self.proj(y)), new_cache


class MLP(nn.Module):
    """Position-wise feed-forward: C -> 4C, GELU (exact, erf), 4C -> C."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.fc = _init_linear(nn.Linear(config.n_embd, 4 * config.n_embd))
        self.proj = _init_linear(nn.Linear(4 * config.n_embd, config.n_embd), 0.02 / math.sqrt(2 * config.n_layer))
        self.drop = nn.Dropout(config.dropout)

    def forward(self, x):  # (B, T, C) -> (B, T, C)
        return self.drop(self.proj(F.gelu(self.fc(x))))


class Block(nn.Module):
    """Pre-LayerNorm transformer block: x = x + attn(ln1(x)); x = x + mlp(ln2(x))."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.ln1 = nn.LayerNorm(config.n_embd, eps=1e-5)
        self.attn = CausalSelfAttention(config)
        self.ln2 = nn.LayerNorm(config.n_embd, eps=1e-5)
        self.mlp = MLP(config)

    def forward(self, x, positions, attention, rope=None, cache_update=None, cache=None):
        a, new_cache = self.attn(self.ln1(x), positions, attention, rope, cache_update, cache)
        x = x + a                                                        # (B, T, C)
        x = x + self.mlp(self.ln2(x))                                    # (B, T, C)
        return x, new_cache


class TinyGPT(nn.Module):
    """A character-level GPT whose attention, RoPE and KV-cache update are supplied by the caller.

    The injected functions (PyTorch tensors in, tensors out; B batch, H heads, T time, Dh head size):

    - ``attention(q, k, v)``: q (B, H, Tq, Dh), k and v (B, H, Tk, Dh) with Tk >= Tq -> (B, H, Tq, Dh).
      Causal, with the queries aligned to the END of the keys: query i sits at absolute position
      Tk - Tq + i and may attend to keys 0 .. Tk - Tq + i (Tq = Tk during training and prefill, Tq = 1 when
      decoding one token against a cache).
    - ``rope(x, positions)``: x (B, H, T, Dh), positions (T,) int64 absolute positions -> same shape.
      Required when ``config.rope`` (then no position embedding is learned); ignored otherwise.
    - ``cache_update(cache, k_new, v_new)``: cache None or a tuple (k, v) of (B, H, Tc, Dh) -> (k_all, v_all)
      with the new time steps appended on axis 2. Only :meth:`forward_cached` uses it.

    ``model(idx)``: idx (B, T) int64 -> logits (B, T, vocab_size); T <= block_size with learned positions, any T
    with RoPE (which has no table; beyond the trained context the model runs, with no promise of quality).
    ``model.forward_cached(idx, caches)``: see there. Created on :func:`genlab.torch.device`.
    """

    def __init__(self, config: GPTConfig, attention: Callable, rope: Callable | None = None,
                 cache_update: Callable | None = None):
        super().__init__()
        if not isinstance(config, GPTConfig):
            raise TypeError(f"config must be a GPTConfig, got {type(config).__name__}")
        if not callable(attention):
            raise TypeError("attention must be a function attention(q, k, v)")
        if config.rope and not callable(rope):
            raise ValueError("config.rope=True needs a rope(x, positions) function")
        self.config = config
        self.attention, self.rope, self.cache_update = attention, rope if config.rope else None, cache_update
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)                  # token embedding (V, C)
        nn.init.normal_(self.wte.weight, 0.0, 0.02)
        self.wpe = None
        if not config.rope:
            self.wpe = nn.Embedding(config.block_size, config.n_embd)              # position embedding (T, C)
            nn.init.normal_(self.wpe.weight, 0.0, 0.02)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList([Block(config) for _ in range(config.n_layer)])
        self.ln_f = nn.LayerNorm(config.n_embd, eps=1e-5)
        # tied: logits = h @ wte^T (the embedding doubles as the output layer); untied: its own (C, V) matrix
        self.lm_head = None if config.tie_weights else _init_linear(nn.Linear(config.n_embd, config.vocab_size,
                                                                              bias=False))
        self.to(device())

    def parts(self) -> list[nn.Module]:
        """The leaf layers in the order of :func:`get_weights` (the same order in ``genlab.tf.text``)."""
        out: list[nn.Module] = [self.wte] + ([self.wpe] if self.wpe is not None else [])
        for b in self.blocks:
            out += [b.ln1, b.attn.qkv, b.attn.proj, b.ln2, b.mlp.fc, b.mlp.proj]
        return out + [self.ln_f] + ([self.lm_head] if self.lm_head is not None else [])

    def _embed(self, idx, t0: int):
        B, T = idx.shape
        if not self.config.rope and t0 + T > self.config.block_size:
            raise ValueError(f"positions up to {t0 + T} exceed block_size={self.config.block_size} "
                             "(a learned position embedding has no rows beyond it)")
        positions = torch.arange(t0, t0 + T, device=idx.device)               # (T,) absolute positions
        x = self.wte(idx)                                                      # (B, T, C)
        if self.wpe is not None:
            x = x + self.wpe(positions)                                        # (B, T, C) + (T, C)
        return self.drop(x), positions

    def _logits(self, x):
        x = self.ln_f(x)                                                       # (B, T, C)
        if self.lm_head is None:
            return x @ self.wte.weight.t()                                     # (B, T, C) @ (C, V) -> (B, T, V)
        return self.lm_head(x)                                                 # (B, T, V)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        """idx (B, T) int64 -> logits (B, T, V): every position predicts the next token."""
        x, positions = self._embed(idx, 0)  # learned positions: T <= block_size (checked there)
        for block in self.blocks:
            x, _ = block(x, positions, self.attention, self.rope)
        return self._logits(x)

    def forward_cached(self, idx: torch.Tensor, caches: Sequence | None = None):
        """Incremental decoding with a KV cache: -> (logits (B, T, V), new_caches).

        ``caches`` is None on the first call (``idx`` = the prompt: "prefill") or the list this method
        returned last time (one (k, v) tuple per layer, each (B, H, Tc, Dh)); ``idx`` (B, T) then holds only
        the NEW tokens (usually T = 1) and their positions continue from Tc. Each layer appends its new keys
        and values with the injected ``cache_update`` and attends from the new queries to all of them.
        The logits equal those of ``model(full_sequence)`` at the same positions. Sample under
        ``torch.no_grad()`` (the cache otherwise keeps the whole graph alive).
        """
        if self.cache_update is None:
            raise ValueError("forward_cached needs the model to be built with cache_update=...")
        if caches is None:
            caches, t0 = [None] * len(self.blocks), 0
        else:
            if len(caches) != len(self.blocks):
                raise ValueError(f"expected {len(self.blocks)} layer caches, got {len(caches)}")
            t0 = int(caches[0][0].shape[2])
        x, positions = self._embed(idx, t0)
        new_caches = []
        for block, cache in zip(self.blocks, caches):
            x, cache = block(x, positions, self.attention, self.rope, self.cache_update, cache)
            new_caches.append(cache)
        return self._logits(x), new_caches


# ----------------------------------------------------------------------------------------------- CharLSTM

class CharLSTM(nn.Module):
    """Character LSTM language model: embedding (V, n_embd) -> LSTM (n_layers x hidden) -> Linear (hidden, V).

    ``model(idx)`` -> logits (B, T, V); ``model(idx, state, return_state=True)`` -> (logits, state) for
    sampling one character at a time. The state is opaque (PyTorch: a tuple (h, c) of (n_layers, B, hidden);
    Keras: a list of [h, c] per layer): pass back what you got, or None to start from zeros.
    """

    def __init__(self, vocab_size: int, n_embd: int = 128, hidden: int = 512, n_layers: int = 1):
        super().__init__()
        self.emb = nn.Embedding(vocab_size, n_embd)
        self.lstm = nn.LSTM(n_embd, hidden, num_layers=n_layers, batch_first=True)
        self.head = nn.Linear(hidden, vocab_size)
        self.to(device())

    def parts(self) -> list[nn.Module]:
        return [self.emb, self.lstm, self.head]

    def forward(self, idx, state=None, return_state: bool = False):
        h, state = self.lstm(self.emb(idx), state)                             # (B, T, hidden)
        logits = self.head(h)                                                  # (B, T, V)
        return (logits, state) if return_state else logits


# ----------------------------------------------------------------------------------------------- Seq2Seq

class Seq2Seq(nn.Module):
    """GRU encoder-decoder with attention (Luong et al. 2015, "general" score), for short strings.

    Encoder: embedding -> bidirectional GRU over the padded source -> states h_s (B, S, 2*hidden).
    Decoder: initial state s_0 = tanh(W_init mean_{s not PAD} h_s); a GRU reads the target embeddings
    (teacher forcing) -> s_t (B, T, hidden); then, for every step,

        score(t, s) = s_t . (W_a h_s)                (B, T, S), PAD source positions set to -1e9
        a_t = softmax_s(score(t, .))                 the attention weights (B, T, S)
        c_t = sum_s a_t(s) h_s                       the context (B, T, 2*hidden)
        h~_t = tanh(W_c [c_t; s_t])                  (B, T, hidden)
        logits_t = W_out h~_t                        (B, T, tgt_vocab)

    ``model(src, tgt_in)`` -> (logits (B, T, V), attention (B, T, S)); ``greedy`` decodes without targets.
    """

    def __init__(self, src_vocab: int, tgt_vocab: int, n_embd: int = 64, hidden: int = 128):
        super().__init__()
        self.hidden = hidden
        self.src_emb = nn.Embedding(src_vocab, n_embd)
        self.encoder = nn.GRU(n_embd, hidden, batch_first=True, bidirectional=True)
        self.init = nn.Linear(2 * hidden, hidden)
        self.tgt_emb = nn.Embedding(tgt_vocab, n_embd)
        self.decoder = nn.GRU(n_embd, hidden, batch_first=True)
        self.attn_w = nn.Linear(2 * hidden, hidden, bias=False)              # W_a of the "general" score
        self.combine = nn.Linear(3 * hidden, hidden)                          # W_c
        self.out = nn.Linear(hidden, tgt_vocab)                               # W_out
        self.to(device())

    def parts(self) -> list[nn.Module]:
        return [self.src_emb, self.encoder, self.init, self.tgt_emb, self.decoder, self.attn_w, self.combine,
                self.out]

    def encode(self, src):
        """src (B, S) int64 -> (h_s (B, S, 2*hidden), keys W_a h_s (B, S, hidden), mask (B, S) bool,
        s_0 (1, B, hidden))."""
        mask = src != PAD                                                     # (B, S) True at real characters
        h_s, _ = self.encoder(self.src_emb(src))                              # (B, S, 2H)
        m = mask.unsqueeze(-1).to(h_s.dtype)                                  # (B, S, 1)
        mean = (h_s * m).sum(1) / m.sum(1).clamp(min=1.0)                     # (B, 2H)
        s0 = torch.tanh(self.init(mean)).unsqueeze(0)                         # (1, B, H)
        return h_s, self.attn_w(h_s), mask, s0

    def _attend(self, s_t, h_s, keys, mask):
        scores = s_t @ keys.transpose(1, 2)                                   # (B, T, H) @ (B, H, S) -> (B, T, S)
        scores = scores.masked_fill(~mask.unsqueeze(1), -1e9)                 # no attention to PAD
        a = torch.softmax(scores, dim=-1)                                     # (B, T, S)
        c = a @ h_s                                                           # (B, T, 2H)
        h_tilde = torch.tanh(self.combine(torch.cat([c, s_t], dim=-1)))      # (B, T, H)
        return self.out(h_tilde), a                                           # (B, T, V), (B, T, S)

    def forward(self, src, tgt_in):
        h_s, keys, mask, s0 = self.encode(src)
        s, _ = self.decoder(self.tgt_emb(tgt_in), s0)                         # (B, T, H)
        return self._attend(s, h_s, keys, mask)

    @torch.no_grad()
    def greedy(self, src, max_len: int, bos_id: int, eos_id: int = EOS):
        """Greedy decoding -> (ids (B, max_len) int64, attention (B, max_len, S)). Each step feeds back the
        argmax; after a sequence's first ``eos_id`` its remaining ids are PAD (0)."""
        src = torch.as_tensor(np.asarray(src) if not isinstance(src, torch.Tensor) else src,
                              dtype=torch.int64, device=next(self.parameters()).device)
        h_s, keys, mask, state = self.encode(src)
        tok = torch.full((src.shape[0], 1), bos_id, dtype=torch.int64, device=src.device)
        done = torch.zeros(src.shape[0], dtype=torch.bool, device=src.device)
        ids, attns = [], []
        for _ in range(max_len):
            s, state = self.decoder(self.tgt_emb(tok), state)                 # (B, 1, H)
            logits, a = self._attend(s, h_s, keys, mask)                      # (B, 1, V), (B, 1, S)
            tok = logits.argmax(-1)                                           # (B, 1)
            ids.append(torch.where(done.unsqueeze(1), torch.zeros_like(tok), tok))
            attns.append(a)
            done = done | (tok[:, 0] == eos_id)
        return torch.cat(ids, 1), torch.cat(attns, 1)


# ----------------------------------------------------------------------------------------------- LoRA

class LoRALinear(nn.Module):
    """A frozen ``nn.Linear`` plus a trainable low-rank update (Hu et al. 2021):

        h = W x + b + (alpha / r) * B A x,   A (r, in) random (Kaiming-uniform), B (out, r) = 0

    so at the start the layer computes exactly what the base layer did. Only A and B train.
    """

    def __init__(self, base: nn.Linear, rank: int = 8, alpha: float = 16.0):
        super().__init__()
        if rank < 1:
            raise ValueError(f"rank must be >= 1, got {rank}")
        self.base, self.rank, self.alpha, self.scaling = base, rank, alpha, alpha / rank
        for p in base.parameters():
            p.requires_grad_(False)
        dev = base.weight.device
        self.lora_a = nn.Parameter(torch.empty(rank, base.in_features, device=dev))   # A (r, in)
        nn.init.kaiming_uniform_(self.lora_a, a=math.sqrt(5))                           # as nn.Linear / peft
        self.lora_b = nn.Parameter(torch.zeros(base.out_features, rank, device=dev))  # B (out, r) = 0

    def forward(self, x):
        # W x + b + (alpha / r) * B (A x)
        return self.base(x) + self.scaling * F.linear(F.linear(x, self.lora_a), self.lora_b)


def apply_lora(model: TinyGPT, rank: int = 8, alpha: float = 16.0, mlp: bool = False) -> TinyGPT:
    """Freeze every parameter of ``model`` and wrap each block's attention projections (``attn.qkv``,
    ``attn.proj``; with ``mlp=True`` also ``mlp.fc`` and ``mlp.proj``) in :class:`LoRALinear`. In place;
    returns the model. Afterwards only the LoRA A and B matrices are trainable."""
    if not isinstance(model, TinyGPT):
        raise TypeError(f"apply_lora expects a TinyGPT, got {type(model).__name__}")
    if any(isinstance(m, LoRALinear) for m in model.modules()):
        raise ValueError("the model already has LoRA layers")
    for p in model.parameters():
        p.requires_grad_(False)
    for block in model.blocks:
        for owner, names in ((block.attn, ("qkv", "proj")), (block.mlp, ("fc", "proj") if mlp else ())):
            for name in names:
                setattr(owner, name, LoRALinear(getattr(owner, name), rank, alpha))
    return model


def count_params(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (only those with ``requires_grad`` when ``trainable_only``)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


# ----------------------------------------------------------------------------------------------- training steps

def _adamw(model: nn.Module, lr: float, weight_decay: float) -> torch.optim.AdamW:
    # AdamW over the TRAINABLE parameters; weight decay on matrices only (nanoGPT), not on biases/LayerNorm
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    return torch.optim.AdamW([g for g in groups if g["params"]], lr=lr, betas=(0.9, 0.99), eps=1e-8)


def make_lm_step(model: nn.Module, lr: float = 3e-3, weight_decay: float = 0.1, grad_clip: float = 1.0):
    """-> ``step(x, y) -> float``: one AdamW step on the mean next-token cross-entropy of a batch.

    x, y: (B, T) integer NumPy arrays (or tensors); ``model(x)`` must return logits (B, T, V) (TinyGPT,
    CharLSTM). Gradients are clipped to a global norm of ``grad_clip`` (None: no clipping). The optimiser
    is ``step.optimizer``; ``step.set_lr(value)`` changes the learning rate (a schedule).
    """
    opt = _adamw(model, lr, weight_decay)
    params = [p for g in opt.param_groups for p in g["params"]]
    dev = next(model.parameters()).device

    def step(x, y) -> float:
        model.train()
        x = torch.as_tensor(x, dtype=torch.int64, device=dev)
        y = torch.as_tensor(y, dtype=torch.int64, device=dev)
        logits = model(x)                                                     # (B, T, V)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        return _update(opt, params, loss, grad_clip)

    step.optimizer, step.set_lr = opt, lambda value: _set_lr(opt, value)
    return step


def _update(opt: torch.optim.Optimizer, params: list, loss: torch.Tensor, grad_clip: float | None) -> float:
    """Backpropagate ``loss``, clip the gradients' global norm, take one optimiser step; the loss as a float."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if grad_clip is not None:
        torch.nn.utils.clip_grad_norm_(params, grad_clip)
    opt.step()
    return loss.item()


def _set_lr(opt: torch.optim.Optimizer, value: float) -> None:
    for group in opt.param_groups:
        group["lr"] = float(value)


def make_seq2seq_step(model: Seq2Seq, lr: float = 3e-3, grad_clip: float = 1.0):
    """-> ``step(src, tgt_in, tgt_out) -> float``: one Adam step (no weight decay) on the cross-entropy of
    the non-PAD target positions (PAD = 0 in ``tgt_out`` is excluded: ``ignore_index``)."""
    opt = _adamw(model, lr, 0.0)
    params = [p for g in opt.param_groups for p in g["params"]]
    dev = next(model.parameters()).device

    def step(src, tgt_in, tgt_out) -> float:
        model.train()
        src, tgt_in, tgt_out = (torch.as_tensor(a, dtype=torch.int64, device=dev) for a in (src, tgt_in, tgt_out))
        logits, _ = model(src, tgt_in)                                        # (B, T, V)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1), ignore_index=PAD)
        return _update(opt, params, loss, grad_clip)

    step.optimizer, step.set_lr = opt, lambda value: _set_lr(opt, value)
    return step


# ----------------------------------------------------------------------------------------------- weights

def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy().astype(np.float32, copy=True)


def _gru_to_keras(w: np.ndarray) -> np.ndarray:
    r, z, n = np.split(w, 3, axis=0)                                          # PyTorch (r, z, n) on axis 0
    return np.concatenate([z, r, n], axis=0)                                  # Keras (z, r, n)


def _gru_from_keras(w: np.ndarray) -> np.ndarray:
    z, r, n = np.split(w, 3, axis=0)
    return np.concatenate([r, z, n], axis=0)


def _rnn_suffixes(layer) -> list[str]:
    if isinstance(layer, nn.LSTM):
        return [f"_l{i}" for i in range(layer.num_layers)]
    directions = [""] + (["_reverse"] if layer.bidirectional else [])
    return [f"_l{i}{d}" for i in range(layer.num_layers) for d in directions]


def _layer_weights(layer) -> list[np.ndarray]:
    if isinstance(layer, nn.Embedding):
        return [_np(layer.weight)]
    if isinstance(layer, nn.LayerNorm):
        return [_np(layer.weight), _np(layer.bias)]
    if isinstance(layer, nn.Linear):
        return [_np(layer.weight).T.copy()] + ([_np(layer.bias)] if layer.bias is not None else [])
    if isinstance(layer, LoRALinear):
        return _layer_weights(layer.base) + [_np(layer.lora_a).T.copy(), _np(layer.lora_b).T.copy()]
    if isinstance(layer, nn.LSTM):
        out = []
        for s in _rnn_suffixes(layer):
            g = lambda n: _np(getattr(layer, n + s))  # noqa: E731
            out += [g("weight_ih").T.copy(), g("weight_hh").T.copy(), g("bias_ih") + g("bias_hh")]
        return out
    if isinstance(layer, nn.GRU):
        out = []
        for s in _rnn_suffixes(layer):
            g = lambda n: _np(getattr(layer, n + s))  # noqa: E731
            out += [_gru_to_keras(g("weight_ih")).T.copy(), _gru_to_keras(g("weight_hh")).T.copy(),
                    np.stack([_gru_to_keras(g("bias_ih")), _gru_to_keras(g("bias_hh"))])]
        return out
    raise TypeError(f"no weight layout for {type(layer).__name__}")


def _set(param: torch.Tensor, value: np.ndarray, what: str) -> None:
    value = np.asarray(value, dtype=np.float32)
    if tuple(value.shape) != tuple(param.shape):
        raise ValueError(f"shape mismatch for {what}: got {value.shape}, the layer wants {tuple(param.shape)}")
    param.copy_(torch.as_tensor(value, device=param.device))


def _load_layer(layer, ws: list) -> None:
    name = type(layer).__name__
    if isinstance(layer, nn.Embedding):
        _set(layer.weight, ws.pop(0), name)
    elif isinstance(layer, nn.LayerNorm):
        _set(layer.weight, ws.pop(0), name)
        _set(layer.bias, ws.pop(0), name)
    elif isinstance(layer, nn.Linear):
        _set(layer.weight, np.asarray(ws.pop(0)).T, name + " kernel (in, out)")
        if layer.bias is not None:
            _set(layer.bias, ws.pop(0), name + " bias")
    elif isinstance(layer, LoRALinear):
        _load_layer(layer.base, ws)
        _set(layer.lora_a, np.asarray(ws.pop(0)).T, "LoRA A (in, r)")
        _set(layer.lora_b, np.asarray(ws.pop(0)).T, "LoRA B (r, out)")
    elif isinstance(layer, nn.LSTM):
        for s in _rnn_suffixes(layer):
            _set(getattr(layer, "weight_ih" + s), np.asarray(ws.pop(0)).T, "LSTM kernel (in, 4H)")
            _set(getattr(layer, "weight_hh" + s), np.asarray(ws.pop(0)).T, "LSTM recurrent kernel (H, 4H)")
            bias = np.asarray(ws.pop(0))
            _set(getattr(layer, "bias_ih" + s), bias, "LSTM bias (4H,)")
            _set(getattr(layer, "bias_hh" + s), np.zeros_like(bias), "LSTM bias (4H,)")
    elif isinstance(layer, nn.GRU):
        for s in _rnn_suffixes(layer):
            _set(getattr(layer, "weight_ih" + s), _gru_from_keras(np.asarray(ws.pop(0)).T), "GRU kernel (in, 3H)")
            _set(getattr(layer, "weight_hh" + s), _gru_from_keras(np.asarray(ws.pop(0)).T),
                 "GRU recurrent kernel (H, 3H)")
            bias = np.asarray(ws.pop(0))
            if bias.shape != (2, getattr(layer, "bias_ih" + s).shape[0]):
                raise ValueError(f"shape mismatch for GRU bias: got {bias.shape}, wants (2, 3H)")
            _set(getattr(layer, "bias_ih" + s), _gru_from_keras(bias[0]), "GRU input bias")
            _set(getattr(layer, "bias_hh" + s), _gru_from_keras(bias[1]), "GRU recurrent bias")
    else:
        raise TypeError(f"no weight layout for {name}")


def get_weights(model) -> list[np.ndarray]:
    """All weights of a TinyGPT / CharLSTM / Seq2Seq (LoRA'd or not) as float32 NumPy arrays in the shared
    layout (module docstring), in the order of ``model.parts()``."""
    return [w for layer in model.parts() for w in _layer_weights(layer)]


@torch.no_grad()
def set_weights(model, weights: Sequence[np.ndarray]):
    """Load weights in the layout :func:`get_weights` returns (shapes and count checked). Returns the model."""
    ws = list(weights)
    n_want = len(get_weights(model))
    if len(ws) != n_want:
        raise ValueError(f"expected {n_want} arrays, got {len(ws)}")
    for layer in model.parts():
        _load_layer(layer, ws)
    return model
