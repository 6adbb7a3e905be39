# %% [markdown]
# # Chapter 05 · Language models and text generation · 语言模型与文本生成
#
# **What you will be able to answer in an interview / 学完本章你能回答：**
#
# - What is a language model, what does perplexity measure, and how do bits per character relate to it? / 什么是语言模型？困惑度衡量什么，与每字符比特数有何关系？
# - How does byte-pair encoding build a vocabulary, and why does Chinese need bytes or a large vocabulary? / BPE 如何构建词表？为什么中文需要字节级或大词表？
# - Write causal self-attention from memory: the mask, the $\sqrt{d}$, the softmax axis. / 手写因果自注意力：掩码、$\sqrt{d}$ 缩放、softmax 的维度。
# - What rotary position embeddings rotate, and why the score then depends only on the offset. / RoPE 旋转的是什么，为什么注意力分数只依赖相对位置？
# - Greedy, temperature, top-k, top-p and beam search: what each does to the output, and why beam search is bland for open-ended text. / 各种解码策略的效果，以及为何开放式生成不用束搜索。
# - What a KV cache stores, what it saves, and what it costs in memory. / KV 缓存存什么、省什么、占多少显存。
# - How LoRA adapts a model with a fraction of the parameters, and how DPO learns from preferences without a reward model. / LoRA 如何用极少参数微调；DPO 如何不用奖励模型直接从偏好中学习。
#
# Seeds covered: S000-Q2 (NLP applications: generation, dialogue, translation, QA), S001-Q8 and S001-Q25 (NLP uses of generative models), S003-Q4 (NLP), S003-P3 (text generation with GPT-2: done here offline, by training a GPT-2-shaped model from scratch), S004 ch.4 (language models, seq2seq, summarisation, dialogue). The seeds' code and claims are wrong in instructive ways; the last section shows where.
#
# This notebook uses **{{framework}}**; its twin uses the other framework with the same exercises and the same tests.

# %% [markdown]
# ## 1. The maths, short · 数学推导
#
# **A language model** factorises the probability of a token sequence with the chain rule, exactly:
# $p(x_{1:T}) = \prod_{t=1}^{T} p(x_t \mid x_{<t})$. A neural LM outputs, at every position $t$, logits $\ell_t \in \mathbb R^V$ over the vocabulary, and
# $p(x_{t+1} = v \mid x_{\le t}) = \operatorname{softmax}(\ell_t)_v$. Training minimises the **cross-entropy** (the negative log-likelihood per token, in nats)
# $\mathcal L = -\frac1N \sum_{t} \log p(x_{t+1} \mid x_{\le t})$, averaged over the $N$ predicted tokens.
#
# * **Perplexity** $= e^{\mathcal L}$: the model is "as uncertain as a uniform choice among PPL tokens". It is an average **per token**, so it depends on the tokeniser:
#   to compare a character model with a BPE model, convert to **bits per character** (bpc) $= \frac{\text{total NLL in nats}}{\ln 2 \cdot \#\text{characters}}$. For a character model, bpc $= \log_2 \text{PPL}$.
#   A uniform model over $V$ symbols has PPL $= V$; a perfect one has PPL $= 1$.
# * **Causal self-attention.** With queries, keys and values $Q, K, V \in \mathbb R^{T \times d}$ (per head),
#   $\operatorname{Attn}(Q, K, V) = \operatorname{softmax}\!\big(\tfrac{QK^\top}{\sqrt d} + M\big)V$, the softmax over the **keys** (last axis), with $M_{ij} = 0$ if key $j$ may be seen by query $i$ and $-\infty$ otherwise.
#   Causal: $j \le i$ (a position sees itself and the past, never the future). The $\sqrt d$ keeps the scores' variance near 1 when $q, k$ have unit-variance entries ($\operatorname{Var}(q^\top k) = d$); without it the softmax saturates and its gradients vanish.
#   When only the last $T_q$ of $T_k$ positions are queried (generation with a cache), query $i$ sits at position $T_k - T_q + i$: the mask is aligned to the **end** of the keys.
# * **Rotary position embedding** (RoPE; Su et al., 2021) rotates each pair of coordinates $(x_{2i}, x_{2i+1})$ of a query or key at position $m$ by the angle $m\,\theta_i$, $\theta_i = b^{-2i/d}$, $b = 10000$.
#   Rotations compose, so $\langle R_m q, R_n k\rangle = \langle q, R_{n-m} k\rangle$: the attention score depends on the tokens and on the **offset** $n - m$ only.
# * **Sampling.** Temperature $\tau$ divides the logits *before* the softmax ($\tau \to 0$: greedy; $\tau > 1$: flatter). Top-k keeps the $k$ most probable tokens;
#   top-p ("nucleus", Holtzman et al., 2020) keeps the smallest set of most probable tokens whose total probability reaches $p$, then renormalises.
# * **DPO** (Rafailov et al., 2023). RLHF maximises $\mathbb E[r(x, y)] - \beta\,\mathrm{KL}(\pi \,\|\, \pi_{\text{ref}})$, whose optimum is $\pi^*(y \mid x) \propto \pi_{\text{ref}}(y \mid x)\, e^{r(x, y)/\beta}$.
#   Solving for $r$ and putting it into the Bradley-Terry preference model $P(y_w \succ y_l) = \sigma(r_w - r_l)$ (the partition function cancels) gives a loss on preference pairs with no reward model and no sampling:
#   $\mathcal L_{\text{DPO}} = -\mathbb E \log\sigma\Big(\beta\big[(\log\pi(y_w\mid x) - \log\pi_{\text{ref}}(y_w\mid x)) - (\log\pi(y_l\mid x) - \log\pi_{\text{ref}}(y_l\mid x))\big]\Big)$.

# %% only=torch
import inspect
import math
import time
from collections import Counter

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Markdown, display

import genlab
from genlab import pick, report
from genlab.text import CharVocab, DateVocab, date_pairs, encode_pairs, load_corpus, random_windows, time_budget
from genlab.torch import device, to_labels, to_numpy, to_tensor
from genlab.torch.text import (CausalSelfAttention, CharLSTM, GPTConfig, Seq2Seq, TinyGPT, apply_lora, count_params, get_weights,
                               make_lm_step, make_seq2seq_step, set_weights)

SEED = 0
QUICK = genlab.is_quick()  # GENLAB_QUICK=1: small, fast runs (tests and grading)
DEVICE = device()          # CUDA when present, else CPU
if DEVICE.type == "cpu":
    # two threads speed up the 128-wide matrix products on an idle 2-core machine; QUICK runs (tests, grading)
    # share the machine with another notebook, where a second thread only waits for a core
    torch.set_num_threads(1 if QUICK else 2)
genlab.seed_everything(SEED)
print(f"PyTorch {torch.__version__} on {DEVICE}; QUICK={QUICK}")


@torch.no_grad()
def lm_logits(model, x):
    """Logits (B, T, V) of a language model for int ids x (B, T), in inference mode."""
    model.eval()
    return model(to_labels(x))


@torch.no_grad()
def lm_logits_cached(model, x, caches):
    """One cached step: logits of the new ids x (B, t) and the updated caches."""
    model.eval()
    return model.forward_cached(to_labels(x), caches)


@torch.no_grad()
def s2s_greedy(model, src, max_len=11):
    """Greedy decoding of a batch of sources: ids (B, max_len) and attention weights (B, max_len, S) as NumPy."""
    model.eval()
    ids, attn = model.greedy(to_labels(src), max_len, bos_id=DateVocab.BOS, eos_id=DateVocab.EOS)
    return to_numpy(ids), to_numpy(attn)

# %% only=tf
import inspect
import math
import time
from collections import Counter

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from IPython.display import Markdown, display

import genlab
from genlab import pick, report
from genlab.text import CharVocab, DateVocab, date_pairs, encode_pairs, load_corpus, random_windows, time_budget
from genlab.tf import device, to_labels, to_numpy, to_tensor
from genlab.tf.text import (CausalSelfAttention, CharLSTM, GPTConfig, Seq2Seq, TinyGPT, apply_lora, count_params, get_weights,
                            make_lm_step, make_seq2seq_step, set_weights)

SEED = 0
QUICK = genlab.is_quick()  # GENLAB_QUICK=1: small, fast runs (tests and grading)
DEVICE = device()          # '/GPU:0' when TensorFlow sees a GPU, else '/CPU:0'
genlab.seed_everything(SEED)
print(f"TensorFlow {tf.__version__} (Keras {keras.__version__}) on {DEVICE}; QUICK={QUICK}")


_compiled = {}  # id(model) -> {"model": the model (kept alive), "forward" / "prefill" / "cached": its tf.functions}
_IDS = tf.TensorSpec([None, None], tf.int64)  # (B, T) token ids, any batch size and length


