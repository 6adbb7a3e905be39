"""Text metrics: perplexity, bits per character, corpus BLEU (Papineni et al., ACL 2002)."""
from __future__ import annotations

import math
from collections import Counter
from typing import Sequence

import numpy as np

from genlab.metrics._checks import as_float64, positive_int

LN2 = math.log(2.0)


def _mean_nll(nll, name: str) -> float:
    x = as_float64(nll, name)
    if x.min() < 0:
        raise ValueError(f"{name} has negative values: a negative log-likelihood of a discrete symbol is >= 0 "
                         "(pass -log p in nats, not log p)")
    return float(x.mean())


def perplexity(nll_nats_per_token) -> float:
    """Perplexity = exp(mean NLL): the effective number of equally likely choices per token.

    Input: per-token negative log-likelihoods ``-ln p(token | context)`` in nats, any shape (all
    elements are averaged; a scalar is taken as the mean already). A uniform model over V symbols
    has NLL ln V per token and perplexity V. Output: float >= 1. Raises ``ValueError`` for empty
    input, NaN/inf or negative values (log-likelihoods with the sign flipped, or bits, are the
    usual mistakes: convert bits with ``nll_bits * ln 2``).
    """
    return float(math.exp(_mean_nll(nll_nats_per_token, "nll_nats_per_token")))


def bits_per_character(nll_nats_per_char) -> float:
    """Bits per character = mean NLL / ln 2 (the NLL per character, converted from nats to bits).

    Input: per-character NLLs ``-ln p(char | context)`` in nats, any shape (averaged; a scalar is
    taken as the mean). A uniform model over V symbols gives log2 V; 2 ** bpc is the per-character
    perplexity. For a word- or subword-level model divide the total NLL by the number of characters
    first (bpc compares models with different tokenisers; perplexity does not). Output: float >= 0.
    Raises ``ValueError`` for empty input, NaN/inf or negative values.
    """
    return _mean_nll(nll_nats_per_char, "nll_nats_per_char") / LN2


def _ngrams(tokens: Sequence[str], n: int) -> Counter:
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def corpus_bleu(hypotheses: Sequence[str], references: Sequence[str | Sequence[str]], max_n: int = 4,
                smooth: str = "none") -> float:
    """Corpus-level BLEU in [0, 1] (multiply by 100 for the usual 0..100 scale).

    BLEU = BP * exp(1/N sum_{n=1..N} log p_n), N = ``max_n``, where p_n = clipped n-gram matches /
    hypothesis n-grams, both summed over the corpus (clipping: a hypothesis n-gram counts at most
    as often as in the reference that has it most), and BP = min(1, exp(1 - r/c)) with c the total
    hypothesis length and r the sum over sentences of the reference length closest to the
    hypothesis length (ties -> the shorter reference).

    Tokenisation: whitespace (``str.split()``), nothing else (no lower-casing, no punctuation
    splitting): tokenise beforehand if you need to. This equals sacrebleu's
    ``corpus_bleu(..., tokenize="none", smooth_method=smooth, force=True).score / 100`` with
    ``max_ngram_order=max_n``.

    ``smooth``: ``"none"`` -> 0 when some order has no match (standard corpus BLEU);
    ``"exp"`` -> the k-th order without matches gets precision 1 / (2^k * total_n) (NIST mteval
    smoothing, sacrebleu's default; useful for short corpora).

    Inputs: ``hypotheses`` list of strings; ``references`` one entry per hypothesis, either a string
    or a list of alternative reference strings (this is the per-hypothesis layout of NLTK; sacrebleu
    takes the transpose, one list per reference "stream"). Raises ``ValueError`` for different
    lengths, an empty corpus, non-string entries, a hypothesis without references, bad options.
    """
    max_n = positive_int(max_n, "max_n")
    if smooth not in ("none", "exp"):
        raise ValueError(f"smooth must be 'none' or 'exp', got {smooth!r}")
    if isinstance(hypotheses, str) or isinstance(references, str):
        raise ValueError("hypotheses and references must be lists (one entry per sentence), not a single string")
    hypotheses, references = list(hypotheses), list(references)
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} reference entries")
    if not hypotheses:
        raise ValueError("empty corpus")
    correct = np.zeros(max_n)
    total = np.zeros(max_n)
    hyp_len = ref_len = 0
    for i, (hyp, refs) in enumerate(zip(hypotheses, references)):
        refs = [refs] if isinstance(refs, str) else list(refs)
        if not isinstance(hyp, str) or not refs or not all(isinstance(r, str) for r in refs):
            raise ValueError(f"sentence {i}: a hypothesis must be a string and its references a non-empty list "
                             "of strings")
        h = hyp.split()
        ref_toks = [r.split() for r in refs]
        hyp_len += len(h)
        ref_len += min((abs(len(r) - len(h)), len(r)) for r in ref_toks)[1]
        for n in range(1, max_n + 1):
            hc = _ngrams(h, n)
            if not hc:
                continue
            best: Counter = Counter()
            for r in ref_toks:
                best |= _ngrams(r, n)  # element-wise max over references
            correct[n - 1] += sum(min(c, best[g]) for g, c in hc.items())
            total[n - 1] += sum(hc.values())
    if hyp_len == 0:
        return 0.0
    log_p = 0.0
    k = 0
    for n in range(max_n):
        if total[n] == 0:  # hypotheses shorter than n tokens everywhere: undefined -> 0 (as sacrebleu)
            return 0.0
        if correct[n] == 0:
            if smooth == "none":
                return 0.0
            k += 1
            log_p += math.log(1.0 / (2 ** k * total[n]))
        else:
            log_p += math.log(correct[n] / total[n])
    bp = 1.0 if hyp_len > ref_len else math.exp(1.0 - ref_len / hyp_len)
    return float(bp * math.exp(log_p / max_n))
