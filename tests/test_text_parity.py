"""Chapter 05_text's models give the same outputs in PyTorch and Keras under shared weights, and each
framework's model keeps its own promises.

Across frameworks (weights torch -> NumPy shared layout -> Keras, max abs diff <= 1e-5): TinyGPT with RoPE
or learned positions, tied or untied head; a LoRA'd GPT with nonzero B; CharLSTM (2 layers); Seq2Seq
teacher-forced logits and attention, and greedy ids. In each framework: the KV-cached forward equals the
full forward; one training step lowers the loss; LoRA leaves exactly A and B trainable and, with B = 0,
changes nothing; the injected attention is really what the GPT calls. The reference attention, RoPE and
cache update live in tests/text_ops.py (graded exercises: never in genlab/).
"""
import re
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
tf = pytest.importorskip("tensorflow")

import genlab.tf.text as ktext  # noqa: E402
import genlab.torch.text as ttext  # noqa: E402
from genlab.text import BOS, EOS, PAD, DateVocab, GPTConfig, date_pairs, encode_pairs  # noqa: E402
from text_ops import TF_OPS, TORCH_OPS  # noqa: E402

pytestmark = pytest.mark.frameworks
ROOT = Path(__file__).resolve().parents[1]
TOL = 1e-5


def _cfg(rope=True, tie=True, **kw):
    return GPTConfig(**{"vocab_size": 97, "block_size": 32, "n_layer": 2, "n_head": 4, "n_embd": 32, "rope": rope,
                        "tie_weights": tie, **kw})


def _t(model, x):
    return torch.as_tensor(np.asarray(x), dtype=torch.int64, device=next(model.parameters()).device)


def _np(x):
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _gpt_pair(cfg, seed=0):
    torch.manual_seed(seed)
    tm = ttext.TinyGPT(cfg, **TORCH_OPS)
    km = ktext.TinyGPT(cfg, **TF_OPS)
    ktext.set_weights(km, ttext.get_weights(tm))
    return tm, km


# ----------------------------------------------------------------------------------------------- parity

@pytest.mark.parametrize("rope,tie", [(True, True), (False, False), (True, False), (False, True)])
def test_tiny_gpt_parity(rope, tie):
    tm, km = _gpt_pair(_cfg(rope, tie))
    idx = np.random.default_rng(1).integers(0, 97, (3, 32))
    out_t, out_k = _np(tm(_t(tm, idx))), km(idx).numpy()
    assert out_t.shape == out_k.shape == (3, 32, 97)
    assert np.abs(out_t - out_k).max() <= TOL
    assert out_t.std() > 1e-3
    n = len(ttext.get_weights(tm))
    assert n == len(ktext.get_weights(km)) == 1 + (0 if rope else 1) + 12 * 2 + 2 + (0 if tie else 1)


def test_weights_round_trip_and_shape_checks():
    tm, km = _gpt_pair(_cfg(False, False))
    w = ttext.get_weights(tm)
    back = ttext.get_weights(ttext.set_weights(ttext.TinyGPT(_cfg(False, False), **TORCH_OPS), ktext.get_weights(km)))
    assert all(np.array_equal(a, b) for a, b in zip(w, back))
    assert [a.shape for a in w[:6]] == [(97, 32), (32, 32), (32,), (32,), (32, 96), (96,)]  # wte wpe ln1 qkv (in, out)
    other = ttext.TinyGPT(_cfg(False, False, n_embd=64), **TORCH_OPS)
    with pytest.raises(ValueError, match="shape"):
        ttext.set_weights(other, w)
    with pytest.raises(ValueError, match="shape"):
        ktext.set_weights(ktext.TinyGPT(_cfg(False, False, n_embd=64), **TF_OPS), w)
    with pytest.raises(ValueError, match="expected"):
        ktext.set_weights(km, w[:-1])