def _compiled_for(model, kind):
    """A tf.function of a model's forward pass, cached prefill or cached step, traced once for any batch size and
    length (an input signature with open dimensions): without it every generated token would pay TensorFlow's
    eager overhead per operation."""
    entry = _compiled.setdefault(id(model), {"model": model})
    if kind not in entry:
        if kind == "cached":  # per layer a (k, v) pair of (B, H, T_cached, d)
            c = model.config
            kv = tf.TensorSpec([None, c.n_head, None, c.n_embd // c.n_head], tf.float32)
            entry[kind] = tf.function(model.forward_cached, input_signature=[_IDS, [(kv, kv)] * c.n_layer])
        else:
            fn = (lambda t: model.forward_cached(t, None)) if kind == "prefill" else (lambda t: model(t, training=False))
            entry[kind] = tf.function(fn, input_signature=[_IDS])
    return entry[kind]


def lm_logits(model, x):
    """Logits (B, T, V) of a language model for int ids x (B, T), in inference mode."""
    return _compiled_for(model, "forward")(to_labels(x))


def lm_logits_cached(model, x, caches):
    """One cached step: logits of the new ids x (B, t) and the updated caches (None: the prompt, filling them)."""
    if caches is None:
        return _compiled_for(model, "prefill")(to_labels(x))
    return _compiled_for(model, "cached")(to_labels(x), [tuple(c) for c in caches])


def s2s_greedy(model, src, max_len=11):
    """Greedy decoding of a batch of sources: ids (B, max_len) and attention weights (B, max_len, S) as NumPy."""
    ids, attn = model.greedy(to_labels(src), max_len, bos_id=DateVocab.BOS, eos_id=DateVocab.EOS)
    return to_numpy(ids), to_numpy(attn)

# %% [markdown]
# **The knobs, in one place.** QUICK mode (the tests and the grader) shrinks time budgets and data sizes, never the models' shapes or learning rates,
# so a QUICK run exercises exactly the code of a full run; its numbers are not the chapter's figures. The language models are compared at **equal wall-clock budgets**
# (the issue a practitioner faces: what is the best model I can train in three minutes on a laptop?).

# %%
LM_SECONDS = pick(150, 5)          # training budget of each neural LM (LSTM, GPT), seconds
BLOCK = 128                        # context length of the LMs (training windows and scoring windows)
# batch (windows of BLOCK characters) and peak learning rate of each LM: the best of a small sweep at a 90 s budget on
# 2 cores (GPT: batches 4/8/16/32, lr 2e-3..6e-3; LSTM: 16/32, 3e-3/6e-3). Small batches win at a fixed time: more updates.
GPT_BATCH, GPT_LR = 8, 3e-3
LSTM_BATCH, LSTM_LR = 16, 6e-3
EVAL_CHARS = pick(60_000, 6_000)   # validation characters scored (the whole split in full mode)
BPE_BYTES, BPE_MERGES = pick(120_000, 20_000), pick(256, 40)
S2S_SECONDS, S2S_TRAIN = pick(60, 6), pick(20_000, 2_000)
FT_SECONDS, FT_BATCH = pick(20, 2), 8   # each of LoRA and full fine-tuning
DPO_STEPS, DPO_PAIRS = pick(60, 4), pick(256, 16)
LIB_STEPS = pick(100, 5)           # the library-path models
GEN_TOKENS = pick(256, 32)         # tokens generated in the KV-cache timing

# %% [markdown]
# ## 2. Data · 数据
#
# The corpus is a frozen snapshot of this course's own interview bank: every question and answer in Chinese and in English
# (`datasets/bank_text.txt`, datasheet and checksum in `datasets/bank_text.md`), split **by item** into training and validation text (about 90/10),
# so no answer is half in each split. It is small (about a megabyte) and mixed: Markdown, LaTeX, code, two scripts. A character-level model of it has a
# vocabulary of a few thousand symbols, most of them Chinese characters.

# %%
train_text, val_text = load_corpus("train"), load_corpus("val")
vocab = CharVocab.from_text(train_text)
train_ids, val_ids = vocab.encode(train_text), vocab.encode(val_text)[:EVAL_CHARS + 1]
cjk = sum("\u4e00" <= c <= "\u9fff" for c in train_text) / len(train_text)
print(f"train {len(train_text):,} chars ({len(train_text.encode()):,} UTF-8 bytes), val {len(val_text):,} chars; "
      f"vocabulary {len(vocab):,} characters; {cjk:.0%} of characters are CJK")
print(f"unknown characters in val: {np.mean(vocab.encode(val_text) == 0):.3%}")
print(train_text[:400])

# %% [markdown]
# ## 3. Tokenisation · 分词
#
# Three choices of symbols: **characters** (a vocabulary of a few thousand here, and unseen characters at test time), **bytes** (256 symbols, never unknown,
# but each Chinese character costs 3 UTF-8 bytes, so sequences are long), and **byte-pair encoding** (Sennrich et al., 2016; byte-level as in GPT-2):
# start from bytes and repeatedly merge the most frequent adjacent pair into a new token. The merges learnt on Chinese text turn frequent characters and
# words back into single tokens; a tokeniser trained mostly on English leaves Chinese at 2-3 tokens per character, which is why an English-centric model
# is slow and expensive (and weak) on Chinese, and why multilingual models need large vocabularies (100k-250k tokens).
#
# ### Exercise 1 · `bpe_merge` (2 points)
# Given a list of token ids, replace every occurrence of the adjacent `pair` `(a, b)` by `new_id`, scanning **left to right** without overlaps:
# `[a, a, a]` with the pair `(a, a)` becomes `[new, a]`. Return a new list. Plain Python is fine (and what the training loop below calls).

# %% solution id=text_bpe_merge
def bpe_merge(ids, pair, new_id):
    """Replace each non-overlapping occurrence of `pair` (scanned left to right) in the list `ids` by `new_id`."""
    ### BEGIN SOLUTION
    out, i, n = [], 0, len(ids)
    a, b = pair
    while i < n:
        if i + 1 < n and ids[i] == a and ids[i + 1] == b:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out
    ### END SOLUTION

# %% test id=text_bpe_merge_test points=2
"""bpe_merge: non-overlapping, left-to-right replacement of one adjacent pair, returning a new list.

Catches: overlapping occurrences merged twice ([a, a, a] -> [X, X]) or scanned from the right ([a, X]); only the first
occurrence merged; the last token dropped or a pair at the end missed; the pair matched in either order; the new id not
used.
"""
import numpy as np
from genlab.testing import assert_close


def _check_merge(ids, pair, new_id, want, what):
    got = np.asarray(bpe_merge(list(ids), pair, new_id))
    assert got.ndim == 1, f"{what}: expected a flat list of ids, got shape {got.shape}"
    assert_close(got, np.asarray(want, dtype=float), what)


_check_merge([1, 2, 3, 1, 2], (1, 2), 9, [9, 3, 9], "two occurrences of (1, 2)")
_check_merge([5, 5, 5], (5, 5), 7, [7, 5], "[5, 5, 5] with the pair (5, 5): left to right, no overlap")
_check_merge([5, 5, 5, 5], (5, 5), 7, [7, 7], "[5, 5, 5, 5] with the pair (5, 5)")
_check_merge([3, 4, 2, 1], (1, 2), 9, [3, 4, 2, 1], "a list with no occurrence (and the pair reversed)")
_check_merge([0, 1, 2], (1, 2), 9, [0, 9], "a pair at the very end")
### BEGIN HIDDEN TESTS


def _merge_oracle(ids, pair, new_id):
    """A second route: walk the list once, skipping the token after each merge."""
    out, skip = [], False
    for j, tok in enumerate(ids):
        if skip:
            skip = False
        elif ids[j:j + 2] == list(pair):
            out.append(new_id)
            skip = True
        else:
            out.append(tok)
    return out


def _check(ids, pair, new_id, what):
    _check_merge(ids, pair, new_id, _merge_oracle(list(ids), pair, new_id), what)


rng = np.random.default_rng(517)
for trial in range(12):
    n = int(rng.integers(0, 40))
    ids = [int(v) for v in rng.integers(0, 3, size=n)]
    pair = tuple(int(v) for v in rng.integers(0, 3, size=2))
    _check(ids, pair, 100 + trial, f"random list #{trial} (length {n}, pair {pair})")
_check([], (1, 2), 5, "an empty list")
_check([7], (7, 7), 5, "a single token")
_check([2, 2, 2, 2, 2], (2, 2), 8, "five equal tokens")
_check([1, 2, 2, 1, 2, 1, 2, 2], (2, 1), 9, "interleaved candidates")
# ids above 255 (every merged token is) and multi-digit ids whose digits contain the pair's
_check([300, 257, 300, 257, 12, 1, 2], (300, 257), 1000, "ids above 255")
_check([11, 2, 1, 21, 1, 2, 12], (1, 2), 500, "multi-digit ids containing the pair's digits")
big = [int(v) for v in rng.integers(0, 4, size=5000)]
_check(big, (1, 3), 11, "a list of 5,000 ids")
### END HIDDEN TESTS

# %% [markdown]
# **Training BPE with your merge.** Count adjacent pairs, merge the most frequent one into a new id, repeat (ties broken by the smaller pair, so the result is
# deterministic). This is the byte-level BPE of GPT-2 without its pre-tokenisation: GPT-2 first splits text into words and punctuation with a regular
# expression so that no merge crosses a word boundary; we let merges cross anything, which Chinese (no spaces) makes natural.

# %%
def train_bpe(data: bytes, n_merges: int):
    """Byte-level BPE: returns the merges [((a, b), new_id), ...] and the token list of `data`."""
    ids = list(data)
    merges = []
    for k in range(n_merges):
        counts = Counter(zip(ids, ids[1:]))
        if not counts:
            break
        pair = min(counts, key=lambda p: (-counts[p], p))
        ids = bpe_merge(ids, pair, 256 + k)
        merges.append((pair, 256 + k))
    return merges, ids


def bpe_encode(data: bytes, merges):
    ids = list(data)
    for pair, new_id in merges:
        ids = bpe_merge(ids, pair, new_id)
    return ids


def token_bytes(merges):
    vocab_b = {i: bytes([i]) for i in range(256)}
    for (a, b), new_id in merges:
        vocab_b[new_id] = vocab_b[a] + vocab_b[b]
    return vocab_b


t0 = time.perf_counter()
bpe_sample = train_text.encode()[:BPE_BYTES]
merges, _ = train_bpe(bpe_sample, BPE_MERGES)
our_bytes = token_bytes(merges)


def show(token: bytes) -> str:
    """A token as text when it is whole UTF-8, else its bytes (a piece of a multi-byte character)."""
    try:
        return token.decode("utf-8")
    except UnicodeDecodeError:
        return str(token)[2:-1]


print(f"{len(merges)} merges learnt on {len(bpe_sample):,} bytes in {time.perf_counter() - t0:.1f} s")
print("first merges:", [show(our_bytes[m]) for _, m in merges[:12]])
print("last merges: ", [show(our_bytes[m]) for _, m in merges[-12:]])
n_cjk = sum(1 for _, m in merges if len(our_bytes[m]) == 3 and show(our_bytes[m]) >= "\u4e00")
print(f"{n_cjk} of the merges are whole Chinese characters (3 bytes each in UTF-8)")

# %% [markdown]
# **The library's trainer on the same text.** Hugging Face `tokenizers` (Rust) trains a byte-level BPE with GPT-2's pre-tokeniser and the same vocabulary size.
# We compare the compression on the validation text (UTF-8 bytes per token: higher is better) and how many of the learnt tokens the two share.

# %%
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers


def gpt2_byte_decoder():
    """GPT-2 writes each byte as a printable character (bytes_to_unicode); this inverts that mapping."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


hf = Tokenizer(models.BPE())
hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
hf.decoder = decoders.ByteLevel()
hf.train_from_iterator([bpe_sample.decode("utf-8", "ignore")],
                       trainers.BpeTrainer(vocab_size=256 + BPE_MERGES, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                           show_progress=False, special_tokens=[]))
dec = gpt2_byte_decoder()
hf_tokens = {bytes(dec[c] for c in tok) for tok in hf.get_vocab()}
ours = set(our_bytes.values())
val_bytes = val_text.encode()[:pick(60_000, 8_000)]
rows = []
for name, n_tokens in [("bytes", len(val_bytes)), ("characters", len(val_bytes.decode("utf-8", "ignore"))),
                       ("our BPE", len(bpe_encode(val_bytes, merges))),
                       ("tokenizers BPE", len(hf.encode(val_bytes.decode("utf-8", "ignore")).ids))]:
    rows.append(f"| {name} | {n_tokens:,} | {len(val_bytes) / n_tokens:.2f} |")
display(Markdown("| symbols | tokens in the val sample | bytes per token |\n|---|---|---|\n" + "\n".join(rows)))
shared = (ours & hf_tokens) - {bytes([i]) for i in range(256)}
print(f"learnt tokens shared by the two vocabularies: {len(shared)} of {len(merges)} "
      f"({len(shared) / max(len(merges), 1):.0%}); e.g. {[show(t) for t in sorted(shared, key=len)[-8:]]}")
zh = "语言模型的困惑度"
print(f"'{zh}': {len(zh)} characters, {len(zh.encode())} UTF-8 bytes, {len(bpe_encode(zh.encode(), merges))} tokens with our BPE")

# %% [markdown]
# Two things to notice. Our merges, free to cross word boundaries, learn whole Chinese characters (3 bytes) and frequent English fragments with their
# spaces; the library's GPT-2-style pre-tokeniser splits at spaces and punctuation first, so its tokens never span words. Both compress the text to a
# fraction of its bytes, and the characters are the best "tokeniser" of all here only because they have a vocabulary of thousands: BPE with a vocabulary of
# that size would beat them. The rest of the chapter models **characters** (simple, and bits per character need no conversion).
#
# ## 4. Causal self-attention · 因果自注意力
#
# ### Exercise 2 · `causal_mask` and `causal_attention` (3 points)
# * `causal_mask(t_q, t_k)`: a boolean tensor of shape `(t_q, t_k)`, `True` where query `i` may attend to key `j`. The queries are the **last** `t_q` of the
#   `t_k` positions, so query `i` sits at position `t_k - t_q + i` and sees keys `j <= t_k - t_q + i` (itself and everything before it).
# * `causal_attention(q, k, v)`: `q` of shape `(B, H, t_q, d)`, `k` and `v` of shape `(B, H, t_k, d)` with `t_q <= t_k`; return
#   $\operatorname{softmax}\big(qk^\top/\sqrt d\ \text{masked}\big)v$ of shape `(B, H, t_q, d)`. Masked scores must get exactly zero weight, and the result must stay finite when scores are in the hundreds.
#
# **What you may use:** {{framework}} tensor operations (`matmul`, `softmax`, `where`, ...). Writing the scores, the mask and the softmax out is the
# lesson; a fused attention function given *your* mask computes the same thing and is graded by what it computes, but beware:
# PyTorch's `scaled_dot_product_attention(..., is_causal=True)` aligns its mask to the *start* of the keys, which is wrong as soon as `t_q < t_k`.
# Return tensors of your framework (the GPT below runs on your functions).

# %% [markdown] only=tf
# In TensorFlow the generation cells below run the model inside a `tf.function` traced for any sequence length, where the time dimensions
# of `q` and `k` are unknown (`None`) while tracing: take `t_q` and `t_k` from `tf.shape(q)[-2]`, `tf.shape(k)[-2]`, not from `q.shape`.

# %% solution id=text_causal_mask only=torch
def causal_mask(t_q, t_k):
    """Boolean (t_q, t_k): True where query i (at position t_k - t_q + i) may attend to key j."""
    ### BEGIN SOLUTION
    offset = t_k - t_q
    return torch.arange(t_k)[None, :] <= (torch.arange(t_q)[:, None] + offset)
    ### END SOLUTION


def causal_attention(q, k, v):
    """Causal scaled dot-product attention: q (B, H, Tq, d), k and v (B, H, Tk, d) -> (B, H, Tq, d)."""
    ### BEGIN SOLUTION
    d = q.shape[-1]
    scores = q @ k.transpose(-2, -1) / math.sqrt(d)  # (B, H, Tq, Tk)
    allowed = causal_mask(q.shape[-2], k.shape[-2]).to(q.device)
    scores = scores.masked_fill(~allowed, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v
    ### END SOLUTION

# %% solution id=text_causal_mask only=tf
def causal_mask(t_q, t_k):
    """Boolean (t_q, t_k): True where query i (at position t_k - t_q + i) may attend to key j."""
    ### BEGIN SOLUTION
    offset = t_k - t_q
    return tf.range(t_k)[None, :] <= (tf.range(t_q)[:, None] + offset)
    ### END SOLUTION


def causal_attention(q, k, v):
    """Causal scaled dot-product attention: q (B, H, Tq, d), k and v (B, H, Tk, d) -> (B, H, Tq, d)."""
    ### BEGIN SOLUTION
    d = q.shape[-1]
    scores = tf.matmul(q, k, transpose_b=True) / math.sqrt(d)  # (B, H, Tq, Tk)
    allowed = causal_mask(tf.shape(q)[-2], tf.shape(k)[-2])
    scores = tf.where(allowed, scores, tf.constant(float("-inf"), dtype=scores.dtype))
    return tf.matmul(tf.nn.softmax(scores, axis=-1), v)
    ### END SOLUTION

# %% test id=text_causal_mask_test points=3
"""causal_mask and causal_attention: who sees whom, and the scaled, masked softmax over the keys.

Catches: a mask that lets a position see the next token, or hides a position from itself; a mask aligned to the start
instead of the end of the keys when t_q < t_k (the cached-generation case: torch.tril of a non-square matrix); the
softmax over the queries instead of the keys; scores scaled by d or not at all instead of sqrt(d); a mask applied after
the softmax (weights that no longer sum to 1); future keys or values that change the output; the wrong output shape.
"""
import numpy as np
from genlab.testing import assert_close, assert_tensor
from genlab.fw import grad_of, to_tensor as T


def _check_mask(t_q, t_k, want):
    got = np.asarray(causal_mask(t_q, t_k))
    assert got.shape == (t_q, t_k), f"causal_mask({t_q}, {t_k}) has shape {got.shape}, expected {(t_q, t_k)}"
    assert got.dtype == bool, f"causal_mask must be boolean, got dtype {got.dtype}"
    want = np.asarray(want, dtype=bool)
    if not np.array_equal(got, want):
        i, j = map(int, np.argwhere(got != want)[0])
        raise AssertionError(f"causal_mask({t_q}, {t_k})[{i}, {j}] is {bool(got[i, j])}: query {i} sits at position "
                             f"{t_k - t_q + i} and key {j} is {'visible' if want[i, j] else 'in its future'}")


_check_mask(3, 3, [[1, 0, 0], [1, 1, 0], [1, 1, 1]])
_check_mask(1, 4, [[1, 1, 1, 1]])
_check_mask(2, 5, [[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]])
# one head, three positions, d = 2: the weights of query 1 over keys 0 and 1 are softmax([0.5, 1.2] / sqrt(2)), and so on
q = np.array([[[[0.5, -1.0], [1.5, 0.2], [-0.3, 0.8]]]])
k = np.array([[[[1.0, 0.0], [0.2, -0.7], [-1.1, 0.4]]]])
v = np.array([[[[1.0, 2.0], [-1.0, 0.5], [0.3, -2.0]]]])
assert_close(causal_attention(T(q), T(k), T(v)), [[[[1.0, 2.0], [0.44123356, 1.58092517], [0.21032365, -0.40386439]]]],
             "causal_attention with t_q = t_k = 3")
assert_close(causal_attention(T(q[:, :, -1:]), T(k), T(v)), [[[[0.21032365, -0.40386439]]]],
             "causal_attention of the last query only (t_q = 1, t_k = 3)")
### BEGIN HIDDEN TESTS


def _mask_oracle(t_q, t_k):
    return np.arange(t_k)[None, :] <= np.arange(t_q)[:, None] + (t_k - t_q)


def _attn_oracle(q, k, v):
    s = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    s = np.where(_mask_oracle(q.shape[-2], k.shape[-2]), s, -np.inf)
    w = np.exp(s - s.max(-1, keepdims=True))
    return (w / w.sum(-1, keepdims=True)) @ v


rng = np.random.default_rng(4242)
for t_q, t_k in [(7, 7), (3, 9), (1, 1), (5, 12)]:
    _check_mask(t_q, t_k, _mask_oracle(t_q, t_k))
for shape_q, shape_k in [((2, 3, 6, 16), (2, 3, 6, 16)), ((1, 4, 3, 32), (1, 4, 10, 32)), ((3, 1, 1, 5), (3, 1, 7, 5))]:
    q, k, v = rng.normal(size=shape_q) * 2.0, rng.normal(size=shape_k) * 2.0, rng.normal(size=shape_k)
    assert_close(causal_attention(T(q), T(k), T(v)), _attn_oracle(q, k, v), f"causal_attention for q {shape_q}, k {shape_k}",
                 atol=1e-4, rtol=1e-4)
# the future does not matter: changing keys and values after the last query's position leaves the output unchanged
q, k, v = rng.normal(size=(1, 2, 5, 8)), rng.normal(size=(1, 2, 5, 8)), rng.normal(size=(1, 2, 5, 8))
k2, v2 = k.copy(), v.copy()
k2[:, :, 3:], v2[:, :, 3:] = rng.normal(size=(1, 2, 2, 8)) * 5, rng.normal(size=(1, 2, 2, 8)) * 5
assert_close(np.asarray(causal_attention(T(q), T(k2), T(v2)))[:, :, :3], _attn_oracle(q, k, v)[:, :, :3],
             "outputs of positions 0-2 after changing the keys and values of positions 3-4")
# the first position attends only to itself: its output is its own value
assert_close(np.asarray(causal_attention(T(q), T(k), T(v)))[:, :, 0], v[:, :, 0], "output of position 0 (it sees only itself)")
# scores in the hundreds: the softmax must be shifted by its maximum
q, k, v = rng.normal(size=(2, 2, 3, 16)) * 10, rng.normal(size=(2, 2, 7, 16)) * 10, rng.normal(size=(2, 2, 7, 16))
assert_close(causal_attention(T(q), T(k), T(v)), _attn_oracle(q, k, v), "causal_attention with scores in the hundreds", atol=1e-3, rtol=1e-3)
assert_tensor(causal_mask(3, 5), "causal_mask(3, 5)")
# gradients reach q, k and v
q, k, v = rng.normal(size=(1, 1, 3, 4)), rng.normal(size=(1, 1, 3, 4)), rng.normal(size=(1, 1, 3, 4))
_, grads = grad_of(causal_attention, q, k, v)
for g, name in zip(grads, "qkv"):
    assert g is not None and np.all(np.isfinite(np.asarray(g))), f"no finite gradient reaches {name}"
### END HIDDEN TESTS

# %% [markdown]
# What the mask looks like, and what a head does with it: the weights of each query over the keys (rows sum to 1, the upper triangle is zero),
# for the "prefill" case (all positions at once) and for a single new query at the end of a cache.

# %%
fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))
axes[0].imshow(np.asarray(causal_mask(8, 8)), cmap="Greys")
axes[0].set_title("causal_mask(8, 8)")
axes[1].imshow(np.asarray(causal_mask(3, 8)), cmap="Greys")
axes[1].set_title("causal_mask(3, 8): last 3 queries")
rng_demo = np.random.default_rng(0)
qd, kd = rng_demo.normal(size=(1, 1, 8, 16)), rng_demo.normal(size=(1, 1, 8, 16))
w = to_numpy(causal_attention(to_tensor(qd), to_tensor(kd), to_tensor(np.eye(8)[None, None])))[0, 0]
axes[2].imshow(w, cmap="viridis")
axes[2].set_title("attention weights (rows: queries)")
for a in axes:
    a.set_xlabel("key position")
    a.set_ylabel("query position")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 5. Rotary position embeddings · 旋转位置编码
#
# ### Exercise 3 · `apply_rope` (2 points)
# `x` has shape `(..., T, d)` with `d` even, `positions` is an integer tensor of shape `(T,)` (absolute positions: they need not start at 0). Rotate each
# pair $(x_{2i}, x_{2i+1})$ at position $m$ by the angle $m\theta_i$, $\theta_i = \text{base}^{-2i/d}$:
# $x'_{2i} = x_{2i}\cos m\theta_i - x_{2i+1}\sin m\theta_i$, $x'_{2i+1} = x_{2i}\sin m\theta_i + x_{2i+1}\cos m\theta_i$.
# (This is the paper's interleaved layout; LLaMA's code rotates the first half against the second half instead, the same idea with the coordinates permuted.
# They are not interchangeable on trained weights.)

# %% solution id=text_rope only=torch
def apply_rope(x, positions, base=10000.0):
    """Rotate interleaved pairs (x[2i], x[2i+1]) of x (..., T, d) by positions[t] * base**(-2i/d)."""
    ### BEGIN SOLUTION
    d = x.shape[-1]
    theta = base ** (-torch.arange(0, d, 2, dtype=torch.float32, device=x.device) / d)  # (d/2,)
    angle = positions.to(torch.float32)[:, None] * theta[None, :]                          # (T, d/2)
    cos, sin = torch.cos(angle).to(x.dtype), torch.sin(angle).to(x.dtype)
    x1, x2 = x[..., 0::2], x[..., 1::2]
    out = torch.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)  # (..., T, d/2, 2)
    return out.flatten(-2)
    ### END SOLUTION

# %% solution id=text_rope only=tf
def apply_rope(x, positions, base=10000.0):
    """Rotate interleaved pairs (x[2i], x[2i+1]) of x (..., T, d) by positions[t] * base**(-2i/d)."""
    ### BEGIN SOLUTION
    d = x.shape[-1]
    theta = base ** (-tf.range(0, d, 2, dtype=tf.float32) / d)                 # (d/2,)
    angle = tf.cast(positions, tf.float32)[:, None] * theta[None, :]           # (T, d/2)
    cos, sin = tf.cast(tf.cos(angle), x.dtype), tf.cast(tf.sin(angle), x.dtype)
    x1, x2 = x[..., 0::2], x[..., 1::2]
    out = tf.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], axis=-1)     # (..., T, d/2, 2)
    return tf.reshape(out, tf.shape(x))
    ### END SOLUTION

# %% test id=text_rope_test points=2
"""apply_rope: interleaved pairs rotated by position * base^(-2i/d), at the given absolute positions.

Catches: the halves rotated against each other instead of interleaved pairs; frequencies base^(-i/d) or base^(-2i/d)
with i counting coordinates; sin and cos swapped or the rotation's sign flipped; positions ignored (0..T-1 used);
the base ignored; norms not preserved; the score of a rotated query and key not a function of their offset alone.
"""
import numpy as np
from genlab.testing import assert_close
from genlab.fw import grad_of, to_labels, to_tensor as T


# d = 4: pair 0 turns by the position (theta_0 = 1), pair 1 by position / 100 (theta_1 = 10000^(-1/2)); position 0 is not rotated
x = np.array([[1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 1.0]])  # (T=2, d=4)
assert_close(apply_rope(T(x), to_labels(np.array([0, 1]))),
             [[1.0, 0.0, 1.0, 0.0], [-np.sin(1.0), np.cos(1.0), -np.sin(0.01), np.cos(0.01)]], "RoPE of two positions (d = 4)")
x = np.array([[[[0.5, -1.0, 2.0, 0.3], [1.0, 1.0, -0.5, 0.25]]]])  # (1, 1, 2, 4) at positions 3 and 7
assert_close(apply_rope(T(x), to_labels(np.array([3, 7]))),
             [[[[-0.35387624, 1.0605525, 1.99010142, 0.35985601], [0.09691566, 1.41088885, -0.51626121, 0.21441633]]]],
             "RoPE of a (1, 1, 2, 4) batch at positions 3 and 7")
### BEGIN HIDDEN TESTS


def _rope_oracle(x, pos, base=10000.0):
    d = x.shape[-1]
    ang = np.asarray(pos, dtype=float)[:, None] * base ** (-np.arange(0, d, 2) / d)
    out = np.empty_like(x)
    out[..., 0::2] = x[..., 0::2] * np.cos(ang) - x[..., 1::2] * np.sin(ang)
    out[..., 1::2] = x[..., 0::2] * np.sin(ang) + x[..., 1::2] * np.cos(ang)
    return out


rng = np.random.default_rng(777)
for shape, pos in [((4, 16), [0, 5, 9, 100]), ((1, 2, 3, 32), [40, 41, 42]), ((6, 2), [0, 1, 2, 3, 4, 1000])]:
    x = rng.normal(size=shape)
    assert_close(apply_rope(T(x), to_labels(np.array(pos))), _rope_oracle(x, pos), f"RoPE for shape {shape}, positions {pos}",
                 atol=1e-4, rtol=1e-4)
x = rng.normal(size=(3, 8))
assert_close(apply_rope(T(x), to_labels(np.array([1, 2, 3])), base=100.0), _rope_oracle(x, [1, 2, 3], base=100.0), "RoPE with base=100",
             atol=1e-5)
# rotations keep norms, and the score <R_m q, R_n k> depends on n - m only
q, k = rng.normal(size=(1, 16)), rng.normal(size=(1, 16))
scores = []
for m in (0, 7, 30):
    rq = np.asarray(apply_rope(T(q), to_labels(np.array([m]))))
    rk = np.asarray(apply_rope(T(k), to_labels(np.array([m + 5]))))
    assert_close(np.linalg.norm(rq), np.linalg.norm(q), f"norm of a rotated query at position {m}")
    scores.append(float(np.sum(rq * rk)))
assert_close(np.array(scores), np.full(3, scores[0]), "scores of (q at m, k at m + 5) for m = 0, 7, 30", atol=1e-4)
# differentiable: the gradient of sum(R x) wrt x is R^T 1, the rotation of ones by the negated angles
x = rng.normal(size=(2, 3, 8))
_, (g,) = grad_of(lambda t: apply_rope(t, to_labels(np.array([2, 7, 11]))), x)
assert g is not None, "no gradient flows through apply_rope (a detach, a NumPy round trip or stop_gradient?)"
assert_close(g, _rope_oracle(np.ones_like(x), [-2, -7, -11]), "gradient of sum(apply_rope(x)) wrt x", atol=1e-5)
### END HIDDEN TESTS

# %% [markdown]
# ## 6. The KV cache · KV 缓存
#
# Generating token $t+1$ needs the keys and values of **all** previous tokens at every layer, but those do not change once computed (causal attention: a
# token's representation never depends on later tokens). A KV cache keeps them; each step then computes $q, k, v$ for the one new token, appends $k, v$,
# and attends. The cost of a step drops from a full forward pass over $t$ tokens to one token's worth (plus reading the cache), at a memory cost of
# $2 \times \text{layers} \times \text{heads} \times d_{\text{head}} \times \text{bytes}$ per token (for a 7B model in fp16: about 0.5 MB per token).
#
# ### Exercise 4 · `kv_cache_update` (2 points)
# `cache` is `None` (nothing cached yet) or a tuple `(k, v)` of tensors of shape `(B, H, T_cached, d)`; `k_new`, `v_new` have shape `(B, H, T_new, d)`.
# Return the tuple `(k_all, v_all)`: the new steps appended **after** the cached ones on the time axis.

# %% solution id=text_kv_cache only=torch
def kv_cache_update(cache, k_new, v_new):
    """Append (B, H, T_new, d) keys and values to a cache (None or a (k, v) tuple of (B, H, T_cached, d))."""
    ### BEGIN SOLUTION
    if cache is None:
        return k_new, v_new
    k, v = cache
    return torch.cat([k, k_new], dim=-2), torch.cat([v, v_new], dim=-2)
    ### END SOLUTION

# %% solution id=text_kv_cache only=tf
def kv_cache_update(cache, k_new, v_new):
    """Append (B, H, T_new, d) keys and values to a cache (None or a (k, v) tuple of (B, H, T_cached, d))."""
    ### BEGIN SOLUTION
    if cache is None:
        return k_new, v_new
    k, v = cache
    return tf.concat([k, k_new], axis=-2), tf.concat([v, v_new], axis=-2)
    ### END SOLUTION

# %% test id=text_kv_cache_test points=2
"""kv_cache_update: appends on the time axis (-2), new after old, keys with keys and values with values.

Catches: concatenation on the head, feature or batch axis; the new step put before the cache; the cache dropped (only the
new step returned) or kept without the new step; keys and values swapped; an empty cache (None) not handled; attention
over the cache that differs from attention over the whole sequence.
"""
import numpy as np
from genlab.testing import assert_close, assert_tensor
from genlab.fw import to_tensor as T

rng_v = np.random.default_rng(8)
k0, v0 = rng_v.normal(size=(1, 2, 3, 4)), rng_v.normal(size=(1, 2, 3, 4))
k1, v1 = rng_v.normal(size=(1, 2, 1, 4)), rng_v.normal(size=(1, 2, 1, 4))
cache = kv_cache_update(None, T(k0), T(v0))
assert_close(cache[0], k0, "keys after the first update (empty cache)")
cache = kv_cache_update(cache, T(k1), T(v1))
assert_close(cache[0], np.concatenate([k0, k1], axis=-2), "keys after appending one step")
assert_close(cache[1], np.concatenate([v0, v1], axis=-2), "values after appending one step")
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(99)
B, H, d = 2, 3, 5
ks, vs = [], []
cache = None
for t_new in (4, 1, 1, 2, 1):
    k_new, v_new = rng.normal(size=(B, H, t_new, d)), rng.normal(size=(B, H, t_new, d))
    ks.append(k_new)
    vs.append(v_new)
    cache = kv_cache_update(cache, T(k_new), T(v_new))
    assert_close(cache[0], np.concatenate(ks, axis=-2), f"keys after {sum(x.shape[-2] for x in ks)} steps")
    assert_close(cache[1], np.concatenate(vs, axis=-2), f"values after {sum(x.shape[-2] for x in vs)} steps")
assert len(cache) == 2, "kv_cache_update must return a (k, v) pair"
# square heads and times (B = H = T = d): only the right axis gives the right values
k0, v0, k1, v1 = (rng.normal(size=(3, 3, 3, 3)) for _ in range(4))
cache = kv_cache_update(kv_cache_update(None, T(k0), T(v0)), T(k1), T(v1))
assert_close(cache[0], np.concatenate([k0, k1], axis=-2), "keys for (3, 3, 3, 3) blocks")
assert_close(cache[1], np.concatenate([v0, v1], axis=-2), "values for (3, 3, 3, 3) blocks")
# incremental attention over the cache equals full causal attention (computed here from the cache's contents)
q = rng.normal(size=(1, 1, 6, 4))
k, v = rng.normal(size=(1, 1, 6, 4)), rng.normal(size=(1, 1, 6, 4))
cache = None
for t in range(6):
    cache = kv_cache_update(cache, T(k[:, :, t:t + 1]), T(v[:, :, t:t + 1]))
kc, vc = np.asarray(cache[0]), np.asarray(cache[1])
s = q[:, :, -1:] @ np.swapaxes(kc, -1, -2) / 2.0
w = np.exp(s - s.max(-1, keepdims=True))
full = (w / w.sum(-1, keepdims=True)) @ vc
s = q[:, :, -1:] @ np.swapaxes(k, -1, -2) / 2.0
w = np.exp(s - s.max(-1, keepdims=True))
assert_close(full, (w / w.sum(-1, keepdims=True)) @ v, "attention of the last query over the cache")
# the cache passed in is the one extended (no state kept elsewhere): two updates of the same cache, and a cache made by hand
k0, v0, k1, v1, k2, v2 = (rng.normal(size=(1, 2, 2, 3)) for _ in range(6))
base = kv_cache_update(None, T(k0), T(v0))
kv_cache_update(base, T(k1), T(v1))
again = kv_cache_update(base, T(k2), T(v2))
assert_close(again[0], np.concatenate([k0, k2], -2), "keys after a second, different update of the same cache")
by_hand = kv_cache_update((T(k1), T(v1)), T(k2), T(v2))
assert_close(by_hand[1], np.concatenate([v1, v2], -2), "values after updating a cache made by hand")
assert_tensor(by_hand[0], "the updated keys")
assert_tensor(by_hand[1], "the updated values")
### END HIDDEN TESTS

# %% [markdown]
# ## 7. Perplexity and bits per character · 困惑度与每字符比特数
#
# ### Exercise 5 · `perplexity` (2 points)
# `logits` of shape `(B, T, V)`, integer `targets` of shape `(B, T)` (the token that follows each position), and an optional `mask` of shape `(B, T)`
# (1 where a position counts, 0 for padding). Return $\exp\big(\frac{\sum_{b,t} m_{bt}\,\text{NLL}_{bt}}{\sum_{b,t} m_{bt}}\big)$ with
# $\text{NLL}_{bt} = -\log\operatorname{softmax}(\ell_{bt})_{y_{bt}}$ in nats: one average **over all counted tokens** (not per sequence). It must stay finite for
# logits in the thousands. A scalar tensor.

# %% solution id=text_perplexity only=torch
def perplexity(logits, targets, mask=None):
    """exp(mean per-token negative log-likelihood in nats) over the positions where mask == 1 (all if mask is None)."""
    ### BEGIN SOLUTION
    logp = torch.log_softmax(logits, dim=-1)
    nll = -torch.gather(logp, -1, targets.long()[..., None])[..., 0]  # (B, T)
    if mask is None:
        mask = torch.ones_like(nll)
    mask = mask.to(nll.dtype)
    return torch.exp(torch.sum(nll * mask) / torch.sum(mask))
    ### END SOLUTION

# %% solution id=text_perplexity only=tf
def perplexity(logits, targets, mask=None):
    """exp(mean per-token negative log-likelihood in nats) over the positions where mask == 1 (all if mask is None)."""
    ### BEGIN SOLUTION
    logp = tf.nn.log_softmax(logits, axis=-1)
    nll = -tf.gather(logp, tf.cast(targets, tf.int32), batch_dims=2)  # (B, T)
    if mask is None:
        mask = tf.ones_like(nll)
    mask = tf.cast(mask, nll.dtype)
    return tf.exp(tf.reduce_sum(nll * mask) / tf.reduce_sum(mask))
    ### END SOLUTION

# %% test id=text_perplexity_test points=2
"""perplexity: exp of the mean per-token NLL in nats, masked positions excluded, stable for large logits.

Catches: log base 2 (2**H) or 10; a mean per sequence then over sequences (wrong when masks differ); masked positions
counted; probabilities instead of log-probabilities; the NLL returned without exp; log(softmax) that overflows for
logits in the thousands; the target's logit taken from the wrong axis.
"""
import numpy as np
from genlab.testing import assert_close, assert_tensor
from genlab.fw import to_labels, to_tensor as T


assert_close(perplexity(T(np.zeros((1, 3, 5))), to_labels(np.array([[0, 1, 2]]))), 5.0, "uniform logits over 5 tokens")
logits = np.array([[[2.0, 0.5, -1.0, 0.0], [0.1, 0.2, 0.3, -0.4], [1.5, -2.0, 0.0, 0.5]],
                   [[0.0, 3.0, -1.0, 1.0], [-0.5, 0.5, 1.5, 2.5], [1.0, 1.0, -3.0, 0.0]]])
targets = np.array([[0, 3, 1], [1, 2, 2]])
assert_close(perplexity(T(logits), to_labels(targets)), 8.289615829402349, "perplexity of a (2, 3, 4) batch")
mask = np.array([[1, 1, 1], [1, 0, 0]], dtype=float)  # the second sequence has one real token
assert_close(perplexity(T(logits), to_labels(targets), T(mask)), 4.928491685720369, "perplexity with a mask")
### BEGIN HIDDEN TESTS


def _ppl_oracle(logits, targets, mask=None):
    m = logits.max(-1, keepdims=True)
    logp = logits - m - np.log(np.exp(logits - m).sum(-1, keepdims=True))
    nll = -np.take_along_axis(logp, targets[..., None], -1)[..., 0]
    mask = np.ones_like(nll) if mask is None else mask
    return np.exp((nll * mask).sum() / mask.sum())


rng = np.random.default_rng(123)
for shape in [(3, 7, 11), (1, 20, 50), (4, 1, 3)]:
    logits, targets = rng.normal(size=shape) * 3, rng.integers(0, shape[-1], size=shape[:2])
    assert_close(perplexity(T(logits), to_labels(targets)), _ppl_oracle(logits, targets), f"perplexity for logits {shape}", rtol=1e-4)
    mask = (rng.random(shape[:2]) < 0.6).astype(float)
    mask[0, 0] = 1.0
    assert_close(perplexity(T(logits), to_labels(targets), T(mask)), _ppl_oracle(logits, targets, mask),
                 f"masked perplexity for logits {shape}", rtol=1e-4)
# sequences with very different lengths: one token average, not a mean of per-sequence perplexities
logits, targets = rng.normal(size=(2, 10, 4)) * 2, rng.integers(0, 4, size=(2, 10))
mask = np.zeros((2, 10))
mask[0, :10], mask[1, :1] = 1.0, 1.0
assert_close(perplexity(T(logits), to_labels(targets), T(mask)), _ppl_oracle(logits, targets, mask), "10 tokens and 1 token", rtol=1e-4)
# large logits: a token with probability e^-200 (0 in float32) costs 200 nats, not infinity
logits = np.zeros((1, 10, 3))
logits[0, 0] = [0.0, 200.0, 0.0]
logits[0, 1] = [3000.0, 0.0, -3000.0]
targets = np.zeros((1, 10), dtype=np.int64)
assert_close(perplexity(T(logits), to_labels(targets)), _ppl_oracle(logits, targets), "perplexity with a target of probability e^-200",
             rtol=1e-4)
assert_tensor(perplexity(T(logits), to_labels(targets)), "perplexity")
### END HIDDEN TESTS

# %% [markdown]
# ## 8. Three language models at equal budgets · 三种语言模型
#
# Every model below is scored the same way: the validation text cut into windows of 128 characters, each character predicted from the ones before it
# in its window, the negative log-likelihood summed through **your** `perplexity` and turned into bits per character.
#
# * **Bigram** (counts): $p(x_{t+1} \mid x_t) = \frac{c(x_t, x_{t+1}) + \alpha}{c(x_t) + \alpha V}$ with add-$\alpha$ smoothing. One pass over the data, no training loop.
# * **LSTM** (Hochreiter and Schmidhuber, 1997): an embedding, one LSTM layer of 512 units, a linear read-out; a fixed-size state carries the past.
# * **Tiny GPT**: token embeddings, 4 pre-LayerNorm transformer blocks (`x + attn(ln(x))`, `x + mlp(ln(x))`) of width 128 with 4 heads, RoPE on queries and
#   keys (no position embedding table), a final LayerNorm and an output layer that **shares** the embedding matrix (weight tying: fewer parameters and
#   a better model at this size). Its attention is your `causal_attention`, its positions your `apply_rope`, its cache your `kv_cache_update`.
#
# The two neural models get the same wall-clock budget, AdamW with a warm-up and a cosine decay of the learning rate, and random
# windows of 128 characters; each uses the batch size and peak learning rate that worked best for it in a small sweep (the knobs cell).

# %%
def bits_per_char(logits_fn, ids=val_ids, block=BLOCK, batch=16):
    """Bits per character of a model on `ids` through your `perplexity`: total NLL / (ln 2 * number of predictions)."""
    n_win = (len(ids) - 1) // block
    x = ids[: n_win * block].reshape(n_win, block)
    y = ids[1: n_win * block + 1].reshape(n_win, block)
    total_nats = 0.0
    for i in range(0, n_win, batch):
        ppl = float(perplexity(logits_fn(x[i:i + batch]), to_labels(y[i:i + batch])))
        total_nats += math.log(ppl) * y[i:i + batch].size
    return total_nats / (math.log(2) * y.size)


ALPHA = 0.1
counts = np.zeros((len(vocab), len(vocab)))
np.add.at(counts, (train_ids[:-1], train_ids[1:]), 1.0)
bigram_logp = np.log((counts + ALPHA) / (counts.sum(1, keepdims=True) + ALPHA * len(vocab))).astype(np.float32)
bpc = {"bigram": bits_per_char(lambda xb: to_tensor(bigram_logp[xb]))}
print(f"bigram: {bpc['bigram']:.3f} bits per character on validation (uniform would be {math.log2(len(vocab)):.2f})")
report("text/bigram_val_bpc", bpc["bigram"])

# %%
def train_lm(model, seconds, desc, lr, batch, warmup=30):
    """Train a language model on random windows of the training text for `seconds` of wall-clock time.

    The learning rate warms up linearly over `warmup` steps, then follows a cosine from `lr` down to lr / 10 over the
    time budget (the schedule is driven by the clock, since the number of steps is not known in advance)."""
    step = make_lm_step(model, lr=lr)
    rng = np.random.default_rng(SEED)
    losses = []
    budget = time_budget(seconds, desc=desc)
    for s in budget:
        progress = min(budget.elapsed / seconds, 1.0)
        step.set_lr(lr * min(1.0, (s + 1) / warmup) * (0.1 + 0.45 * (1 + math.cos(math.pi * progress))))
        x, y = random_windows(train_ids, BLOCK, batch, rng)
        losses.append(step(x, y))
    return np.array(losses) / math.log(2), budget.elapsed  # training loss in bits per character


genlab.seed_everything(SEED)
lstm = CharLSTM(len(vocab), n_embd=128, hidden=512)
lstm_curve, lstm_seconds = train_lm(lstm, LM_SECONDS, "LSTM", lr=LSTM_LR, batch=LSTM_BATCH)
bpc["LSTM"] = bits_per_char(lambda xb: lm_logits(lstm, xb))
print(f"LSTM: {len(lstm_curve)} steps in {lstm_seconds:.0f} s, {count_params(lstm):,} parameters, val {bpc['LSTM']:.3f} bpc")
report("text/lstm_val_bpc", bpc["LSTM"])
report("text/lstm_train_seconds", lstm_seconds)

# %%
genlab.seed_everything(SEED)
cfg = GPTConfig(vocab_size=len(vocab), block_size=BLOCK, n_layer=4, n_head=4, n_embd=128)
gpt = TinyGPT(cfg, attention=causal_attention, rope=apply_rope, cache_update=kv_cache_update)
gpt_curve, gpt_seconds = train_lm(gpt, LM_SECONDS, "tiny GPT", lr=GPT_LR, batch=GPT_BATCH)
bpc["tiny GPT"] = bits_per_char(lambda xb: lm_logits(gpt, xb))
print(f"tiny GPT: {len(gpt_curve)} steps in {gpt_seconds:.0f} s, {count_params(gpt):,} parameters, val {bpc['tiny GPT']:.3f} bpc")
report("text/gpt_val_bpc", bpc["tiny GPT"])
report("text/gpt_train_seconds", gpt_seconds)

# %%
def smooth(values, window=pick(50, 5)):
    kernel = np.ones(window) / window
    return np.convolve(values, kernel, mode="valid") if len(values) > window else values


fig, ax = plt.subplots(figsize=(7, 3.5))
for name, curve, secs in [("LSTM", lstm_curve, lstm_seconds), ("tiny GPT", gpt_curve, gpt_seconds)]:
    s = smooth(curve)
    ax.plot(np.linspace(0, secs, len(s)), s, label=f"{name} (train)")
    ax.axhline(bpc[name], ls="--", lw=1, color=ax.lines[-1].get_color(), label=f"{name} (val, end)")
ax.axhline(bpc["bigram"], color="grey", ls=":", label="bigram (val)")
ax.set_xlabel("wall-clock seconds")
ax.set_ylabel("bits per character")
ax.set_ylim(0, max(bpc["bigram"] * 1.3, 1.0))
ax.legend(fontsize=8)
ax.set_title("training at equal time budgets")
plt.show()
display(Markdown("| model | parameters | val bits/char |\n|---|---|---|\n" + "\n".join(
    f"| {n} | {p} | {bpc[n]:.3f} |" for n, p in [("bigram", f"{len(vocab) ** 2:,} counts"), ("LSTM", f"{count_params(lstm):,}"),
                                                  ("tiny GPT", f"{count_params(gpt):,}")])))

# %% [markdown]
# **Reading the table (full mode).** The bigram knows only the previous character; both neural models use the whole window. On this small, mixed
# corpus the GPT wins at equal time: attention reaches any earlier character directly, and each training step processes the 128 positions in parallel,
# where the LSTM must walk them one after another. The GPT's attention layer (`genlab.{{fw}}.text`) calls the three functions you wrote:

# %%
display(Markdown("```python\n" + inspect.getsource(CausalSelfAttention) + "```"))

# %% [markdown]
# ## 9. Generation · 解码策略
#
# ### Exercise 6 · `top_p_probs` (3 points)
# `logits` of shape `(B, V)`. Return the sampling distribution of nucleus sampling, shape `(B, V)`: $q = \operatorname{softmax}(\text{logits}/\tau)$ (temperature
# **before** the softmax), then keep, in each row, the smallest set of most probable tokens whose probability sums to at least `p` (the token that
# crosses `p` is kept), set the others to zero and renormalise. At least one token always survives: `p <= 0` keeps only the most probable one, `p >= 1` keeps all.

# %% solution id=text_top_p_sampling only=torch
def top_p_probs(logits, p, temperature=1.0):
    """Nucleus-sampling distribution (B, V): softmax(logits / temperature) restricted to the top-p set, renormalised."""
    ### BEGIN SOLUTION
    probs = torch.softmax(logits / temperature, dim=-1)
    sorted_p, order = torch.sort(probs, dim=-1, descending=True)
    before = torch.cumsum(sorted_p, dim=-1) - sorted_p   # mass of the more probable tokens
    keep_sorted = before < p
    keep_sorted[..., 0] = True                            # the most probable token always survives
    keep = torch.zeros_like(keep_sorted).scatter(-1, order, keep_sorted)
    kept = torch.where(keep, probs, torch.zeros_like(probs))
    return kept / kept.sum(dim=-1, keepdim=True)
    ### END SOLUTION

# %% solution id=text_top_p_sampling only=tf
def top_p_probs(logits, p, temperature=1.0):
    """Nucleus-sampling distribution (B, V): softmax(logits / temperature) restricted to the top-p set, renormalised."""
    ### BEGIN SOLUTION
    probs = tf.nn.softmax(logits / temperature, axis=-1)
    order = tf.argsort(probs, axis=-1, direction="DESCENDING")
    sorted_p = tf.gather(probs, order, batch_dims=1)
    before = tf.cumsum(sorted_p, axis=-1, exclusive=True)  # mass of the more probable tokens
    keep_sorted = tf.concat([tf.ones_like(sorted_p[:, :1], dtype=tf.bool), before[:, 1:] < p], axis=-1)
    keep = tf.gather(keep_sorted, tf.argsort(order, axis=-1), batch_dims=1)
    kept = tf.where(keep, probs, tf.zeros_like(probs))
    return kept / tf.reduce_sum(kept, axis=-1, keepdims=True)
    ### END SOLUTION

# %% test id=text_top_p_sampling_test points=3
"""top_p_probs: softmax(logits / T), the smallest top set reaching p (crossing token kept), renormalised, per row.

Catches: the token that crosses p dropped (cumulative mass <= p); no token kept when the top one alone exceeds p, or for
p <= 0 (NaN); temperature applied after the softmax, or multiplied instead of divided; no renormalisation; the
tokens sorted in ascending order; one nucleus for the whole batch instead of one per row; p >= 1 not keeping everything.
"""
import numpy as np
from genlab.testing import assert_close, assert_tensor
from genlab.fw import to_tensor as T


logits = np.log(np.array([[0.5, 0.3, 0.15, 0.05]]))
assert_close(top_p_probs(T(logits), 0.7), [[0.5 / 0.8, 0.3 / 0.8, 0.0, 0.0]], "p = 0.7: 0.5 + 0.3 crosses 0.7, both kept")
assert_close(top_p_probs(T(logits), 0.4), [[1.0, 0.0, 0.0, 0.0]], "p = 0.4: the top token alone crosses it")
assert_close(top_p_probs(T(logits), 1.0), [[0.5, 0.3, 0.15, 0.05]], "p = 1 keeps every token")
# temperature 2 flattens the distribution to (0.5, 0.3, 0.15, 0.05) ** (1/2), renormalised: the top three reach p = 0.8
assert_close(top_p_probs(T(logits), 0.8, temperature=2.0), [[0.43060402, 0.33354444, 0.23585154, 0.0]], "temperature 2, p = 0.8")
### BEGIN HIDDEN TESTS


def _top_p_oracle(logits, p, temperature=1.0):
    z = logits / temperature
    q = np.exp(z - z.max(-1, keepdims=True))
    q /= q.sum(-1, keepdims=True)
    out = np.zeros_like(q)
    for b in range(q.shape[0]):
        order = np.argsort(-q[b], kind="stable")
        before = np.cumsum(q[b, order]) - q[b, order]
        keep = order[(before < p) | (np.arange(len(order)) == 0)]
        out[b, keep] = q[b, keep]
    return out / out.sum(-1, keepdims=True)


def _mid_p(logits, k, temperature=1.0):
    """A p halfway between the mass of the top k - 1 and the top k tokens of row 0 (no threshold ambiguity)."""
    z = logits[0] / temperature
    q = np.sort(np.exp(z - z.max()) / np.exp(z - z.max()).sum())[::-1]
    c = np.concatenate([[0.0], np.cumsum(q)])
    return 0.5 * (c[k - 1] + c[k])


rng = np.random.default_rng(6060)
for trial in range(6):
    V = int(rng.integers(5, 40))
    logits = rng.normal(size=(1, V)) * rng.uniform(0.5, 3.0)
    temp = float(rng.choice([0.5, 0.8, 1.0, 1.7]))
    k = int(rng.integers(1, V))
    p = _mid_p(logits, k, temp)
    assert_close(top_p_probs(T(logits), p, temperature=temp), _top_p_oracle(logits, p, temp),
                 f"random row #{trial} (V = {V}, temperature {temp}, nucleus of {k} tokens)", atol=1e-5)
# rows of a batch get their own nucleus: a peaked row keeps 1 token, a flat row keeps many
logits = np.stack([np.array([6.0, 1.0, 0.5, 0.0, -1.0, -2.0]), np.array([0.3, 0.2, 0.1, 0.0, -0.1, -0.2])])
assert_close(top_p_probs(T(logits), 0.6), _top_p_oracle(logits, 0.6), "a batch with a peaked and a flat row")
for p in (0.0, -1.0, 1e-9):
    assert_close(top_p_probs(T(logits), p), _top_p_oracle(logits, max(p, 1e-12)), f"p = {p}: only the most probable token")
assert_close(top_p_probs(T(logits), 1.0, temperature=0.25), _top_p_oracle(logits, 1.0, 0.25), "p = 1 with temperature 0.25")
# a (3, 1000) batch in a random order
logits = rng.normal(size=(3, 1000)) * 2
assert_close(top_p_probs(T(logits), 0.8, temperature=0.9), _top_p_oracle(logits, 0.8, 0.9), "a (3, 1000) batch, p = 0.8", atol=1e-5)
# logits in the thousands: a stable softmax
logits = np.array([[1000.0, 999.0, 990.0, 0.0], [-1000.0, -1001.0, -1003.0, -2000.0]])
assert_close(top_p_probs(T(logits), 0.9), _top_p_oracle(logits, 0.9), "logits in the thousands")
# p reached exactly: four equal tokens and p = 0.5 keep two (whichever two: ties have no order)
out = np.asarray(top_p_probs(T(np.zeros((1, 4))), 0.5))
assert int((out > 0).sum()) == 2 and np.allclose(out[out > 0], 0.5), f"p = 0.5 over four equal tokens keeps two of them, got {out}"
# a tie at the crossing: [0.4, 0.2, 0.2, 0.2] and p = 0.5 keep the top token and one of the 0.2s
out = np.asarray(top_p_probs(T(np.log([[0.4, 0.2, 0.2, 0.2]])), 0.5))
assert int((out > 0).sum()) == 2 and abs(out[0, 0] - 2 / 3) < 1e-5, f"a tie at the crossing: the smallest set has 2 tokens, got {out}"
# the caller's logits are left as they were, and the result is a tensor
t_in = T(np.log([[0.5, 0.3, 0.15, 0.05]]))
res = top_p_probs(t_in, 0.7, temperature=2.0)
assert_close(t_in, np.log([[0.5, 0.3, 0.15, 0.05]]), "the logits passed to top_p_probs (changed in place?)")
assert_tensor(res, "top_p_probs")
### END HIDDEN TESTS

# %% [markdown]
# **The decoding loop, written out.** `generate` below feeds the prompt once ("prefill", which fills the cache), then one token at a time ("decode"),
# each step reading only the last position's logits. Sampling happens in NumPy on the probabilities your `top_p_probs` returns. The repetition penalty is
# CTRL's (Keskar et al., 2019): the logits of tokens already generated are divided by $\theta > 1$ when positive and multiplied when negative.
# Beam search keeps the `beams` most probable partial sequences by total log-probability; it finds likely text, and likely text is repetitive and bland
# (Holtzman et al., 2020): human text is not the most probable sequence.

# %%
def generate(model, prompt_ids, n_new, temperature=1.0, top_p=1.0, top_k=None, greedy=False, repetition_penalty=1.0,
             use_cache=True, seed=0):
    """Continue each row of prompt_ids (N, T0) by n_new tokens; returns (N, T0 + n_new) ids."""
    rng = np.random.default_rng(seed)
    ids = np.array(prompt_ids, dtype=np.int64)
    caches, fresh = None, ids
    for _ in range(n_new):
        if use_cache:
            logits, caches = lm_logits_cached(model, fresh, caches)   # prefill, then one token per step
        else:
            logits = lm_logits(model, ids)                            # recompute everything
        last = to_numpy(logits)[:, -1].astype(np.float64)              # (N, V)
        if repetition_penalty != 1.0:
            for row, seen in zip(last, ids):
                s = np.unique(seen)
                row[s] = np.where(row[s] > 0, row[s] / repetition_penalty, row[s] * repetition_penalty)
        if greedy:
            nxt = last.argmax(-1)
        else:
            if top_k is not None:
                kth = np.sort(last, axis=-1)[:, -top_k][:, None]
                last = np.where(last < kth, -np.inf, last)
            probs = to_numpy(top_p_probs(to_tensor(last), top_p, temperature)).astype(np.float64)
            probs /= probs.sum(-1, keepdims=True)
            nxt = np.array([rng.choice(len(p_row), p=p_row) for p_row in probs])
        fresh = nxt[:, None]
        ids = np.concatenate([ids, fresh], axis=1)
    return ids


def beam_search(model, prompt_ids, n_new, beams=4):
    """Keep the `beams` most probable continuations of one prompt (1, T0) by summed log-probability."""
    seqs, scores = np.array(prompt_ids, dtype=np.int64), np.zeros(1)
    for _ in range(n_new):
        logp = to_numpy(lm_logits(model, seqs))[:, -1].astype(np.float64)
        logp = logp - np.logaddexp.reduce(logp, axis=-1, keepdims=True)
        cand = (scores[:, None] + logp).ravel()
        best = np.argsort(-cand)[:beams]
        seqs = np.concatenate([seqs[best // logp.shape[1]], (best % logp.shape[1])[:, None]], axis=1)
        scores = cand[best]
    return seqs[:1]


def distinct_2(text):
    pairs = [text[i:i + 2] for i in range(len(text) - 1)]
    return len(set(pairs)) / max(len(pairs), 1)


PROMPTS = ["Q: What is a KV cache", "问：什么是注意力机制"]
N_NEW = pick(160, 24)
rows = []
for prompt in PROMPTS:
    p_ids = vocab.encode(prompt)[None]
    outs = {
        "greedy": generate(gpt, p_ids, N_NEW, greedy=True),
        "temperature 0.7": generate(gpt, p_ids, N_NEW, temperature=0.7),
        "temperature 1.3": generate(gpt, p_ids, N_NEW, temperature=1.3),
        "top-k 10": generate(gpt, p_ids, N_NEW, top_k=10),
        "top-p 0.9": generate(gpt, p_ids, N_NEW, top_p=0.9),
        "top-p 0.9 + repetition penalty 1.3": generate(gpt, p_ids, N_NEW, top_p=0.9, repetition_penalty=1.3),
        "beam search (4 beams)": beam_search(gpt, p_ids, pick(60, 8)),
    }
    for name, out in outs.items():
        cont = vocab.decode(out[0, len(prompt):])
        rows.append(f"| {name} | {distinct_2(cont):.2f} | {prompt}**{cont.replace(chr(10), ' / ').replace('|', '¦')}** |")
display(Markdown("| decoding | distinct-2 | prompt **continuation** |\n|---|---|---|\n" + "\n".join(rows)))

# %% [markdown]
# **What to look for.** Greedy and beam search fall into loops (the same phrase again and again: low distinct-2); a low temperature is nearly greedy;
# a high temperature produces non-words, because it lifts the whole tail of improbable characters; top-k and top-p cut that tail, top-p adaptively
# (few candidates after a confident prefix, many where the model is unsure); the repetition penalty breaks loops but also penalises legitimate
# repeats (a term used twice in an answer). Chat systems usually sample with $\tau \approx 0.7$ and $p \approx 0.9$.
#
# **The cache's speed-up.** The same greedy continuation of 256 tokens (32 in QUICK mode), once recomputing the whole sequence at every step and once with the cache.
# Greedy decoding is deterministic, so both must produce the same tokens.

# %%
p_ids = vocab.encode("A: ")[None]
generate(gpt, p_ids, 4, greedy=True)
generate(gpt, p_ids, 4, greedy=True, use_cache=False)  # warm-up (first calls compile or allocate)
t0 = time.perf_counter()
out_nocache = generate(gpt, p_ids, GEN_TOKENS, greedy=True, use_cache=False)
t_nocache = time.perf_counter() - t0
t0 = time.perf_counter()
out_cache = generate(gpt, p_ids, GEN_TOKENS, greedy=True, use_cache=True)
t_cache = time.perf_counter() - t0
same = np.mean(out_cache == out_nocache)
print(f"{GEN_TOKENS} tokens: {t_nocache:.2f} s without the cache, {t_cache:.2f} s with it; the same tokens: {same:.0%}")
report("text/kv_cache_speedup", t_nocache / t_cache)

# %% [markdown]
# ## 10. Sequence to sequence with attention · 带注意力的序列到序列模型
#
# Machine translation, summarisation and (before decoder-only models took over) dialogue were framed as **seq2seq**: an encoder reads the source, a
# decoder writes the target one token at a time, and attention (Bahdanau et al., 2015) lets each output step look at the source positions it needs.
# A task small enough to learn in a minute and hard enough to need attention: dates written as people write them, in English and Chinese,
# translated to ISO 8601. The test dates are dates the model never saw in any format.

# %%
dates_train = date_pairs(S2S_TRAIN, "train", seed=SEED)
dates_test = date_pairs(pick(1000, 200), "test", seed=SEED + 1)
for s, t in dates_train[:6] + dates_test[:2]:
    print(f"{s!r:>40} -> {t}")
date_vocab = DateVocab()  # PAD = 0, BOS = 1, EOS = 2, then the characters of every format
src, tgt_in, tgt_out = encode_pairs(dates_train, date_vocab)
src_te, _, tgt_te = encode_pairs(dates_test, date_vocab)
print(f"{len(date_vocab)} symbols; sources padded to {src.shape[1]}, targets to {tgt_in.shape[1]}")

# %%
genlab.seed_everything(SEED)
s2s = Seq2Seq(len(date_vocab), len(date_vocab))
s2s_step = make_seq2seq_step(s2s, lr=3e-3)
rng = np.random.default_rng(SEED)
s2s_losses = []
budget = time_budget(S2S_SECONDS, desc="seq2seq")
for _ in budget:
    i = rng.integers(0, len(src), size=64)
    s2s_losses.append(s2s_step(src[i], tgt_in[i], tgt_out[i]))
pred, attn = s2s_greedy(s2s, src_te)
exact = float(np.mean([date_vocab.decode(p) == t for p, (_, t) in zip(pred, dates_test)]))
print(f"{len(s2s_losses)} steps in {budget.elapsed:.0f} s; exact match on {len(dates_test)} held-out dates: {exact:.3f}")
report("text/seq2seq_exact_match", exact)

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
for ax, i in zip(axes, [0, next(j for j, (s, _) in enumerate(dates_test) if "年" in s)]):
    source = dates_test[i][0]
    out = date_vocab.decode(pred[i])
    ax.imshow(attn[i][: len(out) + 1, : len(source)], cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(source)), list(source), fontsize=7)
    ax.set_yticks(range(len(out) + 1), list(out) + ["<eos>"], fontsize=7)
    ax.set_title(f"{source} -> {out}", fontsize=9)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 11. Adapting a trained model: LoRA vs. full fine-tuning · LoRA 与全参数微调
#
# **LoRA** (Hu et al., 2021) freezes the pretrained weight $W$ and learns a low-rank update: $h = Wx + \frac{\alpha}{r} B A x$ with $A \in \mathbb R^{r \times d}$,
# $B \in \mathbb R^{d \times r}$, $r \ll d$, and $B = 0$ at the start (so training starts from the pretrained model exactly). Only $A, B$ are trained: a
# fraction of the parameters, so the optimiser state and the gradients shrink with them, and one base model can serve many adapters; after training,
# $BA$ can be merged into $W$ (no extra latency). **QLoRA** (Dettmers et al., 2023) keeps the frozen base in 4-bit NF4 and trains LoRA adapters on top, so a
# 65B model fine-tunes on one 48 GB GPU.
#
# The task: specialise the tiny GPT, trained on both languages, to the **Chinese half** of the corpus, for the same short budget either way. We compare
# the Chinese validation loss (nats per character) of the base model, of LoRA (rank 8 on the attention projections) and of full fine-tuning.

# %%
zh_train_ids = vocab.encode(load_corpus("train", "zh"))
zh_val_ids = vocab.encode(load_corpus("val", "zh"))[:EVAL_CHARS + 1]


def clone_gpt(model):
    """A fresh TinyGPT on the same exercise functions, holding a copy of `model`'s weights."""
    twin = TinyGPT(cfg, attention=causal_attention, rope=apply_rope, cache_update=kv_cache_update)
    set_weights(twin, get_weights(model))
    return twin


def finetune(model, seconds, lr, desc):
    step = make_lm_step(model, lr=lr, weight_decay=0.0)
    rng = np.random.default_rng(SEED + 1)
    for _ in time_budget(seconds, desc=desc):
        step(*random_windows(zh_train_ids, BLOCK, FT_BATCH, rng))
    return bits_per_char(lambda xb: lm_logits(model, xb), ids=zh_val_ids) * math.log(2)  # nats per character


base_zh = bits_per_char(lambda xb: lm_logits(gpt, xb), ids=zh_val_ids) * math.log(2)
genlab.seed_everything(SEED)
lora_gpt = apply_lora(clone_gpt(gpt), rank=8, alpha=16.0)
lora_fraction = count_params(lora_gpt, trainable_only=True) / count_params(lora_gpt)
lora_zh = finetune(lora_gpt, FT_SECONDS, lr=3e-3, desc="LoRA")
full_gpt = clone_gpt(gpt)
full_zh = finetune(full_gpt, FT_SECONDS, lr=1e-3, desc="full fine-tuning")
display(Markdown(f"""| model | trainable parameters | Chinese val loss (nats/char) |
|---|---|---|
| base (both languages) | - | {base_zh:.3f} |
| LoRA r = 8 | {count_params(lora_gpt, trainable_only=True):,} ({lora_fraction:.1%}) | {lora_zh:.3f} |
| full fine-tuning | {count_params(full_gpt, trainable_only=True):,} (100%) | {full_zh:.3f} |"""))
report("text/lora_trainable_fraction", lora_fraction)
report("text/lora_val_loss", lora_zh)
report("text/full_finetune_val_loss", full_zh)

# %% [markdown]
# Both adapt, and with a budget this short LoRA keeps up with full fine-tuning (in full-mode runs here it matched or beat it) while training
# about 2% of the weights (the embedding table dominates this model's parameter count; in a 7B model rank-8 LoRA on the attention projections trains
# about 0.1%). Its low-rank update is a strong regulariser: it cannot move far from the pretrained model. Full fine-tuning can go further with more
# data and time, and can also *forget* what the task does not exercise (here: English); a frozen base with an adapter cannot, which is one reason
# adapters are popular.
#
# ## 12. Learning from preferences: DPO · 偏好优化
#
# The recipe behind chat models: **pretraining** (next-token prediction on web text) → **SFT** (supervised fine-tuning on demonstrations: the same
# loss on (prompt, good answer) pairs) → **preference optimisation**. RLHF (Ouyang et al., 2022) fits a reward model to human comparisons and then
# maximises it with PPO under a KL penalty to the SFT model: four models in memory (policy, reference, reward, value) and on-line sampling.
# **DPO** reaches the same optimum from the comparisons directly (section 1): one policy, one frozen reference, a classification-like loss, no sampling
# during training. **GRPO** (Shao et al., 2024; DeepSeek-R1) keeps RL but drops the value model: it samples a group of answers per prompt and uses each
# answer's reward standardised within its group as the advantage; it suits verifiable rewards (maths, code) where answers can be checked.
#
# ### Exercise 7 · `dpo_loss` (2 points)
# Inputs: four tensors of shape `(B,)`, the summed log-probabilities of the chosen and the rejected answers under the policy and under the reference.
# Return the scalar mean over the batch of $-\log\sigma\big(\beta[(\pi_c - \text{ref}_c) - (\pi_r - \text{ref}_r)]\big)$, finite even when the margin is in
# the hundreds (use a log-sigmoid or softplus, not `log(sigmoid(.))`).

# %% solution id=text_dpo_loss only=torch
def dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta=0.1):
    """Mean DPO loss over a batch of (B,) sequence log-probabilities: -log sigmoid(beta * (chosen ratio - rejected ratio))."""
    ### BEGIN SOLUTION
    margin = (policy_chosen - ref_chosen) - (policy_rejected - ref_rejected)
    return -torch.mean(torch.nn.functional.logsigmoid(beta * margin))
    ### END SOLUTION

# %% solution id=text_dpo_loss only=tf
def dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta=0.1):
    """Mean DPO loss over a batch of (B,) sequence log-probabilities: -log sigmoid(beta * (chosen ratio - rejected ratio))."""
    ### BEGIN SOLUTION
    margin = (policy_chosen - ref_chosen) - (policy_rejected - ref_rejected)
    return -tf.reduce_mean(tf.math.log_sigmoid(beta * margin))
    ### END SOLUTION

