"""Language-model data for chapter 05_text, framework-neutral (NumPy only, no framework import).

- The corpus: a frozen snapshot of the course's own bilingual interview bank (``datasets/bank_text.txt``,
  datasheet ``datasets/bank_text.md``, written by ``tools/make_text_corpus.py``), checked against
  :data:`CORPUS_SHA256` on load and split by ITEM (both language blocks of an item in the same split).
- :class:`CharVocab`: characters -> ids (id 0 = unknown).
- :func:`random_windows`: random (x, y) training windows, y = x shifted by one.
- :class:`time_budget`: a training loop that stops on a wall-clock budget, with a tqdm bar.
- :class:`GPTConfig`: the tiny GPT's configuration, shared by ``genlab.torch.text`` and ``genlab.tf.text``.
- The date task of the seq2seq section: :func:`date_pairs` (human-written dates -> ISO 8601),
  :class:`DateVocab` and :func:`encode_pairs`.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

__all__ = ["CORPUS_PATH", "CORPUS_SHA256", "VAL_FRACTION", "SPLIT_SEED", "load_corpus", "corpus_items",
           "CharVocab", "random_windows", "time_budget", "GPTConfig", "date_pairs", "date_formats",
           "DATE_FORMATS", "DateVocab", "encode_pairs", "PAD", "BOS", "EOS", "UNK", "SRC_LEN", "TGT_LEN",
           "is_test_date"]

CORPUS_PATH = Path(__file__).resolve().parents[1] / "datasets" / "bank_text.txt"
CORPUS_SHA256 = "28c4fc642a36bd8709902c6c05462c767b62f40d574578ea27d0206df0d259b7"
SPLIT_SEED = 0  # numpy.random.RandomState(0).permutation(n_items): a legacy stream, frozen across NumPy versions
VAL_FRACTION = 0.1
_HEADER = "@@ "
_LANGS = ("zh", "en")


# ----------------------------------------------------------------------------------------------- the corpus

@lru_cache(maxsize=1)
def _blocks() -> tuple[tuple[str, str, str], ...]:
    """(item_id, language, text) for every block of the shipped file, in file order (checksum verified)."""
    data = CORPUS_PATH.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != CORPUS_SHA256:
        raise ValueError(f"{CORPUS_PATH} has sha256 {digest}, expected {CORPUS_SHA256}: the shipped corpus "
                         "changed (regenerate on purpose with tools/make_text_corpus.py and update "
                         "genlab.text.CORPUS_SHA256 and datasets/bank_text.md)")
    out = []
    for chunk in data.decode("utf-8").split("\n\n" + _HEADER):
        chunk = chunk.removeprefix(_HEADER)
        header, _, body = chunk.partition("\n")
        item_id, lang = header.split(" ")
        out.append((item_id, lang, body.rstrip("\n")))
    return tuple(out)


def corpus_items() -> list[str]:
    """The item ids of the corpus, in file order (each has one ``zh`` and one ``en`` block)."""
    return list(dict.fromkeys(item for item, _, _ in _blocks()))


def _split_of_items() -> dict[str, str]:
    items = corpus_items()
    perm = np.random.RandomState(SPLIT_SEED).permutation(len(items))
    n_val = int(round(VAL_FRACTION * len(items)))
    val = {items[i] for i in perm[:n_val]}
    return {item: "val" if item in val else "train" for item in items}


def load_corpus(split: str = "train", language: str | None = None) -> str:
    """The text of one split of the bank corpus: the chosen blocks in file order, joined by blank lines.

    ``split`` is ``"train"`` (about 90% of the items) or ``"val"`` (the rest), fixed by a seeded
    permutation of the ITEMS, so an item's Chinese and English blocks always fall in the same split
    (no translation of a validation answer leaks into training). ``language`` is None (both, each item's
    Chinese block then its English block), ``"zh"`` or ``"en"``. The header lines of the file are dropped.
    """
    if split not in ("train", "val"):
        raise ValueError(f"split must be 'train' or 'val', got {split!r}")
    if language is not None and language not in _LANGS:
        raise ValueError(f"language must be None, 'zh' or 'en', got {language!r}")
    which = _split_of_items()
    return "\n\n".join(text for item, lang, text in _blocks()
                       if which[item] == split and (language is None or lang == language))


# ----------------------------------------------------------------------------------------------- characters

class CharVocab:
    """Characters <-> integer ids. Id 0 is reserved for characters the vocabulary has not seen
    (decoded as U+FFFD); the known characters get ids 1..n in sorted (code point) order."""

    UNK = 0
    UNK_CHAR = "\ufffd"

    def __init__(self, chars):
        chars = list(chars)
        if len(set(chars)) != len(chars):
            raise ValueError("CharVocab characters must be unique")
        self.chars = chars
        self.stoi = {c: i + 1 for i, c in enumerate(chars)}
        self._itos = np.array([self.UNK_CHAR] + chars, dtype=object)

    @classmethod
    def from_text(cls, text: str) -> "CharVocab":
        """The sorted set of characters of ``text``."""
        return cls(sorted(set(text)))

    def __len__(self) -> int:  # the number of ids, the unknown id included
        return len(self.chars) + 1

    def encode(self, text: str) -> np.ndarray:
        """str -> int64 array (T,); unseen characters become 0."""
        get = self.stoi.get
        return np.fromiter((get(c, 0) for c in text), dtype=np.int64, count=len(text))

    def decode(self, ids) -> str:
        """A sequence of ids (list, NumPy array, 1-D tensor converted by the caller) -> str."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if ids.size and (ids.min() < 0 or ids.max() >= len(self)):
            raise ValueError(f"ids must lie in [0, {len(self)}), got range [{ids.min()}, {ids.max()}]")
        return "".join(self._itos[ids])

    def __repr__(self) -> str:
        return f"CharVocab({len(self)} ids)"


