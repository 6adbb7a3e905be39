"""The feedback page is inert whatever the student's notebook holds (genlab/grading/feedback.py).

Pages are judged as a browser sees them: parsed with html5lib (the HTML5 parsing algorithm),
then the DOM is searched for anything that runs script, loads something or navigates. The unit
tests export a notebook full of attacks the way ``generate_feedback`` does (the
FEEDBACK_PREPROCESSORS and nbconvert's HTMLExporter with nbgrader's "feedback" template, then
``harden_html``); the slow test grades a submission with ``genlab grade --feedback``.
"""
from __future__ import annotations

import copy
import re
from pathlib import Path

import html5lib
import nbformat
import nbgrader
import pytest
from nbconvert import HTMLExporter
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell
from traitlets.config import Config

from genlab.grading.cli import grade_main
from genlab.grading.feedback import SanitizeFeedback, harden_html
from genlab.grading.grade import FEEDBACK_PREPROCESSORS

POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:"
FORMGRADER = Path(nbgrader.__file__).parent / "server_extensions" / "formgrader"
FIX = Path(__file__).resolve().parent / "fixtures" / "grading"
PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
SVG_SCRIPT = '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'
XSS = '<script>alert(1)</script><img src=x onerror=alert(1)>'

#: One markdown cell each: raw HTML and markdown that a naive page would make live.
MARKDOWN_ATTACKS = [
    "<script>alert(1)</script>",
    "<ScRiPt>alert(1)</sCrIpT>",
    '<script src="https://evil.example/x.js"></script>',
    "<scr<script></script>ipt>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<IMG SRC="javascript:alert(1)">',
    "<img src=x onerror\n=alert(1)>",
    '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
    "<svg onload=alert(1)><circle r=5 /></svg>",
    "<svg><script>alert(1)</script></svg>",
    '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
    '<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>',
    '<math href="javascript:alert(1)">click</math>',
    '<a href="javascript:alert(1)">plain</a>',
    '<a href="JaVaScRiPt:alert(1)">cased</a>',
    '<a href="&#106;avascript:alert(1)">entity</a>',
    '<a href="java&#x09;script:alert(1)">tab</a>',
    '<a href=" javascript:alert(1)">space</a>',
    '<a href="vbscript:msgbox(1)">vb</a>',
    '<a href="data:text/html,<script>alert(1)</script>">data</a>',
    '<a href="https://example.org" onclick="alert(1)">handler</a>',
    "[md link](javascript:alert(1))",
    "[md cased](JAVASCRIPT:alert(1))",
    "[md ref][r]\n\n[r]: javascript:alert(1)",
    "<javascript:alert(1)>",
    "![md image](javascript:alert(1))",
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<iframe src="javascript:alert(1)"></iframe>',
    '<object data="javascript:alert(1)"></object><embed src="javascript:alert(1)">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="https://evil.example/">',
    '<form action="javascript:alert(1)"><button formaction="javascript:alert(1)">go</button>'
    '<input onfocus=alert(1) autofocus></form>',
    "&#x3C;script&#x3E;alert(1)&#x3C;/script&#x3E;",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "<style>body { background: url(javascript:alert(1)) }</style>",
    '<div style="background:url(javascript:alert(1))">styled</div>',
    '<div class="navbar navbar-fixed-top">fixture (Score: 3.0 / 3.0)</div>',
    "<details open ontoggle=alert(1)><summary>x</summary></details>",
    "<body onload=alert(1)>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    "<!--<script>alert(1)</script>-->",
    '<link rel="stylesheet" href="https://evil.example/x.css">',
    "<template><script>alert(1)</script></template>",
    '<textarea><script>alert(1)</script></textarea><xmp><script>alert(1)</script></xmp>',
    "![missing](attachment:nope.png)",  # nbconvert alone fails the whole page on this
]