# %% test id=text_dpo_loss_test points=2
"""dpo_loss: -mean log sigmoid(beta * ((pi_c - ref_c) - (pi_r - ref_r))), stable, with the right gradients.

Catches: the reference log-ratio with the wrong sign; beta outside the log-sigmoid (or missing); chosen and rejected
swapped; a sum over the batch instead of a mean; log(sigmoid(.)) that is infinite for large negative margins; the
reference terms dropped; gradients that do not reach the policy's log-probabilities.
"""
import numpy as np
from genlab.testing import assert_close
from genlab.fw import grad_of, to_tensor as T


pc, pr, rc, rr = np.array([-10.0, -12.0]), np.array([-11.0, -9.0]), np.array([-10.5, -11.0]), np.array([-10.0, -10.0])
# margins (pi_c - ref_c) - (pi_r - ref_r) = 1.5 and -2.0; the loss is the mean of -log sigmoid(0.1 * margin)
assert_close(dpo_loss(T(pc), T(pr), T(rc), T(rr), beta=0.1), 0.709547958585562, "DPO loss of two pairs, beta 0.1")
assert_close(dpo_loss(T(pc), T(pr), T(pc), T(pr), beta=0.5), np.log(2.0), "policy = reference: log 2")
### BEGIN HIDDEN TESTS