def random_windows(ids: np.ndarray, block_size: int, batch_size: int,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``batch_size`` random windows of an id stream: x (B, T) and y (B, T) int64 with y[:, t] = x[:, t + 1]
    continued (the next character at every position). Starts are uniform over the whole stream."""
    ids = np.asarray(ids)
    if ids.ndim != 1 or len(ids) <= block_size:
        raise ValueError(f"need a 1-D id array longer than block_size={block_size}, got shape {ids.shape}")
    starts = rng.integers(0, len(ids) - block_size, size=batch_size)
    idx = starts[:, None] + np.arange(block_size + 1)[None, :]   # (B, T + 1)
    win = ids[idx].astype(np.int64)
    return win[:, :-1], win[:, 1:]


class time_budget:  # a class named like a function: used as `for step in time_budget(60):`
    """Iterate over step indices 0, 1, 2... until ``seconds`` of wall-clock time (or ``max_steps``) are used.

        budget = time_budget(60, max_steps=5000, desc="GPT")
        for step in budget:
            loss = train_step(*random_windows(...))
        print(budget.steps, budget.elapsed)

    A tqdm bar shows the steps and the elapsed seconds (the total is the budget). The clock is checked
    before each step, so the last step may end a little after the budget. ``steps`` counts the steps
    started, ``elapsed`` the seconds from the first step to the end of the loop (or to now, inside it).
    """

    def __init__(self, seconds: float, max_steps: int | None = None, desc: str = "train"):
        if not seconds > 0:
            raise ValueError(f"seconds must be positive, got {seconds!r}")
        if max_steps is not None and (not isinstance(max_steps, (int, np.integer)) or max_steps < 0):
            raise ValueError(f"max_steps must be a non-negative int or None, got {max_steps!r}")
        self.seconds, self.max_steps, self.desc = float(seconds), max_steps, desc
        self.steps = 0
        self._t0: float | None = None
        self._t1: float | None = None

    @property
    def elapsed(self) -> float:
        if self._t0 is None:
            return 0.0
        return (self._t1 if self._t1 is not None else time.perf_counter()) - self._t0

    def __iter__(self):
        from tqdm.auto import tqdm

        self.steps, self._t1 = 0, None
        self._t0 = time.perf_counter()
        bar = tqdm(total=self.max_steps, desc=self.desc, unit="step", leave=True)
        try:
            while self.elapsed < self.seconds and (self.max_steps is None or self.steps < self.max_steps):
                yield self.steps
                self.steps += 1
                bar.update(1)
                bar.set_postfix_str(f"{self.elapsed:.1f}/{self.seconds:g} s", refresh=False)
        finally:
            self._t1 = time.perf_counter()
            bar.set_postfix_str(f"{self.elapsed:.1f} s")
            bar.close()


# ----------------------------------------------------------------------------------------------- the GPT config

@dataclass
class GPTConfig:
    """Hyper-parameters of ``TinyGPT`` (the same class for ``genlab.torch.text`` and ``genlab.tf.text``)."""

    vocab_size: int               # characters of the training corpus + 1 (CharVocab's unknown id)
    block_size: int = 128         # context length: a few lines of text; attention cost grows as T^2
    n_layer: int = 4              # 4 blocks train in minutes on 2 CPU cores and already learn words
    n_head: int = 4               # head size n_embd / n_head = 32, as in small GPTs
    n_embd: int = 128             # width; ~0.8M parameters besides the embedding table
    rope: bool = True             # rotary positions (injected `rope`); False: a learned position embedding
    tie_weights: bool = True      # LM head = token embedding^T: fewer parameters with a ~1.5k-character vocab
    dropout: float = 0.0          # 0: the models are small and train for minutes, they do not overfit yet

    def __post_init__(self):
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")
        if self.rope and (self.n_embd // self.n_head) % 2:
            raise ValueError("rotary embeddings need an even head size")
        if min(self.vocab_size, self.block_size, self.n_layer, self.n_head, self.n_embd) < 1:
            raise ValueError(f"sizes must be positive: {self}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {self.dropout}")


# ----------------------------------------------------------------------------------------------- the date task

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")  # date.weekday()
_ZH_DIGITS = "〇一二三四五六七八九"
_ZH_WEEKDAYS = "一二三四五六日"
FIRST_DATE, LAST_DATE = _dt.date(1900, 1, 1), _dt.date(2099, 12, 31)
TEST_PER_MILLE = 100  # a date is a test date when a fixed hash of its ISO string falls below 100/1000


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _zh_number(n: int) -> str:
    """1..31 in Chinese numerals: 三, 十, 十二, 二十, 二十一, 三十一."""
    tens, ones = divmod(n, 10)
    return ("" if tens == 0 else ("十" if tens == 1 else _ZH_DIGITS[tens] + "十")) + (_ZH_DIGITS[ones] if ones else "")


def _zh_year(y: int) -> str:
    return "".join(_ZH_DIGITS[int(c)] for c in str(y))


# name -> format function; the names say the format by example (3 March 2021, a Wednesday)
DATE_FORMATS = {
    "March 3, 2021": lambda d: f"{MONTHS[d.month - 1]} {d.day}, {d.year}",
    "3 March 2021": lambda d: f"{d.day} {MONTHS[d.month - 1]} {d.year}",
    "Mar 3 2021": lambda d: f"{MONTHS[d.month - 1][:3]} {d.day} {d.year}",
    "Mar 3, 2021": lambda d: f"{MONTHS[d.month - 1][:3]} {d.day}, {d.year}",
    "03 Mar 2021": lambda d: f"{d.day:02d} {MONTHS[d.month - 1][:3]} {d.year}",
    "3-mar-2021": lambda d: f"{d.day}-{MONTHS[d.month - 1][:3].lower()}-{d.year}",
    "MARCH 3, 2021": lambda d: f"{MONTHS[d.month - 1].upper()} {d.day}, {d.year}",
    "3rd of March, 2021": lambda d: f"{_ordinal(d.day)} of {MONTHS[d.month - 1]}, {d.year}",
    "March 3rd, 2021": lambda d: f"{MONTHS[d.month - 1]} {_ordinal(d.day)}, {d.year}",
    "Wednesday, March 3, 2021": lambda d: f"{WEEKDAYS[d.weekday()]}, {MONTHS[d.month - 1]} {d.day}, {d.year}",
    "Wed 3 Mar 2021": lambda d: f"{WEEKDAYS[d.weekday()][:3]} {d.day} {MONTHS[d.month - 1][:3]} {d.year}",
    "2021/03/03": lambda d: f"{d.year}/{d.month:02d}/{d.day:02d}",
    "2021/3/3": lambda d: f"{d.year}/{d.month}/{d.day}",
    "03.03.2021": lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}",  # dotted = European, day first
    "3.3.2021": lambda d: f"{d.day}.{d.month}.{d.year}",
    "20210303": lambda d: f"{d.year}{d.month:02d}{d.day:02d}",
    "2021年3月3日": lambda d: f"{d.year}年{d.month}月{d.day}日",
    "2021年03月03日": lambda d: f"{d.year}年{d.month:02d}月{d.day:02d}日",
    "二〇二一年三月三日": lambda d: f"{_zh_year(d.year)}年{_zh_number(d.month)}月{_zh_number(d.day)}日",
    "2021年3月3日星期三": lambda d: f"{d.year}年{d.month}月{d.day}日星期{_ZH_WEEKDAYS[d.weekday()]}",
    "2021年3月3日 周三": lambda d: f"{d.year}年{d.month}月{d.day}日 周{_ZH_WEEKDAYS[d.weekday()]}",
}


def date_formats() -> list[str]:
    """The names of the source formats (each the format applied to 3 March 2021)."""
    return list(DATE_FORMATS)


def is_test_date(date: _dt.date) -> bool:
    """True for the ~10% of dates held out for the test split: the first two bytes of
    sha256(ISO date) read as an integer, modulo 1000, below :data:`TEST_PER_MILLE`."""
    h = hashlib.sha256(date.isoformat().encode()).digest()
    return int.from_bytes(h[:2], "big") % 1000 < TEST_PER_MILLE


def date_pairs(n: int, split: str = "train", seed: int = 0) -> list[tuple[str, str]]:
    """``n`` (source, target) pairs: a date between 1900-01-01 and 2099-12-31 written in one of
    :data:`DATE_FORMATS` (English and Chinese, picked uniformly) -> its ISO 8601 form ``"2021-03-03"``.

    Train and test are disjoint BY DATE (:func:`is_test_date`), so test accuracy measures generalisation
    to dates never seen in any format. Weekday names come from ``datetime`` and are correct for the date.
    The same (n, split, seed) gives the same list.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a non-negative int, got {n!r}")
    rng = np.random.default_rng([seed, 0 if split == "train" else 1])
    names = list(DATE_FORMATS)
    lo, hi = FIRST_DATE.toordinal(), LAST_DATE.toordinal()
    out: list[tuple[str, str]] = []
    while len(out) < n:
        date = _dt.date.fromordinal(int(rng.integers(lo, hi + 1)))
        fmt = names[int(rng.integers(len(names)))]
        if is_test_date(date) == (split == "test"):
            out.append((DATE_FORMATS[fmt](date), date.isoformat()))
    return out


PAD, BOS, EOS, UNK = 0, 1, 2, 3
SRC_LEN = 32  # longest source: "Wednesday, September 30, 2099" = 29 characters
TGT_LEN = 11  # "2021-03-03" = 10 characters + BOS (decoder input) or EOS (decoder target)


@lru_cache(maxsize=1)
def _date_alphabet() -> tuple[str, ...]:
    chars = set("0123456789-")
    sample = [_dt.date(2000, 1, 1) + _dt.timedelta(days=i) for i in range(0, 800)]  # every month and weekday
    sample += [_dt.date(1900 + y, 1, 1) for y in range(200)]                         # every year digit
    for d in sample:
        for fmt in DATE_FORMATS.values():
            chars |= set(fmt(d))
    return tuple(sorted(chars))


class DateVocab:
    """The fixed character vocabulary of the date task (sources and targets share it).

    Ids: ``PAD = 0`` (padding, masked out of attention and of the loss), ``BOS = 1`` (the decoder's first
    input), ``EOS = 2`` (the decoder's last target), ``UNK = 3`` (a character no format produces), then the
    characters of every format in sorted order. The alphabet is derived from :data:`DATE_FORMATS`, not
    from data, so train and test share ids.
    """

    PAD, BOS, EOS, UNK = PAD, BOS, EOS, UNK
    SPECIALS = ("<pad>", "<bos>", "<eos>", "<unk>")

    def __init__(self):
        self.chars = list(_date_alphabet())
        self.stoi = {c: i + len(self.SPECIALS) for i, c in enumerate(self.chars)}
        self.itos = list(self.SPECIALS) + self.chars

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, text: str) -> np.ndarray:
        """str -> int64 ids (no BOS/EOS added)."""
        return np.array([self.stoi.get(c, UNK) for c in text], dtype=np.int64)

    def decode(self, ids, stop_at_eos: bool = True) -> str:
        """ids -> str: stops at the first EOS (with ``stop_at_eos``), skips PAD and BOS."""
        out = []
        for i in np.asarray(ids, dtype=np.int64).reshape(-1):
            if i == EOS and stop_at_eos:
                break
            if i in (PAD, BOS):
                continue
            out.append(self.itos[i] if 0 <= i < len(self.itos) else self.SPECIALS[UNK])
        return "".join(out)