def test_lora_gpt_parity_with_nonzero_b():
    cfg = _cfg()
    tm, km = _gpt_pair(cfg)
    ttext.apply_lora(tm, rank=4, alpha=8.0, mlp=True)
    ktext.apply_lora(km, rank=4, alpha=8.0, mlp=True)
    rng = np.random.default_rng(2)
    w = ttext.get_weights(tm)
    lora_b = [i for i, a in enumerate(w) if a.ndim == 2 and a.shape[0] == 4]  # B is (r, out)
    assert len(lora_b) == cfg.n_layer * 4
    for i in lora_b:
        w[i] = rng.normal(0, 0.05, w[i].shape).astype(np.float32)
    ttext.set_weights(tm, w)
    ktext.set_weights(km, w)
    idx = rng.integers(0, 97, (2, 20))
    out_t, out_k = _np(tm(_t(tm, idx))), km(idx).numpy()
    assert np.abs(out_t - out_k).max() <= TOL


def test_char_lstm_parity_and_stateful_sampling():
    torch.manual_seed(0)
    tm, km = ttext.CharLSTM(41, n_embd=16, hidden=32, n_layers=2), ktext.CharLSTM(41, n_embd=16, hidden=32, n_layers=2)
    ktext.set_weights(km, ttext.get_weights(tm))
    idx = np.random.default_rng(3).integers(0, 41, (4, 12))
    full_t, full_k = _np(tm(_t(tm, idx))), km(idx).numpy()
    assert full_t.shape == (4, 12, 41) and np.abs(full_t - full_k).max() <= TOL
    # one character at a time with the state carried: the same logits
    st_t = st_k = None
    steps_t, steps_k = [], []
    for i in range(12):
        lt, st_t = tm(_t(tm, idx[:, i:i + 1]), st_t, return_state=True)
        lk, st_k = km(idx[:, i:i + 1], st_k, return_state=True)
        steps_t.append(_np(lt))
        steps_k.append(lk.numpy())
    assert np.abs(np.concatenate(steps_t, 1) - full_t).max() <= TOL
    assert np.abs(np.concatenate(steps_k, 1) - full_k).max() <= TOL


def _s2s_pair():
    torch.manual_seed(0)
    v = len(DateVocab())
    tm, km = ttext.Seq2Seq(v, v, n_embd=16, hidden=32), ktext.Seq2Seq(v, v, n_embd=16, hidden=32)
    ktext.set_weights(km, ttext.get_weights(tm))
    return tm, km


def test_seq2seq_parity_teacher_forced_and_greedy():
    tm, km = _s2s_pair()
    src, tgt_in, _ = encode_pairs(date_pairs(16, "test", seed=4))
    logits_t, att_t = tm(_t(tm, src), _t(tm, tgt_in))
    logits_k, att_k = km(src, tgt_in)
    assert logits_t.shape == (16, 11, len(DateVocab())) and att_t.shape == (16, 11, src.shape[1])
    assert np.abs(_np(logits_t) - logits_k.numpy()).max() <= TOL
    assert np.abs(_np(att_t) - att_k.numpy()).max() <= TOL
    # attention: a distribution over the real source characters, exactly 0 on PAD
    a = _np(att_t)
    assert np.allclose(a.sum(-1), 1.0, atol=1e-5)
    assert (a[np.broadcast_to((src == PAD)[:, None, :], a.shape)] == 0).all()
    ids_t, g_t = tm.greedy(src, 11, BOS, EOS)
    ids_k, g_k = km.greedy(src, 11, BOS, EOS)
    assert ids_t.shape == (16, 11) and g_t.shape == (16, 11, src.shape[1])
    assert np.array_equal(_np(ids_t), ids_k.numpy())
    assert np.abs(_np(g_t) - g_k.numpy()).max() <= TOL
    # greedy's first step is the teacher-forced first step (both start from BOS)
    assert np.array_equal(_np(ids_t)[:, 0], _np(logits_t)[:, 0].argmax(-1))


# ----------------------------------------------------------------------------------------------- per framework

FRAMEWORKS = ["torch", "tf"]


def _lib(fw):
    return (ttext, TORCH_OPS) if fw == "torch" else (ktext, TF_OPS)


def _run(fw, model, idx):
    return _np(model(_t(model, idx))) if fw == "torch" else model(idx).numpy()