def _dpo_oracle(pc, pr, rc, rr, beta):
    z = beta * ((pc - rc) - (pr - rr))
    return float(np.mean(np.logaddexp(0.0, -z)))


rng = np.random.default_rng(3141)
for B, beta in [(5, 0.1), (8, 0.5), (1, 2.0)]:
    pc, pr, rc, rr = (rng.normal(size=B) * 5 - 30 for _ in range(4))
    assert_close(dpo_loss(T(pc), T(pr), T(rc), T(rr), beta=beta), _dpo_oracle(pc, pr, rc, rr, beta), f"DPO loss, B = {B}, beta = {beta}")
# huge margins: a confidently wrong policy costs about |margin| * beta, a confidently right one about 0
pc, pr = np.array([-500.0, -10.0]), np.array([-10.0, -500.0])
rc, rr = np.array([-20.0, -20.0]), np.array([-20.0, -20.0])
assert_close(dpo_loss(T(pc), T(pr), T(rc), T(rr), beta=1.0), _dpo_oracle(pc, pr, rc, rr, 1.0), "DPO loss with margins of -490 and +490",
             rtol=1e-5)
pc, pr, rc, rr = np.array([-3.0, -8.0]), np.array([-9.0, -2.0]), np.array([-5.0, -5.0]), np.array([-4.0, -6.0])
assert_close(dpo_loss(T(pc), T(pr), T(rc), T(rr)), _dpo_oracle(pc, pr, rc, rr, 0.1), "DPO loss with the default beta (0.1)")
pc, pr = np.array([-2500.0, -10.0]), np.array([-10.0, -2500.0])
assert_close(dpo_loss(T(pc), T(pr), T(rc[:2]), T(rr[:2]), beta=1.0), _dpo_oracle(pc, pr, rc[:2], rr[:2], 1.0), "margins of about -2,500 and +2,500",
             rtol=1e-5)
