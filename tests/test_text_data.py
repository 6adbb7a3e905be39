"""Chapter 05_text's data (genlab.text, NumPy only): the checksummed bank corpus and its item split, the
character vocabulary, training windows, the time budget, and the date task (formats parse back to their
ISO targets, weekdays are right, train and test are disjoint by date)."""
import datetime as dt
import hashlib
import re

import numpy as np
import pytest

from genlab import text
from genlab.text import (BOS, EOS, PAD, SRC_LEN, TGT_LEN, CharVocab, DateVocab, date_pairs, encode_pairs,
                         load_corpus, random_windows, time_budget)

ROOT = text.CORPUS_PATH.parents[1]
HAN = re.compile(r"[\u4e00-\u9fff]")


def _file_blocks():
    """(item, lang, body) parsed from the shipped file independently of genlab."""
    raw = text.CORPUS_PATH.read_text(encoding="utf-8")
    out = []
    for chunk in raw.rstrip("\n").split("\n\n"):
        header, _, body = chunk.partition("\n")
        m = re.fullmatch(r"@@ ([a-z0-9-]+) (zh|en)", header)
        assert m, f"block without a header line: {chunk[:80]!r}"
        out.append((m.group(1), m.group(2), body))
    return out


def test_checksum_matches_the_file_and_the_datasheet():
    digest = hashlib.sha256(text.CORPUS_PATH.read_bytes()).hexdigest()
    assert digest == text.CORPUS_SHA256
    sheet = (ROOT / "datasets" / "bank_text.md").read_text(encoding="utf-8")
    assert text.CORPUS_SHA256 in sheet
    assert f"{text.CORPUS_PATH.stat().st_size:,}" in sheet  # the size the datasheet states


def test_a_changed_corpus_is_refused(tmp_path, monkeypatch):
    bad = tmp_path / "bank_text.txt"
    bad.write_bytes(text.CORPUS_PATH.read_bytes().replace("答：".encode(), "答:".encode(), 1))
    monkeypatch.setattr(text, "CORPUS_PATH", bad)
    text._blocks.cache_clear()
    try:
        with pytest.raises(ValueError, match="sha256"):
            load_corpus("train")
    finally:
        monkeypatch.undo()
        text._blocks.cache_clear()


def test_file_format_every_item_has_a_chinese_then_an_english_block():
    blocks = _file_blocks()
    assert len(blocks) % 2 == 0 and len(blocks) >= 600
    for (i1, l1, b1), (i2, l2, b2) in zip(blocks[0::2], blocks[1::2]):
        assert i1 == i2 and (l1, l2) == ("zh", "en")
        assert b1.startswith("问：") and "\n答：" in b1 and HAN.search(b1)
        assert b2.startswith("Q: ") and "\nA: " in b2
        assert "\n\n" not in b1 and "\n\n" not in b2
    assert text.corpus_items() == [i for i, _, _ in blocks[0::2]]


def test_splits_are_by_item_deterministic_and_about_90_10():
    blocks = _file_blocks()
    train, val = load_corpus("train"), load_corpus("val")
    assert load_corpus("train") == train and load_corpus("val") == val
    train_blocks, val_blocks = set(train.split("\n\n")), set(val.split("\n\n"))
    assert not train_blocks & val_blocks
    in_val = {}
    for item, lang, body in blocks:
        assert (body in train_blocks) != (body in val_blocks), f"{item} {lang} must be in exactly one split"
        in_val.setdefault(item, set()).add(body in val_blocks)
    assert all(len(v) == 1 for v in in_val.values()), "an item's zh and en blocks must share a split"
    n_val = sum(v == {True} for v in in_val.values())
    assert n_val == round(0.1 * len(in_val))
    assert "@@" not in train and "@@" not in val  # headers are not part of the text


@pytest.mark.parametrize("split", ["train", "val"])
def test_both_languages_in_each_split(split):
    zh, en, both = load_corpus(split, "zh"), load_corpus(split, "en"), load_corpus(split)
    assert HAN.search(zh) and zh.startswith("问：") and "\nQ: " not in zh
    assert en.startswith("Q: ") and "问：" not in en
    assert sorted(both.split("\n\n")) == sorted(zh.split("\n\n") + en.split("\n\n"))
    assert len(both) == len(zh) + len(en) + 2