def attack_notebook() -> nbformat.NotebookNode:
    cells = [new_markdown_cell("# Legit heading\n\nA **legit-bold** word, math $x^2$ and code:\n\n"
                               "```python\nif a < b and c > d:\n    pass\n```\n\n![shot](attachment:shot.png)"
                               "![evil](attachment:evil.svg)",
                               attachments={"shot.png": {"image/png": PNG},
                                            "evil.svg": {"image/svg+xml": SVG_SCRIPT}})]
    cells += [new_markdown_cell(src) for src in MARKDOWN_ATTACKS]
    cells.append(new_markdown_cell(f"Written answer {XSS}", metadata={"nbgrader": {
        "grade": True, "solution": True, "locked": False, "grade_id": "answer", "points": 1, "score": 0,
        "schema_version": 3}}))
    cells.append(new_raw_cell(XSS, metadata={"raw_mimetype": "text/html"}))
    cells.append(new_raw_cell(XSS))
    outputs = [
        new_output("display_data", data={"text/html": XSS, "text/plain": "<HTML object>"}),
        new_output("display_data", data={"text/html": XSS}, metadata={"text/html": {"isolated": True}}),
        new_output("display_data", data={"image/svg+xml": SVG_SCRIPT}),
        new_output("display_data", data={"application/javascript": "alert(1)"}),
        new_output("display_data", data={"text/javascript": "alert(1)"}),
        new_output("display_data", data={"application/vnd.jupyter.widget-view+json": {
            "model_id": "</script><script>alert(1)</script>", "version_major": 2, "version_minor": 0}}),
        new_output("display_data", data={"text/markdown": f"**md-output-bold** {XSS} [x](javascript:alert(1))"}),
        new_output("display_data", data={"text/latex": "<script>alert(1)</script>"}),
        new_output("display_data", data={"image/png": PNG},
                   metadata={"image/png": {"width": "1 onerror=alert(1)", "height": 7}}),
        new_output("display_data", data={"image/png": PNG}, metadata={"width": "1 onerror=alert(1)"}),
        new_output("display_data", data={"image/png": PNG},
                   metadata={"filenames": {"image/png": "javascript:alert(1)"}}),
        new_output("display_data", data={"image/jpeg": 'x" onerror="alert(1)'}),
        new_output("execute_result", data={"text/plain": "<script>alert(1)</script>"}, execution_count=3),
        new_output("stream", name="stdout", text=XSS),
        new_output("stream", name="stderr", text="STDERR-MARKER warning\n"),
        new_output("error", ename="ValueError", evalue="legit evalue",
                   traceback=["\x1b[31mValueError\x1b[0m: legit evalue " + XSS]),
    ]
    cells.append(new_code_cell("print('hi')", outputs=outputs, execution_count=3))
    cells.append(new_code_cell("assert True", metadata={"nbgrader": {
        "grade": True, "solution": False, "locked": True, "grade_id": "test_x", "points": 2, "score": 1,
        "schema_version": 3}}))
    return new_notebook(cells=cells)


def export_feedback(nb: nbformat.NotebookNode, preprocessors: list[str] = FEEDBACK_PREPROCESSORS,
                    harden: bool = True) -> str:
    """The page ``generate_feedback`` writes (nbgrader 0.9.6's converter set-up), hardened."""
    c = Config()
    c.Exporter.default_preprocessors = []  # as nbgrader's converters
    c.HTMLExporter.template_name = "feedback"
    c.HTMLExporter.extra_template_basedirs = [str(FORMGRADER / "templates")]
    c.HTMLExporter.extra_template_paths = [str(FORMGRADER / "static" / "node_modules" / "bootstrap" / "dist" / "css")]
    exporter = HTMLExporter(config=c)
    for pp in preprocessors:
        if pp != "nbgrader.preprocessors.GetGrades":  # reads the gradebook: its resources are given below
            exporter.register_preprocessor(pp)  # as nbgrader registers them: not force-enabled
    resources = {"nbgrader": {"notebook": "fixture", "score": 1.0, "max_score": 3.0, "late_penalty": 0}}
    page, _ = exporter.from_notebook_node(copy.deepcopy(nb), resources=resources)
    return harden_html(page) if harden else page


# --- judging a page as a browser parses it --------------------------------------------------

def parse(page: str):
    return html5lib.parse(page, treebuilder="etree", namespaceHTMLElements=False)


def local(name) -> str:
    return name.rsplit("}", 1)[-1].lower() if isinstance(name, str) else ""


