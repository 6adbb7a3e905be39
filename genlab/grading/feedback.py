"""Feedback pages that are safe to open although the notebook in them is the student's.

nbgrader's feedback template writes markdown (rendered with raw HTML passed through) and rich
outputs (``text/html``, SVG, JavaScript) into the page as they are, so a student could run
JavaScript in the teacher's browser or draw a fake score. Two layers keep the page inert:

* :class:`SanitizeFeedback`, in ``generate_feedback``'s preprocessors (``FEEDBACK_PREPROCESSORS``
  in :mod:`genlab.grading.grade`), rewrites every cell before the template sees it: markdown is
  rendered as the exporter renders it, cleaned with bleach against an allowlist and handed back
  as an HTML block that the exporter's markdown renderer passes through unchanged; raw cells are
  cleaned the same way; outputs keep only passive mimetypes (``text/plain``, ``text/latex``,
  base64 PNG/JPEG, ``text/markdown`` once cleaned) and only numeric image sizes as metadata.
* :func:`harden_html` / :func:`harden_file`, on the written page: a Content-Security-Policy
  ``<meta>`` first in ``<head>`` (no script of any origin runs, no event handler fires, images
  only from ``data:``), and every ``<script>`` element removed (the template's MathJax loader:
  math is shown as TeX source).
"""
from __future__ import annotations

import html
import os
import re

import bleach
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbconvert.preprocessors import Preprocessor
from nbformat import NotebookNode, from_dict
from traitlets import Bool

#: Ordinary formatting; everything else is shown as text (escaped), not interpreted.
ALLOWED_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "div", "dl", "dt", "em",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "q", "s",
    "samp", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr",
    "u", "ul", "var",
})
#: Attributes per tag, besides ``class`` (see :data:`CLASS_TOKEN`). No ``style``, no ``on*``.
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    **{f"h{n}": {"id"} for n in range(1, 7)},  # the anchors of headings
}
#: What a URL must start with (after entity decoding, without whitespace or control
#: characters, lower case): links to the web, mail or this page; images embedded as data.
URL_PREFIX = {
    "href": re.compile(r"https?:|mailto:|#"),
    "src": re.compile(r"data:image/(?:png|jpeg|gif)[;,]"),
}
#: Class names the markdown renderer uses (pygments' short token classes, heading anchors,
#: code languages); others could borrow the page's layout (bootstrap's fixed navbars) to
#: draw over the real score.
CLASS_TOKEN = re.compile(r"highlight|anchor-link|language-[\w+.#-]+|[a-z]{1,3}[0-9]?")

#: Output mimetypes that are shown as escaped text or as a base64 image.
TEXT_MIMETYPES = ("text/plain", "text/latex")
IMAGE_MIMETYPES = ("image/png", "image/jpeg")
BASE64 = re.compile(r"[A-Za-z0-9+/=\s]*")

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:"
CSP_META = f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
HEAD_TAG = re.compile(r"<head(?=[\s/>])[^>]*>", re.IGNORECASE)
#: A script element as an HTML parser delimits it; one without an end tag runs to the end.
SCRIPT_ELEMENT = re.compile(r"<script(?=[\s/>]).*?(?:</script(?=[\s/>])[^>]*>|\Z)",
                            re.IGNORECASE | re.DOTALL)


def _url(value: str) -> str:
    return re.sub(r"[\x00-\x20\x7f-\xa0\s]+", "", html.unescape(value)).lower()


def _attribute_allowed(tag: str, name: str, value: str) -> bool:
    if name == "class":
        return all(CLASS_TOKEN.fullmatch(token) for token in value.split())
    if name not in ALLOWED_ATTRIBUTES.get(tag, ()):
        return False
    prefix = URL_PREFIX.get(name)
    return prefix is None or prefix.match(_url(value)) is not None