@pytest.mark.parametrize("args", [("test",), ("training",), ("train", "fr"), ("train", "ZH")])
def test_bad_arguments_are_rejected(args):
    with pytest.raises(ValueError):
        load_corpus(*args)


def test_char_vocab_round_trip_and_unknown():
    corpus = load_corpus("train")
    vocab = CharVocab.from_text(corpus)
    assert len(vocab) == len(set(corpus)) + 1 and vocab.chars == sorted(set(corpus))
    ids = vocab.encode(corpus[:5000])
    assert ids.dtype == np.int64 and ids.min() >= 1 and vocab.decode(ids) == corpus[:5000]
    assert vocab.encode("a\u2603b")[1] == 0 and vocab.decode([0]) == CharVocab.UNK_CHAR
    with pytest.raises(ValueError):
        vocab.decode([len(vocab)])


def test_random_windows_shift_by_one():
    ids = np.arange(1000, dtype=np.int64)
    x, y = random_windows(ids, 16, 8, np.random.default_rng(0))
    assert x.shape == y.shape == (8, 16) and x.dtype == y.dtype == np.int64
    assert np.array_equal(y, x + 1)
    x2, _ = random_windows(ids, 16, 8, np.random.default_rng(0))
    assert np.array_equal(x, x2)
    with pytest.raises(ValueError):
        random_windows(ids[:16], 16, 8, np.random.default_rng(0))


def test_time_budget_counts_steps_and_seconds():
    budget = time_budget(30, max_steps=5, desc="t")
    assert [s for s in budget] == [0, 1, 2, 3, 4]
    assert budget.steps == 5 and 0 <= budget.elapsed < 30
    short = time_budget(0.05)
    for _ in short:
        pass
    assert short.steps >= 1 and short.elapsed >= 0.05
    with pytest.raises(ValueError):
        time_budget(0)


# ----------------------------------------------------------------------------------------------- dates

MONTHS = {m.lower(): i + 1 for i, m in enumerate(text.MONTHS)}
MONTHS.update({m[:3].lower(): i + 1 for i, m in enumerate(text.MONTHS)})
ZH_DIGIT = {c: i for i, c in enumerate("〇一二三四五六七八九")}


def _zh_num(s):
    if "十" not in s:
        return int("".join(str(ZH_DIGIT[c]) for c in s))
    tens, _, ones = s.partition("十")
    return (ZH_DIGIT[tens] if tens else 1) * 10 + (ZH_DIGIT[ones] if ones else 0)


def parse_back(source: str) -> tuple[dt.date, str | None]:
    """An independent parser for the formats: -> (date, weekday name or None)."""
    s = source.strip()
    wd = None
    m = re.fullmatch(r"(\d{4})年(\d{1,2})月(\d{1,2})日(?:\s*(?:星期|周)([一二三四五六日]))?", s)
    if m:
        wd = None if m.group(4) is None else text.WEEKDAYS["一二三四五六日".index(m.group(4))]
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))), wd
    m = re.fullmatch(r"([〇一二三四五六七八九]{4})年([一二三四五六七八九十]+)月([一二三四五六七八九十]+)日", s)
    if m:
        return dt.date(_zh_num(m.group(1)), _zh_num(m.group(2)), _zh_num(m.group(3))), None
    m = re.fullmatch(r"(\d{4})/(\d{1,2})/(\d{1,2})", s)
    if m:
        return dt.date(*map(int, m.groups())), None
    m = re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4})", s)  # European: day first
    if m:
        return dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1))), None
    m = re.fullmatch(r"(\d{4})(\d{2})(\d{2})", s)
    if m:
        return dt.date(*map(int, m.groups())), None
    m = re.fullmatch(r"(?:([A-Za-z]+),? )?([A-Za-z]+) (\d{1,2})(?:st|nd|rd|th)?,? (\d{4})", s)  # month first
    if m and m.group(2).lower() in MONTHS:
        wd = m.group(1)
        return dt.date(int(m.group(4)), MONTHS[m.group(2).lower()], int(m.group(3))), wd
    m = re.fullmatch(r"(?:([A-Za-z]+) )?(\d{1,2})(?:st|nd|rd|th)?(?: of |-| )([A-Za-z]+),?[- ](\d{4})", s)  # day first
    if m and m.group(3).lower() in MONTHS:
        return dt.date(int(m.group(4)), MONTHS[m.group(3).lower()], int(m.group(2))), m.group(1)
    raise AssertionError(f"cannot parse {source!r}")


