"""Freeze the interview bank into the language-model corpus ``datasets/bank_text.txt`` (chapter 05_text).

    .venv/bin/python tools/make_text_corpus.py            # write the file, print its size and sha256
    .venv/bin/python tools/make_text_corpus.py --check    # rebuild in memory, compare with the shipped file

The shipped file is a SNAPSHOT: the bank (``questions/*.yaml``) keeps changing, the corpus does not, so
numbers measured on it (losses, perplexities, samples) stay comparable. After regenerating on purpose,
update ``CORPUS_SHA256`` in ``genlab/text.py`` and the table in ``datasets/bank_text.md``.

Format (UTF-8, ``\\n`` line ends). For every item (chapter files ``questions/NN_*.yaml`` in name order, items
in file order) two blocks, Chinese first, each introduced by a header line and separated from the next block by
one blank line:

    @@ <item-id> zh
    问：<question>
    答：<answer>
    错误说法：<wrong answer>      (one line per wrong answer, if any)
    追问：<follow-up>             (one line per follow-up, if any)

    @@ <item-id> en
    Q: <question>
    A: <answer>
    Wrong: <wrong answer>
    Follow-up: <follow-up>

Inside a block, runs of blank lines of the bank's Markdown are folded into single newlines and trailing
spaces removed, so a blank line always separates blocks. ``genlab.text.load_corpus`` splits on the header
lines (which it drops: the model never sees them).
"""
from __future__ import annotations

import argparse
import hashlib
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "datasets" / "bank_text.txt"
LABELS = {"zh": ("问：", "答：", "错误说法：", "追问："), "en": ("Q: ", "A: ", "Wrong: ", "Follow-up: ")}


def _clean(text: str) -> str:
    """Fold blank lines, strip trailing spaces and the ends; keeps the bank's own line breaks otherwise."""
    lines = [line.rstrip() for line in str(text).replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return re.sub(r"\n{2,}", "\n", "\n".join(lines)).strip()


def block(item: dict, lang: str) -> str:
    q, a, w, f = LABELS[lang]
    rows = [f"@@ {item['id']} {lang}", q + _clean(item["question"][lang]), a + _clean(item["answer"][lang])]
    rows += [w + _clean(x[lang]) for x in item.get("wrong_answers") or []]
    rows += [f + _clean(x[lang]) for x in item.get("follow_ups") or []]
    return "\n".join(rows)


def build(questions_dir: Path = ROOT / "questions") -> str:
    blocks = []
    for path in sorted(questions_dir.glob("[0-9][0-9]_*.yaml")):  # the chapter files (not e.g. a glossary)
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in data.get("items") or []:
            blocks += [block(item, "zh"), block(item, "en")]
    return "\n\n".join(blocks) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare a rebuild with the shipped file")
    args = parser.parse_args(argv)
    text = build()
    data = text.encode("utf-8")
    digest = hashlib.sha256(data).hexdigest()
    n_items = text.count("\n@@ ") // 2 + (1 if text.startswith("@@ ") else 0)
    print(f"{len(data):,} bytes, {len(text):,} characters, {n_items} items, sha256 {digest}")
    if args.check:
        same = OUT.read_bytes() == data
        print("identical to the shipped file" if same else "DIFFERS from the shipped file (the bank moved on)")
        return 0 if same else 1
    OUT.write_bytes(data)
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