# bleach checks URL schemes too; "data" has to pass it for the images URL_PREFIX allows.
_CLEANER = bleach.Cleaner(tags=ALLOWED_TAGS, attributes=_attribute_allowed,
                          protocols={"http", "https", "mailto", "data"}, strip=False, strip_comments=True)


def sanitize_html(text: str) -> str:
    """``text`` (an HTML fragment) with only allowlisted tags and attributes; other tags become
    visible text."""
    return _CLEANER.clean(text)


def safe_markdown(source: str, attachments: dict | None = None) -> str:
    """Markdown that the feedback template renders as cleaned HTML.

    The markdown is rendered as the exporter's ``markdown2html`` filter renders it (attachments
    inlined as data URLs), cleaned with :func:`sanitize_html`, and returned as one ``<div>`` line:
    a CommonMark HTML block, which runs to the next blank line, so the template's
    ``markdown2html`` passes it through as it is. Newlines become ``&#10;``, which means the
    same in text and in attribute values. Markdown that cannot be rendered (an attachment that
    is missing or malformed) is shown as its source text."""
    try:
        renderer = IPythonRenderer(escape=False, attachments=attachments or {})
        rendered = MarkdownWithMath(renderer=renderer).render(source)
    except Exception:  # whatever the student's markdown breaks, fail to plain text
        rendered = f"<pre>{html.escape(source)}</pre>"
    return "<div>" + sanitize_html(rendered).replace("\n", "&#10;") + "</div>"


def sanitize_output(out: NotebookNode) -> NotebookNode:
    """A passive copy of one output. Stream and error outputs are kept: the exporter escapes
    their text (``ansi2html``), as it escapes ``text/plain`` and ``text/latex``. An output left
    without any mimetype to show gets a ``text/plain`` note naming what was removed."""
    if out.output_type not in ("display_data", "execute_result"):
        return out
    data, metadata = {}, {}
    for mime, value in out.data.items():
        if mime in TEXT_MIMETYPES:
            data[mime] = value
        elif mime == "text/markdown":
            data[mime] = safe_markdown(value)
        elif mime in IMAGE_MIMETYPES and isinstance(value, str) and BASE64.fullmatch(value):
            data[mime] = value
            size = out.metadata.get(mime, {})
            metadata[mime] = {k: v for k, v in size.items() if k in ("width", "height") and type(v) is int}
    if not data:
        data["text/plain"] = f"[{', '.join(out.data)} output not shown in the feedback]"
    return from_dict({**out, "data": data, "metadata": metadata})


class SanitizeFeedback(Preprocessor):
    """Make every cell of the feedback notebook inert (see the module docstring)."""

    # Always on: nbgrader registers its preprocessors without enabling them, and a course's
    # config must not be able to turn this off.
    enabled = Bool(True)

    def preprocess_cell(self, cell, resources, index):
        attachments = cell.pop("attachments", None)
        if cell.cell_type == "markdown":
            cell.source = safe_markdown(cell.source, attachments)
        elif cell.cell_type == "raw":
            cell.source = sanitize_html(cell.source)
        elif cell.cell_type == "code":
            cell.outputs = [sanitize_output(out) for out in cell.outputs]
        return cell, resources


def harden_html(text: str) -> str:
    """The feedback page with a CSP ``<meta>`` as the first element of ``<head>`` and without
    ``<script>`` elements. Raises ValueError for a page without ``<head>``."""
    while True:  # again, in case removing one script joined the pieces of another
        text, n = SCRIPT_ELEMENT.subn("", text)
        if not n:
            break
    head = HEAD_TAG.search(text)
    if head is None:
        raise ValueError("the feedback page has no <head>")
    return text[:head.end()] + CSP_META + text[head.end():]


def harden_file(path: os.PathLike | str) -> None:
    """:func:`harden_html` applied to the HTML file at ``path``, in place."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    with open(path, "w", encoding="utf-8") as f:
        f.write(harden_html(text))


__all__ = ["CSP", "SanitizeFeedback", "harden_file", "harden_html", "safe_markdown", "sanitize_html",
           "sanitize_output"]
