"""Export the bank to Markdown or HTML: one file per chapter and language.

``genlab questions --export DIR [--format md|html]`` writes ``DIR/<chapter>.<lang>.md`` (or
``.html``) for every chapter file of the bank and both languages. The HTML is
self-contained: a small readable stylesheet that works on a phone, answers rendered from
their Markdown (``mistune``, which ships with nbconvert), maths left as ``$...$`` for
MathJax, which is loaded from a CDN when the reader is online (raw TeX stays readable when
not).
"""
from __future__ import annotations

import html
import re
from pathlib import Path

from .bank import Bank, Item
from .seeds import CHAPTERS

LABELS = {
    "zh": {"title": "面试题库", "answer": "参考答案", "wrong": "常见错误答案", "follow": "追问",
           "seeds": "对应种子题", "links": "相关练习", "items": "题", "none": "（超出种子范围）",
           "difficulty": {"easy": "易", "medium": "中", "hard": "难"},
           "kind": {"concept": "概念", "code": "代码", "errata": "纠错"}},
    "en": {"title": "Interview questions", "answer": "Answer", "wrong": "Common wrong answers",
           "follow": "Follow-ups", "seeds": "Seeds", "links": "Exercises", "items": "items",
           "none": "(beyond the seeds)",
           "difficulty": {"easy": "easy", "medium": "medium", "hard": "hard"},
           "kind": {"concept": "concept", "code": "code", "errata": "errata"}},
}


def chapter_title(chapter: str, lang: str) -> str:
    zh, en = CHAPTERS[chapter]
    return f"{chapter[:2]} · {zh if lang == 'zh' else en}"


def _meta(it: Item, lang: str) -> str:
    L = LABELS[lang]
    return f"{L['difficulty'][it.difficulty]} · {L['kind'][it.kind]} · `{it.id}`"


def chapter_markdown(items: list[Item], chapter: str, lang: str) -> str:
    L = LABELS[lang]
    out = [f"# {chapter_title(chapter, lang)} — {L['title']}", "",
           f"{len(items)} {L['items']}", ""]
    for k, it in enumerate(items, 1):
        out += [f"## {k}. {_first_line(it.question.get(lang))}", "", f"*{_meta(it, lang)}*", ""]
        rest = _rest(it.question.get(lang))
        if rest:
            out += [rest, ""]
        out += [f"**{L['answer']}**", "", it.answer.get(lang), ""]
        if it.wrong_answers:
            out += [f"**{L['wrong']}**", ""] + [_bullet(w.get(lang)) for w in it.wrong_answers] + [""]
        if it.follow_ups:
            out += [f"**{L['follow']}**", ""] + [_bullet(f.get(lang)) for f in it.follow_ups] + [""]
        seeds = ", ".join(it.seeds) if it.seeds else L["none"]
        colon = "：" if lang == "zh" else ": "
        out += [f"{L['seeds']}{colon}{seeds}" + (f" · {L['links']}{colon}" + ", ".join(f"`{x}`" for x in it.links)
                                                 if it.links else ""), ""]
    return "\n".join(out).rstrip() + "\n"


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0].strip()


def _rest(text: str) -> str:
    lines = text.strip().splitlines()
    return "\n".join(lines[1:]).strip()


def _bullet(text: str) -> str:
    lines = text.strip().splitlines()
    return "\n".join(("- " if i == 0 else "  ") + ln for i, ln in enumerate(lines))


# --------------------------------------------------------------------------- HTML
STYLE = """
:root { color-scheme: light dark; --fg: #1f2328; --bg: #fff; --muted: #656d76; --card: #f6f8fa; --acc: #0969da; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --bg: #0d1117; --muted: #8d96a0; --card: #161b22; --acc: #4493f8; } }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 46rem; padding: 1rem; font: 17px/1.6 system-ui, -apple-system, "Segoe UI",
       "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif; color: var(--fg); background: var(--bg); }
h1 { font-size: 1.5rem; line-height: 1.3; }
h2 { font-size: 1.15rem; line-height: 1.4; margin: 0 0 .3rem; }
section.item { background: var(--card); border-radius: 10px; padding: .9rem 1rem; margin: 1rem 0; }
.meta { color: var(--muted); font-size: .85rem; margin-bottom: .5rem; }
details { margin-top: .6rem; }
summary { cursor: pointer; color: var(--acc); font-weight: 600; }
pre { overflow-x: auto; padding: .7rem; border-radius: 6px; background: rgba(127,127,127,.12); font-size: .85rem; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9em; }
table { border-collapse: collapse; display: block; overflow-x: auto; }
td, th { border: 1px solid rgba(127,127,127,.35); padding: .25rem .5rem; }
.foot { color: var(--muted); font-size: .8rem; margin-top: .6rem; }
"""