@pytest.mark.parametrize("fw", FRAMEWORKS)
@pytest.mark.parametrize("rope", [True, False])
def test_kv_cache_matches_the_full_forward(fw, rope):
    lib, ops = _lib(fw)
    if fw == "torch":
        torch.manual_seed(0)
    model = lib.TinyGPT(_cfg(rope), **ops)
    idx = np.random.default_rng(5).integers(0, 97, (2, 24))
    full = _run(fw, model, idx)
    conv = (lambda a: _t(model, a)) if fw == "torch" else (lambda a: a)
    logits, caches = model.forward_cached(conv(idx[:, :7]), None)        # prefill the prompt
    outs = [_np(logits) if fw == "torch" else logits.numpy()]
    for t in range(7, 24):                                               # then one token at a time
        logits, caches = model.forward_cached(conv(idx[:, t:t + 1]), caches)
        outs.append(_np(logits) if fw == "torch" else logits.numpy())
    assert len(caches) == 2 and tuple(caches[0][0].shape) == (2, 4, 24, 8)
    assert np.abs(np.concatenate(outs, 1) - full).max() <= TOL
    if not rope:
        with pytest.raises(ValueError, match="block_size"):
            model.forward_cached(conv(idx[:, :9]), caches)              # positions 24..32 > block_size 32


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_the_model_calls_the_injected_functions(fw):
    lib, ops = _lib(fw)
    calls = {"attention": 0, "rope": 0}

    def attention(q, k, v):
        calls["attention"] += 1
        return ops["attention"](q, k, v)

    def rope(x, positions):
        calls["rope"] += 1
        return ops["rope"](x, positions)

    model = lib.TinyGPT(_cfg(), attention, rope)
    _run(fw, model, np.zeros((1, 5), np.int64))
    assert calls == {"attention": 2, "rope": 4}                           # per layer: one attention, rope on q and k
    leaky = lib.TinyGPT(_cfg(), lambda q, k, v: v, ops["rope"])           # an attention that ignores q and k
    assert leaky(_t(leaky, np.zeros((1, 4), np.int64)) if fw == "torch" else np.zeros((1, 4))).shape == (1, 4, 97)
    with pytest.raises(ValueError, match="rope"):
        lib.TinyGPT(_cfg(rope=True), ops["attention"])
    with pytest.raises(ValueError, match="cache_update"):
        lib.TinyGPT(_cfg(), ops["attention"], ops["rope"]).forward_cached(
            _t(model, np.zeros((1, 3))) if fw == "torch" else np.zeros((1, 3), np.int64), None)


@pytest.mark.parametrize("fw", FRAMEWORKS)
@pytest.mark.parametrize("kind", ["gpt", "lstm", "seq2seq"])
def test_one_training_step_lowers_the_loss(fw, kind):
    lib, ops = _lib(fw)
    rng = np.random.default_rng(6)
    if kind == "seq2seq":
        v = len(DateVocab())
        model = lib.Seq2Seq(v, v, n_embd=16, hidden=32)
        batch = encode_pairs(date_pairs(32, "train"))
        step = lib.make_seq2seq_step(model, lr=1e-2)
    else:
        model = lib.TinyGPT(_cfg(), **ops) if kind == "gpt" else lib.CharLSTM(97, n_embd=16, hidden=32)
        x = rng.integers(0, 97, (8, 32))
        batch = (x, np.roll(x, -1, axis=1))
        step = lib.make_lm_step(model, lr=1e-2)
    losses = [step(*batch) for _ in range(3)]
    assert all(isinstance(v, float) and np.isfinite(v) for v in losses)
    assert losses[1] < losses[0] and losses[2] < losses[1]
    if fw == "tf":
        assert step.trace_count() == 1, "equal shapes must not retrace the compiled step"


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_lora_trains_only_a_and_b_and_starts_as_the_base_model(fw):
    lib, ops = _lib(fw)
    model = lib.TinyGPT(_cfg(), **ops)
    idx = np.random.default_rng(7).integers(0, 97, (2, 16))
    base_out = _run(fw, model, idx)
    n_total = lib.count_params(model)
    assert lib.count_params(model, trainable_only=True) == n_total
    lib.apply_lora(model, rank=4, alpha=8.0)
    n_lora = 2 * (4 * (32 + 96) + 4 * (32 + 32))                          # layers x (qkv + proj) x r (in + out)
    assert lib.count_params(model, trainable_only=True) == n_lora
    assert lib.count_params(model) == n_total + n_lora
    if fw == "torch":
        names = [n for n, p in model.named_parameters() if p.requires_grad]
    else:
        names = [v.path for v in model.trainable_weights]
    assert names and all(re.search(r"lora_[ab]$", n) for n in names), names
    assert np.array_equal(_run(fw, model, idx), base_out), "B = 0: the LoRA model is the base model"
    with pytest.raises(ValueError, match="already"):
        lib.apply_lora(model)
    # a training step moves A and B only
    before = lib.get_weights(model)
    x = np.random.default_rng(8).integers(0, 97, (4, 16))
    step = lib.make_lm_step(model, lr=1e-2)
    step(x, np.roll(x, -1, 1))
    step(x, np.roll(x, -1, 1))
    after = lib.get_weights(model)
    changed = [not np.array_equal(a, b) for a, b in zip(before, after)]
    shapes = [a.shape for a in before]
    lora_idx = {i for i, s in enumerate(shapes) if 4 in s and len(s) == 2 and (s[0] == 4 or s[1] == 4)}
    assert {i for i, c in enumerate(changed) if c} == lora_idx


