"""Near-duplicate items: a cheap TF-IDF cosine over ids and English questions.

Each item becomes a bag of words: its English question (lowercased, maths ``$...$`` and
inline code removed, a short stop-word list dropped, a trailing plural ``s`` stripped) plus
the words of its id after the chapter prefix, counted twice (``errata`` and ``code`` are
dropped: they name the item's kind, not its topic). Words are weighted by TF-IDF over the
items being checked and two items are compared by cosine similarity. A pair is reported when

* the similarity is at least :data:`THRESHOLD` (0.6), or
* both items are ``errata``, they are in different chapters, cite a common seed and the
  similarity is at least :data:`ERRATA_THRESHOLD` (0.4): the same seed mistake taught twice;

and the pair is not in :data:`RELATED_PAIRS`. A concept item and a code item of the same
chapter (``eval-fid`` and ``eval-fid-code``) are a deliberate pattern and are not compared.

The thresholds were set on the 323-item bank of issue 19: every pair at 0.6 or above was a
real duplicate (both kv-cache items, the two top-p implementations, the two attention
questions, both "likelihood vs sample quality" items, ...) except the pairs listed below,
which ask related but different things.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from itertools import combinations

from .seeds import ID_PREFIXES

THRESHOLD = 0.6
ERRATA_THRESHOLD = 0.4

#: Pairs that are similar by words but deliberately ask different things (keep it short).
RELATED_PAIRS: dict[frozenset[str], str] = {
    frozenset({"vae-training-step-code", "gan-training-step-code"}):
        "one training step of each model family: different losses and pitfalls",
    frozenset({"vae-training-step-code", "diffusion-training-step-code"}):
        "one training step of each model family: different losses and pitfalls",
    frozenset({"gan-training-step-code", "diffusion-training-step-code"}):
        "one training step of each model family: different losses and pitfalls",
    frozenset({"diffusion-classifier-free-guidance", "diffusion-classifier-guidance"}):
        "two different guidance methods (one needs a classifier, one does not)",
    frozenset({"privacy-synthetic-data", "data-synthetic-training-data"}):
        "privacy of shared synthetic data vs. training models on generated data",
    frozenset({"foundations-top-k-top-p", "text-top-p-code"}):
        "why truncate the distribution (concept) vs. implementing the nucleus (code)",
}

_STOP = frozenset(
    "a an the of and or to in is are what how do does why for with on its it be by as at from that this "
    "which you your each when can not give write explain compare describe".split())
_WORD_RE = re.compile(r"[a-z][a-z0-9]+")
_KIND_WORDS = frozenset({"errata", "code"})


def _norm(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


def _words(text: str) -> list[str]:
    text = re.sub(r"\$[^$]*\$", " ", text.lower())
    text = re.sub(r"`[^`]*`", " ", text)
    return [_norm(w) for w in _WORD_RE.findall(text) if w not in _STOP]


def id_stem(item_id: str, chapter: str) -> str:
    """The id without its chapter prefix (``foundations-kv-cache`` -> ``kv-cache``)."""
    for p in sorted(ID_PREFIXES.get(chapter, ()), key=len, reverse=True):
        if item_id.startswith(p + "-"):
            return item_id[len(p) + 1:]
    return item_id


def _bag(item) -> Counter:
    words = _words(item.question.en)
    words += [_norm(w) for w in id_stem(item.id, item.chapter).split("-") if w not in _KIND_WORDS] * 2
    return Counter(words)


def similarities(items) -> dict[tuple[str, str], float]:
    """Cosine similarity of every compared pair, keyed by (id, id) in bank order."""
    items = list(items)
    bags = [_bag(it) for it in items]
    df = Counter(w for b in bags for w in b)
    n = len(items)
    vecs = []
    for b in bags:
        v = {w: c * math.log(n / df[w]) for w, c in b.items() if df[w] < n}
        norm = math.sqrt(sum(x * x for x in v.values())) or 1.0
        vecs.append({w: x / norm for w, x in v.items()})
    out = {}
    for (i, a), (j, b) in combinations(enumerate(items), 2):
        if a.chapter == b.chapter and a.kind != b.kind:
            continue
        va, vb = vecs[i], vecs[j]
        if len(vb) < len(va):
            va, vb = vb, va
        out[(a.id, b.id)] = sum(x * vb.get(w, 0.0) for w, x in va.items())
    return out


def near_duplicates(items, allowed: dict[frozenset[str], str] | None = None):
    """[(item a, item b, similarity)] of the pairs that look like duplicates, most similar first."""
    allowed = RELATED_PAIRS if allowed is None else allowed
    items = list(items)
    by_id = {it.id: it for it in items}
    found = []
    for (ia, ib), s in similarities(items).items():
        if frozenset({ia, ib}) in allowed:
            continue
        a, b = by_id[ia], by_id[ib]
        errata_twin = (a.kind == b.kind == "errata" and a.chapter != b.chapter
                       and set(a.seeds) & set(b.seeds) and s >= ERRATA_THRESHOLD)
        if s >= THRESHOLD or errata_twin:
            found.append((a, b, s))
    found.sort(key=lambda t: -t[2])
    return found


def duplicate_errors(items) -> list[str]:
    out = []
    for a, b, s in near_duplicates(items):
        out.append(f"{b.file}: item {b.id!r} (#{b.index}): nearly duplicates {a.id!r} ({a.file}, similarity "
                   f"{s:.2f}): merge them, make them ask different things, or list the pair in RELATED_PAIRS "
                   "(genlab/questions/similarity.py) with the reason")
    return out