# gradient wrt the chosen log-probabilities: -beta * sigmoid(-z) / B
pc, pr, rc, rr = (rng.normal(size=4) * 3 for _ in range(4))
beta = 0.3
z = beta * ((pc - rc) - (pr - rr))
_, (g_c, g_r) = grad_of(lambda a, b: dpo_loss(a, b, T(rc), T(rr), beta=beta), pc, pr)
assert_close(g_c, -beta / (1 + np.exp(z)) / 4, "d loss / d policy_chosen")
assert_close(g_r, beta / (1 + np.exp(z)) / 4, "d loss / d policy_rejected")
### END HIDDEN TESTS

# %% [markdown]
# **A toy preference set.** A rule plays the human labeller: it prefers the answer with the larger share of Chinese characters (a stand-in for "answers
# in the user's language"). For prompts cut from the validation text we sample two continuations from the trained GPT (the reference), label the
# pair, and train a copy of it (the policy) with your `dpo_loss`. No reward model and no sampling during training: DPO sees only the labelled pairs.
# After training, fresh samples from the policy should score higher under the rule, and the policy should not drift far from the reference
# (the $\beta$-weighted log-ratio is the *implicit reward* DPO learns).

# %%
def zh_share(text):
    return sum("\u4e00" <= c <= "\u9fff" for c in text) / max(len(text), 1)