def test_genlab_implements_no_graded_exercise():
    """The chapter's exercises (causal mask, RoPE, KV-cache concatenation, top-p, perplexity, DPO, BPE) are
    written by students in the notebook: nothing they can import may implement them."""
    forbidden = ["tril", "triu", "band_part", "scaled_dot_product", "MultiHeadAttention", "multi_head_attention",
                 "cos(", "sin(", "top_p", "top-p", "perplexity", "logsigmoid", "log_sigmoid", "merges", "is_causal"]
    for path in ["genlab/text.py", "genlab/torch/text.py", "genlab/tf/text.py"]:
        src = (ROOT / path).read_text(encoding="utf-8")
        hits = [f for f in forbidden if f in src]
        assert not hits, f"{path} contains {hits}"


def test_tf_cached_decoding_inside_one_tf_function_traced_for_any_length():
    """The chapter compiles forward_cached with reduce_retracing=True (one trace for every cache length, so the time
    axis is unknown while tracing): the cached logits still equal the full forward's, and a RoPE model runs past
    block_size (no position table), as the notebook's 256-token timing needs."""
    model = ktext.TinyGPT(_cfg(True), **TF_OPS)
    idx = np.random.default_rng(6).integers(0, 97, (1, 40))                   # 40 > block_size 32
    full = tf.function(lambda t: model(t, training=False), reduce_retracing=True)
    step = tf.function(model.forward_cached, reduce_retracing=True)
    logits, caches = step(tf.constant(idx[:, :5]), None)
    outs = [logits.numpy()]
    for t in range(5, 40):
        logits, caches = step(tf.constant(idx[:, t:t + 1]), caches)
        outs.append(logits.numpy())
    assert np.abs(np.concatenate(outs, 1) - full(tf.constant(idx)).numpy()).max() <= TOL
    assert step.experimental_get_tracing_count() <= 4                        # not one trace per token


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_rope_models_run_past_block_size_and_learned_positions_do_not(fw):
    lib, ops = _lib(fw)
    idx = np.random.default_rng(7).integers(0, 97, (1, 40))                   # block_size is 32
    assert _run(fw, lib.TinyGPT(_cfg(True), **ops), idx).shape == (1, 40, 97)
    with pytest.raises(ValueError, match="block_size"):
        _run(fw, lib.TinyGPT(_cfg(False), **ops), idx)


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_set_lr_drives_the_training_steps(fw):
    """The chapter's schedules call step.set_lr: at 0 a step changes no weight (AdamW's decay is scaled by lr too)."""
    lib, ops = _lib(fw)
    model = lib.TinyGPT(_cfg(True), **ops)
    x = np.random.default_rng(8).integers(0, 97, (2, 16))
    step = lib.make_lm_step(model, lr=1e-2)
    step.set_lr(0.0)
    before = lib.get_weights(model)
    step(x[:, :-1], x[:, 1:])
    assert all(np.array_equal(a, b) for a, b in zip(before, lib.get_weights(model)))
    step.set_lr(1e-2)
    step(x[:, :-1], x[:, 1:])
    assert any(not np.array_equal(a, b) for a, b in zip(before, lib.get_weights(model)))