def elements(node):
    return [el for el in node.iter() if isinstance(el.tag, str)]


def text_of(el) -> str:
    return "".join(el.itertext())


def url_of(value: str) -> str:
    """A URL as a browser reads its scheme: no whitespace or control characters, lower case."""
    return re.sub(r"[\x00-\x20]+", "", value).lower()


URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "srcdoc", "background", "poster", "srcset",
                  "cite", "longdesc", "usemap", "ping"}
FORBIDDEN = {"script", "iframe", "frame", "frameset", "object", "embed", "applet", "base", "form", "svg", "math",
             "link", "noscript", "template"}


def assert_inert(page: str) -> None:
    doc = parse(page)
    head, body = doc.find("head"), doc.find("body")
    first = next(iter(head))
    assert (local(first.tag), first.get("http-equiv"), first.get("content")) == \
        ("meta", "Content-Security-Policy", POLICY), "the CSP is not the first element of <head>"
    for el in elements(doc):
        tag = local(el.tag)
        assert tag not in FORBIDDEN, f"<{tag}> in the page"
        assert tag != "meta" or el is first or set(el.attrib) == {"charset"}, f"<meta {el.attrib}>"
        for name, value in el.attrib.items():
            name = local(name)
            assert not name.startswith("on"), f"<{tag} {name}={value!r}>"
            if name in URL_ATTRIBUTES:
                url = url_of(value)
                assert not url.startswith(("javascript:", "vbscript:")), f"<{tag} {name}={value!r}>"
                assert not url.startswith("data:") or (tag == "img" and name == "src" and re.match(
                    r"data:image/(png|jpeg|gif)[;,]", url)), f"<{tag} {name}={value!r}>"
    for el in elements(body):
        assert local(el.tag) != "style", "a <style> element in the body"
        assert "url(" not in el.get("style", ""), f"style= loads something on <{el.tag}>"  # ansi2html colours
        assert "navbar-fixed-top" not in el.get("class", ""), "a student's element over the page's header"


def assert_legit_content(page: str) -> None:
    body = parse(page).find("body")
    by_tag = {}
    for el in elements(body):
        by_tag.setdefault(local(el.tag), []).append(el)
    texts = lambda tag: [text_of(el) for el in by_tag.get(tag, [])]  # noqa: E731
    assert any(t.startswith("Legit heading") for t in texts("h1"))
    assert "legit-bold" in texts("strong") and "md-output-bold" in texts("strong")
    assert any("if a < b and c > d:" in t for t in texts("pre"))
    assert any("$x^2$" in t for t in texts("p"))  # TeX source, MathJax is gone
    assert texts("h4") == ["fixture (Score: 1.0 / 3.0)"]  # the real score, once
    assert f"data:image/png;base64,{PNG}" in [el.get("src") for el in by_tag["img"]]
    divs = {cls: text_of(el) for el in by_tag["div"] for cls in el.get("class", "").split()}
    assert "STDERR-MARKER warning" in divs["output_stderr"]
    assert "ValueError: legit evalue" in divs["output_error"]
    # What the student tried is shown, as text.
    assert "<script>alert(1)</script>" in text_of(body)


# --- tests ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def attack_page() -> str:
    return export_feedback(attack_notebook())


def test_feedback_pipeline_sanitizes():
    assert "genlab.grading.feedback.SanitizeFeedback" in FEEDBACK_PREPROCESSORS
    i = FEEDBACK_PREPROCESSORS.index
    assert i("genlab.grading.feedback.SanitizeFeedback") > i("genlab.grading.preprocessors.HideHiddenTests")
    # A course's config cannot switch it off.
    assert SanitizeFeedback(config=Config({"SanitizeFeedback": {"enabled": False}})).enabled


def test_attacks_are_inert_in_the_feedback_page(attack_page):
    assert_inert(attack_page)


def test_the_sanitizer_alone_leaves_no_script_in_the_body():
    """Without harden_html the only scripts are the template's (MathJax, in <head>)."""
    page = export_feedback(attack_notebook(), harden=False)
    body = parse(page).find("body")
    assert [el for el in elements(parse(page)) if local(el.tag) == "script"]
    assert not [el for el in elements(body) if local(el.tag) == "script"]