P_LEN, C_LEN, BETA = 16, 24, 0.1
rng = np.random.default_rng(SEED)
starts = rng.integers(0, len(val_ids) - P_LEN, size=DPO_PAIRS)
prompts = np.stack([val_ids[s:s + P_LEN] for s in starts])
a = generate(gpt, prompts, C_LEN, temperature=1.0, top_p=0.95, seed=1)
b = generate(gpt, prompts, C_LEN, temperature=1.0, top_p=0.95, seed=2)
ra = np.array([zh_share(vocab.decode(s[P_LEN:])) for s in a])
rb = np.array([zh_share(vocab.decode(s[P_LEN:])) for s in b])
keep = ra != rb
chosen, rejected = np.where((ra > rb)[:, None], a, b)[keep], np.where((ra > rb)[:, None], b, a)[keep]
reward_before = float(np.mean(np.concatenate([ra, rb])))
print(f"{keep.sum()} labelled pairs of {DPO_PAIRS}; mean reward of the reference's samples: {reward_before:.3f}")

# %% only=torch
def sequence_logprob(model, ids, prompt_len):
    """Sum over the continuation (positions >= prompt_len) of log p(token | prefix), for each row of ids (N, T): (N,)."""
    x = to_labels(ids)
    logp = torch.log_softmax(model(x[:, :-1]), dim=-1)
    tok = torch.gather(logp, -1, x[:, 1:, None])[..., 0]     # (N, T - 1): log p(x_{t+1} | x_{<=t})
    return tok[:, prompt_len - 1:].sum(-1)


