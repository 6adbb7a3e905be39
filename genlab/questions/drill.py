"""``genlab drill``: interview flashcards in the terminal, scheduled with SM-2.

Usage::

    genlab drill [--chapter vae] [--n 10] [--lang zh|en|both] [--db PATH] [--raw]
    genlab drill --stats [--chapter vae] [--db PATH]
    genlab drill --plain [--chapter vae] [--n 10] [--lang zh|en|both] [--seed 0]
    genlab drill --code [--chapter vae] [--n 3] [--framework pytorch|tensorflow] --out drill.ipynb

``--code`` assembles a timed coding drill from the chapters' autograded exercises
(:mod:`genlab.codedrill`); grade it with ``genlab grade drill.ipynb``.

On a terminal, questions and answers are rendered (:mod:`genlab.questions.render`: Markdown
through ``rich``, LaTeX as Unicode text); ``--raw`` or output that is not a terminal keeps
the raw Markdown, as does ``--plain``.

A session shows a question, waits for Enter, reveals the answer (with the common wrong
answers and follow-ups) and asks for a self-grade: ``1`` again, ``2`` hard, ``3`` good,
``4`` easy (``q`` quits, progress so far is kept). The grade updates the card with SM-2 and
the card becomes due again ``interval`` days later. The rule is SM-2 (P. A. Woźniak, 1990,
https://super-memory.com/english/ol/sm2.htm), with again/hard/good/easy = quality 1/3/4/5::

    q >= 3: I = 1 if n == 0, 6 if n == 1, else round_half_up(I * EF); n += 1
    q <  3: n = 0; I = 1
    EF = max(1.3, EF + 0.1 - (5 - q) * (0.08 + (5 - q) * 0.02))     # EF starts at 2.5

(details, and what is left out, in :mod:`genlab.questions.sm2`).

Which cards: first the cards that are due (earliest due first), then new cards in bank
order (each chapter's file lists its items from basic to advanced), up to ``--n``. Cards
seen before and not yet due are skipped.

Progress lives in SQLite (:mod:`genlab.questions.store`) under
``platformdirs.user_data_path("genlab")``, or at ``--db PATH``. ``--stats`` prints, per
chapter, the items, how many were seen, how many are due now, the mean ease and the recall
rate (share of reviews graded hard/good/easy) over the last 7 days. ``--plain`` prints a
paper drill (questions, then an answer key) and never opens the database.

The interactive loop reads ``stdin`` and writes ``stdout`` given to :func:`main` (or
:class:`DrillSession`) and takes the time from an injectable ``clock``, so tests drive it
with ``io.StringIO`` and a fake clock. Without a TTY on stdin (and without ``--plain`` or
``--stats``) it prints one line and exits with status 2.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, TextIO

from . import sm2
from .bank import Bank, Item, load_bank
from .seeds import CHAPTERS
from .store import Store, default_db_path, initial_state

Clock = Callable[[], float]
NO_TTY_MESSAGE = ("genlab drill: stdin is not a terminal; an interactive drill needs one "
                  "(use --plain for a printable drill or --stats for progress)")


def resolve_chapter(name: str) -> str:
    """``02_vae``, ``vae``, ``02`` or ``2`` -> ``02_vae``; ValueError if unknown."""
    key = name.strip().lower().replace("-", "_")
    for ch in CHAPTERS:
        num, topic = ch.split("_", 1)
        if key in (ch, topic, num, str(int(num))):
            return ch
    raise ValueError(f"unknown chapter {name!r}; choose one of: "
                     + ", ".join(f"{ch} ({ch.split('_', 1)[1]})" for ch in CHAPTERS))


def _langs(lang: str) -> tuple[str, ...]:
    return ("zh", "en") if lang == "both" else (lang,)


def _label(lang: str) -> str:
    return {"zh": "中文", "en": "EN"}[lang]


def format_text(text, lang: str, indent: str = "") -> str:
    """A bilingual :class:`~genlab.questions.bank.Text` for the terminal."""
    parts = []
    for lg in _langs(lang):
        body = text.get(lg).rstrip()
        prefix = f"[{_label(lg)}] " if lang == "both" else ""
        lines = body.splitlines() or [""]
        parts.append("\n".join(indent + (prefix if i == 0 else "") + ln for i, ln in enumerate(lines)))
    multi = any("\n" in p for p in parts)
    return ("\n\n" if multi and not indent else "\n").join(parts)


def format_answer(item: Item, lang: str) -> str:
    out = [format_text(item.answer, lang)]
    if item.wrong_answers:
        out.append("\n" + ("常见错误 / Common wrong answers:" if lang == "both" else
                           "常见错误：" if lang == "zh" else "Common wrong answers:"))
        out += [format_text(w, lang, "  - ") for w in item.wrong_answers]
    if item.follow_ups:
        out.append("\n" + ("追问 / Follow-ups:" if lang == "both" else
                           "追问：" if lang == "zh" else "Follow-ups:"))
        out += [format_text(f, lang, "  - ") for f in item.follow_ups]
    if item.links:
        out.append("\nSee: " + ", ".join(item.links))
    return "\n".join(out)


def render_text(renderer, text, lang: str) -> None:
    """A bilingual text through a :class:`~genlab.questions.render.TerminalRenderer`."""
    for lg in _langs(lang):
        renderer.markdown(text.get(lg), prefix=f"[{_label(lg)}]" if lang == "both" else "")


def render_answer(renderer, item: Item, lang: str) -> None:
    """:func:`format_answer`, rendered: Markdown styled, LaTeX as Unicode."""
    render_text(renderer, item.answer, lang)
    for title, texts in ((("常见错误 / Common wrong answers", "常见错误", "Common wrong answers"), item.wrong_answers),
                         (("追问 / Follow-ups", "追问", "Follow-ups"), item.follow_ups)):
        if not texts:
            continue
        renderer.line()
        renderer.line(title[0] if lang == "both" else title[1] if lang == "zh" else title[2], style="bold yellow")
        for t in texts:
            for lg in _langs(lang):
                tag = f"[{_label(lg)}] " if lang == "both" else ""
                renderer.markdown(f"- {tag}{t.get(lg)}")
    if item.links:
        renderer.line()
        renderer.line("See: " + ", ".join(item.links), style="dim")


def select(items: list[Item], cards: dict, now: float, n: int) -> list[tuple[Item, str]]:
    """Due cards first (earliest due first), then new ones in bank order; at most ``n``."""
    due = sorted((it for it in items if it.id in cards and cards[it.id].due <= now),
                 key=lambda it: (cards[it.id].due, it.id))
    new = [it for it in items if it.id not in cards]
    chosen = [(it, "due") for it in due] + [(it, "new") for it in new]
    return chosen[:n]


@dataclass
class SessionResult:
    reviewed: list[tuple[str, str]]  # (item id, grade)
    quit_early: bool


class DrillSession:
    """One interactive drill: streams and clock are injected so that tests can drive it."""

    def __init__(self, store: Store, stdin: TextIO, stdout: TextIO, clock: Clock = time.time,
                 lang: str = "both", renderer=None):
        self.store, self.stdin, self.out, self.clock, self.lang = store, stdin, stdout, clock, lang
        self.renderer = renderer  # a TerminalRenderer on a terminal; None: raw Markdown

    def _print(self, text: str = "") -> None:
        print(text, file=self.out)
        self.out.flush()

    def _ask(self, prompt: str) -> str | None:
        self.out.write(prompt)
        self.out.flush()
        line = self.stdin.readline()
        if line == "":  # EOF
            self._print()
            return None
        return line.strip().lower()

    def _grade(self) -> str | None:
        while True:
            ans = self._ask("Grade 自评  [1] again 忘了  [2] hard 吃力  [3] good 想起  [4] easy 轻松  (q quit) > ")
            if ans is None or ans in ("q", "quit"):
                return None
            if ans in sm2.GRADE_KEYS:
                return sm2.GRADE_KEYS[ans]
            if ans in sm2.GRADES:
                return ans
            self._print("Please type 1, 2, 3 or 4 (or q). 请输入 1-4（q 退出）。")

    def run(self, queue: list[tuple[Item, str]]) -> SessionResult:
        reviewed: list[tuple[str, str]] = []
        if not queue:
            self._print("Nothing due and no new cards here. 目前没有到期或新的题目。")
            return SessionResult(reviewed, False)
        cards = self.store.cards()
        for k, (item, status) in enumerate(queue, start=1):
            self._print(f"\n[{k}/{len(queue)}] {item.chapter} · {item.difficulty} · {item.kind} · {status}  ({item.id})")
            if self.renderer:
                render_text(self.renderer, item.question, self.lang)
            else:
                self._print(format_text(item.question, self.lang))
            ans = self._ask("\n(Enter: show the answer 显示答案, q: quit) ")
            if ans is None or ans in ("q", "quit"):
                return self._finish(reviewed, True)
            if self.renderer:
                self._print()
                render_answer(self.renderer, item, self.lang)
                self._print()
            else:
                self._print("\n" + format_answer(item, self.lang) + "\n")
            grade = self._grade()
            if grade is None:
                return self._finish(reviewed, True)
            card = cards.get(item.id)
            old = card.state if card else initial_state()
            q = sm2.quality(grade)
            new = sm2.review(old, q)
            saved = self.store.record(item.id, item.chapter, grade, q, new, self.clock())
            reviewed.append((item.id, grade))
            self._print(f"-> next review in {new.interval} day(s) ({_date(saved.due)}), ease {new.ease:.2f}")
        return self._finish(reviewed, False)

    def _finish(self, reviewed: list[tuple[str, str]], quit_early: bool) -> SessionResult:
        counts = {g: sum(1 for _, x in reviewed if x == g) for g in sm2.GRADES}
        self._print(f"\nReviewed {len(reviewed)} card(s): "
                    + ", ".join(f"{g} {c}" for g, c in counts.items()) + ". Progress saved. 进度已保存。")
        return SessionResult(reviewed, quit_early)


def _date(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


# --------------------------------------------------------------------------- stats and plain
def stats_table(bank: Bank, store: Store, now: float, chapters: list[str] | None = None) -> str:
    """Per chapter: items, seen, due now, mean ease, recall rate of the last 7 days."""
    cards = store.cards()
    recent = store.reviews_since(now - 7 * sm2.DAY)
    chapters = chapters or bank.chapters()
    rows = []
    tot = {"items": 0, "seen": 0, "due": 0, "eases": [], "rev": 0, "ok": 0}
    for ch in chapters:
        ids = {it.id for it in bank.chapter_items(ch)}
        seen = [cards[i] for i in ids if i in cards]
        due = sum(1 for c in seen if c.due <= now)
        eases = [c.state.ease for c in seen]
        revs = [r for r in recent if r[0] in ids]
        ok = sum(1 for r in revs if r[3] >= 3)
        rows.append((ch, len(ids), len(seen), due, _mean(eases), _rate(ok, len(revs))))
        tot["items"] += len(ids)
        tot["seen"] += len(seen)
        tot["due"] += due
        tot["eases"] += eases
        tot["rev"] += len(revs)
        tot["ok"] += ok
    rows.append(("total", tot["items"], tot["seen"], tot["due"], _mean(tot["eases"]), _rate(tot["ok"], tot["rev"])))
    head = ("chapter", "items", "seen", "due now", "mean ease", "recall 7d")
    table = [head] + [tuple(str(x) for x in r) for r in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(head))]
    lines = []
    for j, r in enumerate(table):
        lines.append("  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(r)))
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _mean(xs: list[float]) -> str:
    return f"{sum(xs) / len(xs):.2f}" if xs else "-"


def _rate(ok: int, n: int) -> str:
    return f"{100 * ok / n:.0f}% ({ok}/{n})" if n else "-"


def plain_drill(items: list[Item], n: int, lang: str, seed: int | None = None, title: str = "") -> str:
    """A printable drill: ``n`` random items (bank order kept), questions then an answer key."""
    rng = random.Random(seed)
    picked = sorted(rng.sample(range(len(items)), min(n, len(items))))
    chosen = [items[i] for i in picked]
    out = [f"GenAI Interview Lab · drill 练习{(' · ' + title) if title else ''} · {len(chosen)} question(s)", "=" * 60]
    for k, it in enumerate(chosen, 1):
        out.append(f"\n{k}. ({it.chapter} · {it.difficulty})")
        out.append(format_text(it.question, lang, "   "))
    out += ["", "=" * 60, "Answer key 参考答案", "=" * 60]
    for k, it in enumerate(chosen, 1):
        out.append(f"\n{k}. {it.id}")
        out.append(format_answer(it, lang))
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- CLI
def _code_drill(args, chapters, stdout, stderr) -> int:
    from genlab import codedrill
    from genlab.paths import course_root

    if args.out is None:
        print("genlab drill: --code needs --out PATH.ipynb", file=stderr)
        return 2
    try:
        nb = codedrill.assemble(course_root(), chapters, n=args.n, framework=args.framework, seed=args.seed)
        path = codedrill.write(nb, args.out)
    except (codedrill.DrillError, FileNotFoundError) as exc:
        print(f"genlab drill: {exc}", file=stderr)
        return 2
    ids = [g for item in nb.metadata.genlab["drill"]["items"] for g in item["grade_ids"]]
    print(f"wrote {path}: {len(ids)} exercises ({', '.join(ids)}); open it in JupyterLab, "
          f"then `genlab grade {path}`", file=stdout)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="genlab drill", description="Interview flashcards with SM-2 spaced repetition.")
    p.add_argument("--chapter", help="a chapter, as 02_vae or vae (default: all)")
    p.add_argument("--n", type=int, default=10, help="cards per session (default 10)")
    p.add_argument("--lang", choices=("zh", "en", "both"), default="both", help="language(s) shown (default both)")
    p.add_argument("--db", type=Path, help="progress database (default: the user data dir)")
    p.add_argument("--stats", action="store_true", help="print progress per chapter and exit")
    p.add_argument("--plain", action="store_true", help="print a paper drill (questions, then answers); no database")
    p.add_argument("--seed", type=int, help="random seed for --plain and --code")
    p.add_argument("--code", action="store_true", help="write a coding-drill notebook (with --out) instead of flashcards")
    p.add_argument("--out", type=Path, help="with --code: where to write the drill notebook (.ipynb)")
    p.add_argument("--framework", choices=("pytorch", "tensorflow"), default="pytorch",
                   help="with --code: the framework of the drill (default pytorch)")
    p.add_argument("--raw", action="store_true",
                   help="print answers as raw Markdown/LaTeX (the default on a terminal renders them with rich)")
    p.add_argument("--questions", type=Path, help=argparse.SUPPRESS)  # another bank folder (tests)
    return p


def main(argv: list[str] | None = None, stdin: TextIO | None = None, stdout: TextIO | None = None,
         stderr: TextIO | None = None, clock: Clock | None = None, tty: bool | None = None) -> int:
    stdin = sys.stdin if stdin is None else stdin
    stdout = sys.stdout if stdout is None else stdout
    stderr = sys.stderr if stderr is None else stderr
    clock = clock or time.time
    parser = build_parser()
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:
        return int(exc.code or 0)
    if args.n < 1:
        print("genlab drill: --n must be at least 1", file=stderr)
        return 2
    if sum((args.stats, args.plain, args.code)) > 1:
        print("genlab drill: choose one of --stats, --plain and --code", file=stderr)
        return 2
    chapters = None
    if args.chapter:
        try:
            chapters = [resolve_chapter(args.chapter)]
        except ValueError as exc:
            print(f"genlab drill: {exc}", file=stderr)
            return 2
    if args.code:
        return _code_drill(args, chapters, stdout, stderr)
    if not (args.plain or args.stats):
        is_tty = tty if tty is not None else bool(getattr(stdin, "isatty", lambda: False)())
        if not is_tty:
            print(NO_TTY_MESSAGE, file=stderr)
            return 2

    bank = load_bank(args.questions, check_notebooks=False)
    if bank.errors:
        print(f"genlab drill: warning: the bank has {len(bank.errors)} problem(s); "
              "run `genlab questions --check` (valid items are still drilled)", file=stderr)
    items = [it for it in bank.items if chapters is None or it.chapter in chapters]
    if chapters and not items and not args.stats:
        print(f"genlab drill: chapter {chapters[0]} has no questions yet", file=stderr)
        return 1

    if args.plain:
        stdout.write(plain_drill(items, args.n, args.lang, args.seed, title=chapters[0] if chapters else "all chapters"))
        return 0

    db = args.db or default_db_path()
    with Store(db) as store:
        now = clock()
        if args.stats:
            print(f"Drill progress ({db})", file=stdout)
            print(stats_table(bank, store, now, chapters), file=stdout)
            return 0
        queue = select(items, store.cards(), now, args.n)
        renderer = None
        if not args.raw and bool(getattr(stdout, "isatty", lambda: False)()):
            from .render import TerminalRenderer

            renderer = TerminalRenderer(stdout)
        DrillSession(store, stdin, stdout, clock, args.lang, renderer).run(queue)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