def encode_pairs(pairs, vocab: DateVocab | None = None, src_len: int = SRC_LEN,
                 tgt_len: int = TGT_LEN) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(source, target) pairs -> int64 arrays ``src`` (N, src_len), ``tgt_in`` (N, tgt_len), ``tgt_out``
    (N, tgt_len), right-padded with PAD = 0.

    ``tgt_in`` = BOS + target (what the decoder reads, teacher forcing), ``tgt_out`` = target + EOS (what
    it must predict), so ``tgt_out[:, t]`` is the token after ``tgt_in[:, t]``. Fixed lengths keep the
    shapes of every batch equal (no retracing in TensorFlow). Too-long strings raise ValueError.
    """
    vocab = vocab or DateVocab()
    pairs = list(pairs)
    src = np.zeros((len(pairs), src_len), np.int64)
    tgt_in = np.zeros((len(pairs), tgt_len), np.int64)
    tgt_out = np.zeros((len(pairs), tgt_len), np.int64)
    for i, (s, t) in enumerate(pairs):
        s_ids, t_ids = vocab.encode(s), vocab.encode(t)
        if len(s_ids) > src_len or len(t_ids) + 1 > tgt_len:
            raise ValueError(f"pair {i} ({s!r}, {t!r}) is longer than src_len={src_len} / tgt_len={tgt_len} - 1")
        src[i, :len(s_ids)] = s_ids
        tgt_in[i, 0] = BOS
        tgt_in[i, 1:len(t_ids) + 1] = t_ids
        tgt_out[i, :len(t_ids)] = t_ids
        tgt_out[i, len(t_ids)] = EOS
    return src, tgt_in, tgt_out
