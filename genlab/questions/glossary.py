"""The bilingual glossary (``questions/glossary.yaml``): one preferred Chinese term per concept.

::

    terms:
      - concept: model collapse            # what the entry is about (English, unique)
        en: model collapse                 # the English term
        zh: 模型崩溃                        # the preferred Chinese term
        variants: [模型坍塌, 模型坍缩]       # other renderings it replaces
        note: ...                          # optional: why, and what it must not be confused with

``genlab questions --check`` reports every variant found in any Chinese text of any item
(question, answer, wrong answers, follow-ups). Code (fenced blocks and inline backticks) is
not checked, nor is a variant written as a gloss in brackets right after the preferred
term (``KV 缓存（KV cache）``). Occurrences of preferred terms are masked before variants are
searched, so a variant never matches inside another entry's preferred term; ASCII variants
match case-insensitively. The glossary itself is checked: a variant may not equal or contain
any preferred term, and no preferred term may contain a variant (either would flag correct
usage; that is why 模式坍塌 "mode collapse" and 模型崩溃 "model collapse" are separate entries
whose variants are exact strings).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

GLOSSARY_FILE = "glossary.yaml"
_TERM_KEYS = {"concept", "en", "zh", "variants", "note"}


@dataclass(frozen=True)
class Term:
    concept: str
    en: str
    zh: str
    variants: tuple[str, ...]
    note: str = ""


def load_glossary(path: Path | str) -> tuple[list[Term], list[str]]:
    """(terms, errors) of a glossary file; a missing file is an empty glossary."""
    path = Path(path)
    label = f"questions/{path.name}"
    if not path.exists():
        return [], []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        return [], [f"{label}: not valid YAML: {exc}".replace("\n", " ")]
    raw = data.get("terms") if isinstance(data, dict) else None
    if not isinstance(raw, list):
        return [], [f"{label}: the top level must be a mapping with a 'terms' list"]
    terms: list[Term] = []
    errors: list[str] = []
    for i, t in enumerate(raw, 1):
        where = f"{label}: term #{i}"
        if not isinstance(t, dict):
            errors.append(f"{where}: must be a mapping")
            continue
        extra = sorted(set(map(str, t)) - _TERM_KEYS)
        if extra:
            errors.append(f"{where}: unknown key(s) {', '.join(extra)}")
        vals = {k: t.get(k) for k in ("concept", "en", "zh")}
        if not all(isinstance(v, str) and v.strip() for v in vals.values()):
            errors.append(f"{where}: concept, en and zh must be non-empty strings")
            continue
        variants = t.get("variants") or []
        if not isinstance(variants, list) or not all(isinstance(v, str) and v.strip() for v in variants):
            errors.append(f"{where} ({vals['concept']}): variants must be a list of non-empty strings")
            continue
        terms.append(Term(vals["concept"].strip(), vals["en"].strip(), vals["zh"].strip(),
                          tuple(v.strip() for v in variants), str(t.get("note") or "").strip()))
    errors += _self_check(terms, label)
    return terms, errors


def _self_check(terms: list[Term], label: str) -> list[str]:
    errors = []
    seen: dict[str, str] = {}
    for t in terms:
        if t.concept in seen:
            errors.append(f"{label}: concept {t.concept!r} is listed twice")
        seen[t.concept] = t.zh
    preferred = [t.zh for t in terms]
    for t in terms:
        for v in t.variants:
            for p in preferred:
                if _contains(v, p):
                    errors.append(f"{label}: {t.concept}: variant {v!r} contains the preferred term {p!r}")
                if _contains(p, v):
                    errors.append(f"{label}: {t.concept}: variant {v!r} occurs inside the preferred term {p!r} "
                                  "(it would flag correct usage)")
    return errors


def _contains(text: str, part: str) -> bool:
    return part.lower() in text.lower() if part.isascii() else part in text


_FENCE_RE = re.compile(r"```.*?```|~~~.*?~~~", re.S)
_INLINE_CODE_RE = re.compile(r"`[^`\n]*`")


def _mask(text: str, start: int, end: int) -> str:
    return text[:start] + "\0" * (end - start) + text[end:]


def find_variants(text: str, terms: list[Term]) -> list[tuple[str, Term]]:
    """The (variant, term) pairs used in ``text`` (each variant reported once)."""
    for rx in (_FENCE_RE, _INLINE_CODE_RE):
        text = rx.sub(lambda m: "\0" * len(m.group(0)), text)
    for t in terms:  # preferred terms, with a bracketed gloss right after them, are fine
        rx = re.compile(re.escape(t.zh) + r"(?:\s*[（(][^）)\n]{0,40}[）)])?")
        text = rx.sub(lambda m: "\0" * len(m.group(0)), text)
    found = []
    for t in terms:
        for v in t.variants:
            flags = re.IGNORECASE if v.isascii() else 0
            pattern = re.escape(v)
            if v.isascii() and v[:1].isalnum():
                pattern = r"(?<![A-Za-z0-9_])" + pattern + r"(?![A-Za-z0-9_])"
            if re.search(pattern, text, flags):
                found.append((v, t))
    return found


def item_texts_zh(item) -> list[tuple[str, str]]:
    """(field name, Chinese text) of every bilingual field of an item."""
    out = [("question", item.question.zh), ("answer", item.answer.zh)]
    out += [(f"wrong_answers[{i}]", w.zh) for i, w in enumerate(item.wrong_answers, 1)]
    out += [(f"follow_ups[{i}]", f.zh) for i, f in enumerate(item.follow_ups, 1)]
    return out


def check_items(items, terms: list[Term]) -> list[str]:
    """One error per (item, field, variant): the variant and the preferred term to use."""
    errors = []
    for it in items:
        for name, text in item_texts_zh(it):
            for v, t in find_variants(text, terms):
                errors.append(f"{it.file}: item {it.id!r} (#{it.index}): {name}.zh uses {v!r}; the glossary "
                              f"term for '{t.en}' is {t.zh!r} (questions/{GLOSSARY_FILE})")
    return errors


def heading_variants(source: str, terms: list[Term]) -> list[tuple[int, str, str, Term]]:
    """(line number, heading, variant, term) for the Chinese part of markdown headings of a
    jupytext percent script (``# %% [markdown]`` cells; the text after `` · `` of a line
    starting with ``#`` once the comment marker is removed)."""
    out = []
    in_md = False
    for n, line in enumerate(source.splitlines(), 1):
        if line.startswith("# %%"):
            in_md = "[markdown]" in line
            continue
        if not in_md or not line.startswith("#"):
            continue
        md = line[1:].lstrip(" ") if line.startswith("# ") or line == "#" else line[1:]
        if not md.startswith("#") or " · " not in md:
            continue
        zh = md.split(" · ", 1)[1]
        for v, t in find_variants(zh, terms):
            out.append((n, md.strip(), v, t))
    return out
