"""``genlab questions``: check, cover and export the bilingual interview bank.

Usage::

    genlab questions --check                 # validate every questions/*.yaml (exit 1 on errors)
    genlab questions --coverage              # seed coverage table + per-chapter counts (exit 1 if a
                                             #   seed or a seed erratum is not covered)
    genlab questions --export DIR [--format md|html]   # one file per chapter and language
    genlab questions --list [--chapter vae]  # item ids, one per line

``--questions DIR`` and ``--solutions DIR`` point at another bank or notebook folder. With
no action, ``--check`` is run. Links into chapters that have no notebooks yet are listed by
``--check`` as pending (they are not errors).
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import TextIO

from .bank import Bank, coverage, load_bank
from .seeds import CHAPTER_SEEDS, CHAPTERS, ERRATA, OUT_OF_SCOPE, SEED_TOPICS, SEEDS, chapter_of_seed


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="genlab questions", description="Check, cover and export the interview bank.")
    p.add_argument("--check", action="store_true", help="validate the bank (default action)")
    p.add_argument("--coverage", action="store_true", help="seed coverage table and per-chapter counts")
    p.add_argument("--export", type=Path, metavar="DIR", help="write one file per chapter and language")
    p.add_argument("--format", choices=("md", "html"), default="md", help="export format (default md)")
    p.add_argument("--list", action="store_true", help="list item ids")
    p.add_argument("--chapter", help="restrict --list/--export/--coverage to one chapter (02_vae or vae)")
    p.add_argument("--questions", type=Path, help="bank folder (default: questions/ of the course)")
    p.add_argument("--solutions", type=Path, help="notebook folder for links (default: solutions/)")
    return p


def print_check(bank: Bank, out: TextIO) -> int:
    n_files = len(bank.files)
    for line in bank.errors:
        print(f"ERROR {line}", file=out)
    if bank.pending:
        print(f"{len(bank.pending)} pending link(s) into chapters without notebooks yet:", file=out)
        for line in bank.pending:
            print(f"  pending {line}", file=out)
    if bank.errors:
        print(f"FAILED: {len(bank.errors)} problem(s) in {n_files} file(s)", file=out)
        return 1
    print(f"OK: {len(bank.items)} items in {n_files} file(s): "
          + ", ".join(f"{ch} {len(bank.chapter_items(ch))}" for ch in bank.chapters()), file=out)
    return 0


def print_coverage(bank: Bank, out: TextIO, chapters: list[str] | None = None) -> int:
    cov = coverage(bank, chapters)
    judged = chapters or list(CHAPTERS)
    required = {s for ch in judged for s in CHAPTER_SEEDS[ch]}
    print("Seed coverage (seed -> items citing it)", file=out)
    w = max(len(s) for s in SEEDS)
    cited_here = {s for it in bank.items if it.chapter in judged for s in it.seeds}
    for seed in SEEDS:
        items = cov.seeds[seed]
        if chapters and seed not in required and seed not in cited_here:
            continue
        chs = ",".join(c[:2] for c in chapter_of_seed(seed)) or "--"
        mark = ("MISSING" if (seed in required and not items) else "" if items
                else "(out of scope)" if seed in OUT_OF_SCOPE
                else "UNCITED" if seed in cov.uncited else "(optional)")
        topic = SEED_TOPICS.get(seed, "")
        line = f"  {seed:<{w}}  [{chs:<8}] {mark or ', '.join(items)}"
        if topic and mark:
            line += f"   # {topic}"
        print(line, file=out)
    print("\nSeed errata (erratum -> errata items)", file=out)
    for e in ERRATA:
        if chapters and e.chapter not in chapters:
            continue
        its = list(e.items) if e.items else (cov.errata.get(e.key) or [])
        by_id = bank.by_id()
        shown = [i if i in by_id else f"{i} (MISSING)" for i in its]
        print(f"  {e.key:<28} [{e.chapter[:2]}] {', '.join(shown) if shown else 'MISSING'}", file=out)
    print("\nPer chapter (items with non-empty zh / en question and answer)", file=out)
    head = f"  {'chapter':<18} {'items':>5} {'zh':>4} {'en':>4} {'concept':>7} {'code':>4} {'errata':>6}  easy/med/hard  seeds"
    print(head, file=out)
    for ch in judged:
        its = bank.chapter_items(ch)
        if ch not in bank.files:
            print(f"  {ch:<18} {'-':>5}  (no file yet)", file=out)
            continue
        zh = sum(1 for it in its if it.question.zh and it.answer.zh)
        en = sum(1 for it in its if it.question.en and it.answer.en)
        kinds = Counter(it.kind for it in its)
        diff = Counter(it.difficulty for it in its)
        covered = sum(1 for s in CHAPTER_SEEDS[ch] if cov.seeds.get(s))
        print(f"  {ch:<18} {len(its):>5} {zh:>4} {en:>4} {kinds['concept']:>7} {kinds['code']:>4} {kinds['errata']:>6}"
              f"  {diff['easy']:>4}/{diff['medium']:>3}/{diff['hard']:>4}  {covered}/{len(CHAPTER_SEEDS[ch])}",
              file=out)
    shown_oos = [s for s in OUT_OF_SCOPE if not cov.seeds.get(s) and (not chapters or s in cited_here)]
    if shown_oos and not chapters:
        print("\nOut of scope (seed sections no item needs to cite, genlab/questions/seeds.py OUT_OF_SCOPE)", file=out)
        for s in shown_oos:
            print(f"  {s:<{w}}  {OUT_OF_SCOPE[s]}", file=out)
    missing = [(ch, s) for ch, ss in cov.uncovered.items() for s in ss]
    if missing or cov.errata_problems or cov.uncited:
        print("", file=out)
        for ch, s in missing:
            print(f"UNCOVERED {s} (assigned to {ch})", file=out)
        for p in cov.errata_problems:
            print(f"UNCOVERED {p}", file=out)
        for s in cov.uncited:
            print(f"UNCITED {s} ({SEED_TOPICS.get(s, 'seed section')}): cite it from an item that answers it, "
                  "or record why it is out of scope in OUT_OF_SCOPE (genlab/questions/seeds.py)", file=out)
        print(f"FAILED: {len(missing)} seed(s), {len(cov.errata_problems)} erratum/errata and "
              f"{len(cov.uncited)} unassigned seed section(s) not covered", file=out)
        return 1
    print("\nOK: every assigned seed, every seed erratum and every other seed section is covered "
          "(or recorded as out of scope)", file=out)
    return 0


def main(argv: list[str] | None = None, stdout: TextIO | None = None) -> int:
    out = sys.stdout if stdout is None else stdout
    parser = build_parser()
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:
        return int(exc.code or 0)
    chapters = None
    if args.chapter:
        from .drill import resolve_chapter

        try:
            chapters = [resolve_chapter(args.chapter)]
        except ValueError as exc:
            print(f"genlab questions: {exc}", file=sys.stderr)
            return 2
    bank = load_bank(args.questions, args.solutions)
    status = 0
    if args.check or not (args.coverage or args.export or args.list):
        status = max(status, print_check(bank, out))
    if args.list:
        for it in bank.items:
            if chapters is None or it.chapter in chapters:
                print(f"{it.chapter}  {it.id}", file=out)
    if args.coverage:
        if bank.errors and not args.check:
            print(f"warning: the bank has {len(bank.errors)} problem(s); run --check", file=out)
        status = max(status, print_coverage(bank, out, chapters))
    if args.export:
        from .export import export

        paths = export(bank, args.export, args.format, chapters)
        print(f"wrote {len(paths)} file(s) to {args.export}", file=out)
        if bank.errors:
            status = max(status, 1)
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