def test_every_format_parses_back_on_the_example_date():
    d = dt.date(2021, 3, 3)
    for name, fmt in text.DATE_FORMATS.items():
        assert fmt(d) == name, "each format's name is the format applied to 3 March 2021"
        assert parse_back(fmt(d))[0] == d
    assert text.DATE_FORMATS["二〇二一年三月三日"](dt.date(1999, 12, 31)) == "一九九九年十二月三十一日"
    assert text.DATE_FORMATS["2021年3月3日星期三"](dt.date(2026, 12, 3)) == "2026年12月3日星期四"
    assert text.DATE_FORMATS["3rd of March, 2021"](dt.date(2021, 3, 11)) == "11th of March, 2021"
    assert text.DATE_FORMATS["3rd of March, 2021"](dt.date(2021, 3, 22)) == "22nd of March, 2021"


@pytest.mark.parametrize("split", ["train", "test"])
def test_date_pairs_targets_are_the_sources_dates(split):
    pairs = date_pairs(3000, split, seed=1)
    assert pairs == date_pairs(3000, split, seed=1)
    assert len({s for s, _ in pairs}) > 2500
    seen_formats = set()
    for source, target in pairs:
        iso = dt.date.fromisoformat(target)
        assert target == iso.isoformat() and text.FIRST_DATE <= iso <= text.LAST_DATE
        parsed, weekday = parse_back(source)
        assert parsed == iso, (source, target)
        if weekday is not None:
            full = text.WEEKDAYS[iso.weekday()]
            assert weekday in (full, full[:3]), f"wrong weekday in {source!r} for {target}"
        seen_formats.add(re.sub(r"\d", "9", source)[:4])
        assert text.is_test_date(iso) == (split == "test")
    assert any(HAN.search(s) for s, _ in pairs) and any(s[0].isalpha() and s.isascii() for s, _ in pairs)


def test_train_and_test_are_disjoint_by_date_and_about_10_percent():
    train = {t for _, t in date_pairs(20000, "train")}
    test = {t for _, t in date_pairs(3000, "test")}
    assert not train & test
    days = [dt.date(1900, 1, 1) + dt.timedelta(days=i) for i in range(0, 73000, 7)]
    frac = np.mean([text.is_test_date(d) for d in days])
    assert 0.08 < frac < 0.12
    with pytest.raises(ValueError):
        date_pairs(5, "val")


def test_encode_pairs_and_date_vocab_round_trip():
    vocab = DateVocab()
    assert (vocab.PAD, vocab.BOS, vocab.EOS, vocab.UNK) == (PAD, BOS, EOS, 3) == (0, 1, 2, 3)
    pairs = date_pairs(500, "train") + [("Wednesday, September 30, 2099", "2099-09-30")]
    src, tgt_in, tgt_out = encode_pairs(pairs, vocab)
    assert src.shape == (len(pairs), SRC_LEN) and tgt_in.shape == tgt_out.shape == (len(pairs), TGT_LEN)
    assert src.dtype == tgt_in.dtype == tgt_out.dtype == np.int64
    assert (tgt_in[:, 0] == BOS).all() and (tgt_out[:, 10] == EOS).all()
    assert np.array_equal(tgt_in[:, 1:], tgt_out[:, :-1])
    assert not (src == vocab.UNK).any()
    for (s, t), row_s, row_t in zip(pairs, src, tgt_out):
        assert vocab.decode(row_s) == s and vocab.decode(row_t) == t
        assert (row_s[len(s):] == PAD).all() and (row_s[:len(s)] != PAD).all()
    with pytest.raises(ValueError):
        encode_pairs([("x" * (SRC_LEN + 1), "2000-01-01")])