policy = clone_gpt(gpt)
policy.train()
gpt.eval()
with torch.no_grad():
    ref_c, ref_r = sequence_logprob(gpt, chosen, P_LEN), sequence_logprob(gpt, rejected, P_LEN)
opt = torch.optim.AdamW(policy.parameters(), lr=3e-4, weight_decay=0.0)
dpo_losses = []
for _ in time_budget(1e9, max_steps=DPO_STEPS, desc="DPO"):
    i = rng.integers(0, len(chosen), size=min(32, len(chosen)))
    loss = dpo_loss(sequence_logprob(policy, chosen[i], P_LEN), sequence_logprob(policy, rejected[i], P_LEN), ref_c[i], ref_r[i], beta=BETA)
    opt.zero_grad()
    loss.backward()
    opt.step()
    dpo_losses.append(float(loss))
policy.eval()

# %% only=tf
def sequence_logprob(model, ids, prompt_len):
    """Sum over the continuation (positions >= prompt_len) of log p(token | prefix), for each row of ids (N, T): (N,)."""
    x = to_labels(ids)
    logp = tf.nn.log_softmax(model(x[:, :-1], training=True), axis=-1)
    tok = tf.gather(logp, x[:, 1:], batch_dims=2)             # (N, T - 1): log p(x_{t+1} | x_{<=t})
    return tf.reduce_sum(tok[:, prompt_len - 1:], axis=-1)