MATHJAX = ('<script>window.MathJax={tex:{inlineMath:[["$","$"]],displayMath:[["$$","$$"]]}};</script>\n'
           '<script async src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js"></script>')

_MATH_RE = re.compile(r"(\$\$.+?\$\$|(?<![\\$])\$(?!\s)[^$\n]+?(?<!\s)\$)", re.S)
_CODE_RE = re.compile(r"(```.*?```|`[^`\n]+`)", re.S)


_MD = None


def _markdown():
    """A mistune renderer that escapes raw HTML in the bank's text (tables enabled)."""
    global _MD
    if _MD is None:
        import mistune

        _MD = mistune.create_markdown(escape=True, plugins=["table", "strikethrough"])
    return _MD


def markdown_to_html(text: str) -> str:
    """Markdown to HTML with ``$...$``/``$$...$$`` protected from Markdown (kept for MathJax)."""
    stash: list[str] = []

    def keep(m: re.Match) -> str:
        stash.append(html.escape(m.group(0), quote=False))
        return f"\x00{len(stash) - 1}\x00"

    # protect maths outside code spans/blocks only
    pieces = _CODE_RE.split(text)
    text = "".join(p if i % 2 else _MATH_RE.sub(keep, p) for i, p in enumerate(pieces))
    try:
        rendered = _markdown()(text)
    except Exception:  # pragma: no cover - mistune missing: readable fallback
        rendered = "<pre>" + html.escape(text) + "</pre>"
    return re.sub(r"\x00(\d+)\x00", lambda m: stash[int(m.group(1))], rendered)


def chapter_html(items: list[Item], chapter: str, lang: str) -> str:
    L = LABELS[lang]
    title = f"{chapter_title(chapter, lang)} — {L['title']}"
    body = [f"<h1>{html.escape(title)}</h1>", f"<p class=\"meta\">{len(items)} {L['items']}</p>"]
    for k, it in enumerate(items, 1):
        meta = (f"{L['difficulty'][it.difficulty]} · {L['kind'][it.kind]} · <code>{html.escape(it.id)}</code>")
        parts = [f'<section class="item" id="{html.escape(it.id)}">',
                 f"<h2>{k}.</h2>", f'<div class="meta">{meta}</div>',
                 markdown_to_html(it.question.get(lang)),
                 f"<details><summary>{L['answer']}</summary>", markdown_to_html(it.answer.get(lang))]
        if it.wrong_answers:
            parts.append(f"<h3>{L['wrong']}</h3><ul>"
                         + "".join(f"<li>{markdown_to_html(w.get(lang))}</li>" for w in it.wrong_answers) + "</ul>")
        if it.follow_ups:
            parts.append(f"<h3>{L['follow']}</h3><ul>"
                         + "".join(f"<li>{markdown_to_html(f.get(lang))}</li>" for f in it.follow_ups) + "</ul>")
        parts.append("</details>")
        seeds = ", ".join(it.seeds) if it.seeds else L["none"]
        colon = "：" if lang == "zh" else ": "
        foot = f"{L['seeds']}{colon}{html.escape(seeds)}"
        if it.links:
            foot += f" · {L['links']}{colon}" + ", ".join(f"<code>{html.escape(x)}</code>" for x in it.links)
        parts += [f'<div class="foot">{foot}</div>', "</section>"]
        body.append("\n".join(parts))
    html_lang = "zh-CN" if lang == "zh" else "en"
    return (f"<!DOCTYPE html>\n<html lang=\"{html_lang}\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style>\n{MATHJAX}\n</head>\n<body>\n"
            + "\n".join(body) + "\n</body>\n</html>\n")


def export(bank: Bank, out_dir: Path | str, fmt: str = "md", chapters: list[str] | None = None) -> list[Path]:
    """Write one file per chapter and language; return the paths written."""
    if fmt not in ("md", "html"):
        raise ValueError(f"format must be md or html, got {fmt!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for ch in chapters or bank.chapters():
        items = bank.chapter_items(ch)
        if not items:
            continue
        for lang in ("zh", "en"):
            path = out_dir / f"{ch}.{lang}.{fmt}"
            text = chapter_markdown(items, ch, lang) if fmt == "md" else chapter_html(items, ch, lang)
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written