def test_legitimate_content_survives(attack_page):
    assert_legit_content(attack_page)


def test_without_the_sanitizer_the_checks_fail():
    """The DOM checks see the attacks when nothing removes them (so they can fail)."""
    unsafe = [p for p in FEEDBACK_PREPROCESSORS if not p.endswith("SanitizeFeedback")]
    nb = attack_notebook()
    nb.cells = [c for c in nb.cells if "attachment:nope.png" not in c.source]  # nbconvert crashes on it
    with pytest.raises(AssertionError):
        assert_inert(export_feedback(nb, unsafe))
    with pytest.raises(AssertionError):
        assert_inert(export_feedback(attack_notebook()).replace(POLICY, "default-src *"))


@pytest.mark.parametrize("page", [
    "<!DOCTYPE html><html><head><title>t</title></head><body></body></html>",
    "<html><HEAD lang=en><SCRIPT type='text/javascript'>x()</SCRIPT ></HEAD><body><script>y()</script></body>",
    "<html><head><script src=a></script></head><body><scr<script></script>ipt>alert(1)</script>",
    "<html><head></head><body><script>never closed",
])
def test_harden_html_puts_the_csp_first_and_drops_scripts(page):
    hardened = harden_html(page)
    head = parse(hardened).find("head")
    first = next(iter(head))
    assert (local(first.tag), first.get("content")) == ("meta", POLICY)
    assert not [el for el in elements(parse(hardened)) if local(el.tag) == "script"]


def test_harden_html_refuses_a_page_without_head():
    with pytest.raises(ValueError):
        harden_html("<p>no head</p>")


# --- end to end: genlab grade --feedback -----------------------------------------------------

ATTACK_CELLS = [
    new_markdown_cell("# Legit heading\n\nA **legit-bold** word."),
    *(new_markdown_cell(src) for src in MARKDOWN_ATTACKS),
    new_code_cell(
        "import base64, sys\n"
        "from IPython.display import HTML, Image, Javascript, Markdown, display\n"
        f"display(HTML({XSS!r}))\n"
        f"display({{'image/svg+xml': {SVG_SCRIPT!r}, 'text/html': {XSS!r}}}, raw=True)\n"
        "display(Javascript('alert(1)'))\n"
        f"display(Markdown('**md-output-bold** ' + {XSS!r}))\n"
        f"display(Image(data=base64.b64decode({PNG!r})))\n"
        f"display({{'image/png': {PNG!r}}}, raw=True, metadata={{'image/png': {{'width': '1 onerror=alert(1)'}}}})\n"
        f"print({XSS!r})\n"
        "print('STDERR-MARKER warning', file=sys.stderr)"),
    new_code_cell(f"raise ValueError('legit evalue ' + {XSS!r})"),
]


@pytest.mark.slow
def test_grade_feedback_page_is_inert(capsys, tmp_path):
    """Needs runner.py to call genlab.grading.feedback.harden_file on the page it writes."""
    nb = nbformat.read(FIX / "course" / "chapters" / "01_fixture" / "fixture.ipynb", as_version=4)
    nb.cells[1:1] = copy.deepcopy(ATTACK_CELLS)
    path = tmp_path / "01_fixture" / "fixture.ipynb"
    path.parent.mkdir()
    nbformat.write(nb, path)
    fb = tmp_path / "feedback"
    rc = grade_main([str(path), "--json", "--course", str(FIX / "course"), "--feedback", str(fb)])
    assert rc == 0, capsys.readouterr().err
    page = (fb / "fixture.html").read_text(encoding="utf-8")
    assert_inert(page)
    body = parse(page).find("body")
    assert "legit-bold" in [text_of(el) for el in elements(body) if local(el.tag) == "strong"]
    assert "md-output-bold" in [text_of(el) for el in elements(body) if local(el.tag) == "strong"]
    assert any(el.get("src") == f"data:image/png;base64,{PNG}" for el in elements(body) if local(el.tag) == "img")
    assert "STDERR-MARKER warning" in text_of(body) and "ValueError" in text_of(body)