policy = clone_gpt(gpt)
ref_c, ref_r = sequence_logprob(gpt, chosen, P_LEN), sequence_logprob(gpt, rejected, P_LEN)
opt = keras.optimizers.AdamW(learning_rate=3e-4, weight_decay=0.0)
dpo_losses = []
for _ in time_budget(1e9, max_steps=DPO_STEPS, desc="DPO"):
    i = rng.integers(0, len(chosen), size=min(32, len(chosen)))
    with tf.GradientTape() as tape:
        loss = dpo_loss(sequence_logprob(policy, chosen[i], P_LEN), sequence_logprob(policy, rejected[i], P_LEN),
                        tf.gather(ref_c, i), tf.gather(ref_r, i), beta=BETA)
    grads = tape.gradient(loss, policy.trainable_variables)
    opt.apply_gradients(zip(grads, policy.trainable_variables))
    dpo_losses.append(float(loss))

# %%
a2 = generate(policy, prompts, C_LEN, temperature=1.0, top_p=0.95, seed=3)
reward_after = float(np.mean([zh_share(vocab.decode(s[P_LEN:])) for s in a2]))
kl_proxy = float(np.mean(to_numpy(sequence_logprob(policy, a2, P_LEN)) - to_numpy(sequence_logprob(gpt, a2, P_LEN))))
print(f"DPO loss {dpo_losses[0]:.3f} -> {dpo_losses[-1]:.3f}; mean reward {reward_before:.3f} -> {reward_after:.3f}; "
      f"log pi/pi_ref on the policy's samples (a KL estimate, nats per answer): {kl_proxy:.2f}")
report("text/dpo_reward_before", reward_before)
report("text/dpo_reward_after", reward_after)
for s in a2[:3]:
    print(repr(vocab.decode(s[:P_LEN])), "->", repr(vocab.decode(s[P_LEN:])))

# %% [markdown]
# The rule is crude on purpose: DPO optimises whatever the labels prefer, including their flaws (here: Chinese characters in any order would score).
# With human labels the same happens more subtly (longer answers, confident tone): **reward hacking** and the KL term ($\beta$) that limits it are
# the interview points. Test-time compute is the other lever: sample $N$ answers and keep the best under a verifier (best-of-$N$), or take the
# majority answer of several reasoning paths (self-consistency, Wang et al., 2023).
#
# ## 13. The library path · 用库实现同一个模型
#
# Real projects do not write the transformer by hand: they build it from a library configuration and call the library's `generate`. Below, the same
# size of model (4 layers, width 128, 4 heads, a 512-unit MLP, tied embeddings) is built from a GPT-2 configuration **with no download** (random
# weights, our character vocabulary), trained for a few steps on the same windows, and sampled. GPT-2 differs from our GPT in one respect: it
# learns a position embedding table (`wpe`) instead of rotating queries and keys.

# %% [markdown] only=torch
# | our piece | Hugging Face `transformers` (GPT-2) |
# |---|---|
# | `GPTConfig(n_layer, n_head, n_embd, block_size)` | `GPT2Config(n_layer, n_head, n_embd, n_positions)` |
# | the fused query/key/value projection | `attn.c_attn` (a `Conv1D`: weight stored as (in, out), like a Keras kernel) |
# | `causal_mask` + `causal_attention` | the attention implementation chosen by `config._attn_implementation` (eager or SDPA) with a causal mask |
# | `kv_cache_update`, our per-layer caches | `past_key_values` (a `DynamicCache`), `use_cache=True` |
# | tied output layer | `tie_word_embeddings=True`: `lm_head.weight` is `transformer.wte.weight` |
# | the training loss on `(x, y)` windows | `model(input_ids, labels=input_ids)`: the model shifts the labels by one itself |
# | `generate` with `top_p_probs`, temperature, repetition penalty | `model.generate(do_sample=True, top_p=..., top_k=..., temperature=..., repetition_penalty=...)` (logits processors) |
# | beam search | `generate(num_beams=4)` |

# %% only=torch
from transformers import GPT2Config, GPT2LMHeadModel
from transformers.utils import logging as hf_logging

hf_logging.set_verbosity_error()
genlab.seed_everything(SEED)
hf_cfg = GPT2Config(vocab_size=len(vocab), n_positions=BLOCK, n_embd=128, n_layer=4, n_head=4, n_inner=512, resid_pdrop=0.0,
                    embd_pdrop=0.0, attn_pdrop=0.0, bos_token_id=None, eos_token_id=None, tie_word_embeddings=True)
lib_model = GPT2LMHeadModel(hf_cfg).to(DEVICE)
lib_opt = torch.optim.AdamW(lib_model.parameters(), lr=3e-3, weight_decay=0.1)
rng = np.random.default_rng(SEED)
lib_losses = []
for _ in time_budget(1e9, max_steps=LIB_STEPS, desc="transformers GPT-2"):
    x, _ = random_windows(train_ids, BLOCK, GPT_BATCH, rng)
    out = lib_model(input_ids=to_labels(x), labels=to_labels(x))  # labels = inputs: the library shifts them
    lib_opt.zero_grad()
    out.loss.backward()
    lib_opt.step()
    lib_losses.append(float(out.loss) / math.log(2))
lib_model.eval()
prompt = to_labels(vocab.encode("问：什么是")[None])
with torch.no_grad():
    lib_sample = lib_model.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=60, do_sample=True, top_k=20,
                                    temperature=0.8, pad_token_id=0)
lib_params = sum(p.numel() for p in lib_model.parameters())
print(f"GPT-2-shaped model from transformers: {lib_params:,} parameters (ours: {count_params(gpt):,}; the difference is GPT-2's position "
      f"table and biases); training loss {lib_losses[0]:.2f} -> {lib_losses[-1]:.2f} bits/char in {LIB_STEPS} steps")
print(repr(vocab.decode(to_numpy(lib_sample)[0])))

# %% [markdown] only=tf
# | our piece | KerasHub (`keras_hub`, GPT-2) |
# |---|---|
# | `GPTConfig(n_layer, n_head, n_embd, block_size)` | `GPT2Backbone(num_layers, num_heads, hidden_dim, intermediate_dim, max_sequence_length)` |
# | the fused query/key/value projection | separate `query`, `key`, `value` `EinsumDense` layers in each `TransformerDecoder` block |
# | `causal_mask` + `causal_attention` | `TransformerDecoder`'s causal mask (`compute_causal_mask`) and its attention layer |
# | `kv_cache_update`, our per-layer caches | `CachedMultiHeadAttention` and the `cache` tensor that `GPT2CausalLM.call_with_cache` threads through `generate` |
# | tied output layer | `ReversibleEmbedding`: the token embedding used in reverse for the logits |
# | the training loss on `(x, y)` windows | `GPT2CausalLM.fit(x={"token_ids", "padding_mask"}, y)` with `SparseCategoricalCrossentropy(from_logits=True)` |
# | `generate` with `top_p_probs`, temperature | `compile(sampler=...)`: `keras_hub.samplers.TopPSampler`, `TopKSampler`, `GreedySampler`, `BeamSampler` |
#
# This is also the chapter's Keras `fit` form: `GPT2CausalLM` is a `keras.Model` whose `train_step` computes the loss, its gradients and the update,
# beside the written-out step of `make_lm_step`.
#
# (Why not `transformers` here? Version 5 of `transformers` no longer ships TensorFlow models; KerasHub is Keras's own model library.)

# %% only=tf
import keras_hub

genlab.seed_everything(SEED)
backbone = keras_hub.models.GPT2Backbone(vocabulary_size=len(vocab), num_layers=4, num_heads=4, hidden_dim=128, intermediate_dim=512,
                                         max_sequence_length=BLOCK, dropout=0.0)
lib_model = keras_hub.models.GPT2CausalLM(backbone=backbone, preprocessor=None)
lib_model.compile(optimizer=keras.optimizers.AdamW(learning_rate=3e-3, weight_decay=0.1),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  sampler=keras_hub.samplers.TopKSampler(k=20, temperature=0.8))
lib_model.optimizer.build(lib_model.trainable_variables)  # slots made now: fit's first step would be traced twice
x, y = random_windows(train_ids, BLOCK, LIB_STEPS * GPT_BATCH, np.random.default_rng(SEED))
hist = lib_model.fit({"token_ids": x, "padding_mask": np.ones_like(x, dtype=bool)}, y, batch_size=GPT_BATCH, epochs=1, verbose=0)
prompt = vocab.encode("问：什么是")
total = len(prompt) + 60
lib_sample = lib_model.generate({"token_ids": np.pad(prompt, (0, total - len(prompt)))[None],
                                 "padding_mask": (np.arange(total) < len(prompt))[None]}, max_length=total, stop_token_ids=None)
lib_params = backbone.count_params()
print(f"GPT-2-shaped model from KerasHub: {lib_params:,} parameters (ours: {count_params(gpt):,}; the difference is GPT-2's position "
      f"table and biases); training loss {hist.history['loss'][-1] / math.log(2):.2f} bits/char after {LIB_STEPS} steps")
print(repr(vocab.decode(np.asarray(lib_sample["token_ids"])[0])))

# %% [markdown]
# ## 14. Spot the bug: the seeds · 找错：种子题的错误
#
# **S003-P3** ("implement text generation with GPT-2") loads `GPT2LMHeadModel.from_pretrained("gpt2")` and continues the Chinese sentence
# "今天天气很好，我打算去公园散步。" with `model.generate(inputs, max_length=50)`. What goes wrong:
#
# 1. **Model and language do not match.** GPT-2 was trained on WebText, mostly English web pages. Its byte-level BPE can *encode* Chinese, but as we saw
#    above a Chinese character costs 2-3 byte tokens the model has rarely seen: the continuation is mostly nonsense. Use a Chinese or multilingual model
#    (or train one, as this chapter did at toy scale).
# 2. **`max_length` counts the prompt.** A 16-character Chinese prompt is already about 40 GPT-2 tokens, leaving about 10 for new text; use `max_new_tokens`.
# 3. **Greedy decoding by default.** Without `do_sample=True` the output is deterministic and falls into the loops our greedy row showed; sample with a
#    temperature and top-p, or add a repetition penalty.
# 4. **No `attention_mask`, no `pad_token_id`** (GPT-2 has no pad token): warnings for one prompt, wrong results once prompts are batched with padding.
# 5. `from_pretrained` downloads 500 MB at run time; an interview answer should at least say so (this course runs offline).
#
# **S000-Q2 / S004 ch.4** list "TextGen (based on GANs)", "ArtGen (based on VAEs)" and "MusicGen (a GPT-based text generation model)" as common text
# generators, and name GANs and VAEs as what question-answering systems use. None of this holds. "TextGen" and "ArtGen" are not established models.
# GANs are hard to apply to text because sampling discrete tokens is not differentiable (SeqGAN needed policy gradients, and never beat maximum-likelihood
# language models). **MusicGen** (Copet et al., 2023, Meta) is a *music* model: an autoregressive transformer over EnCodec audio tokens, conditioned on text
# (chapter 06). Question answering today is an autoregressive language model, often with retrieval (RAG), or an extractive reader that predicts the
# answer's start and end positions in a document.
#
# ## 15. Summary · 小结
#
# * A language model is the chain rule plus a classifier over the vocabulary; perplexity is $e^{\text{cross-entropy}}$ per token, bits per character
#   make tokenisers comparable.
# * BPE merges frequent pairs; byte-level BPE never meets an unknown symbol; Chinese needs its own merges (or a large vocabulary) to be efficient.
# * Causal attention: scores $QK^\top/\sqrt d$, a mask aligned to the end of the keys, softmax over the keys. RoPE makes scores depend on offsets.
#   The KV cache turns each generation step into one token's work.
# * Decoding is a choice: greedy and beam search for short, well-defined outputs (translation, the dates); temperature plus top-p for open text.
# * Seq2seq with attention solves a translation task in a minute; LoRA adapts a model with a few percent of its weights; DPO learns from preference
#   pairs with a frozen reference and no reward model.
#
# Interview items for this chapter: `genlab questions --list --chapter text`; a drill: `genlab drill --chapter text`.
# 相关面试题：`genlab questions --list --chapter text`；练习：`genlab drill --chapter text`。
