"""Readable drill answers on a terminal: LaTeX -> Unicode and Markdown through rich."""
from __future__ import annotations

import io

import pytest

from genlab.paths import course_root
from genlab.questions import drill
from genlab.questions.bank import Item, Text, load_bank
from genlab.questions.render import TerminalRenderer, latex_to_unicode, math_to_unicode

T0 = 1_700_000_000.0


@pytest.mark.parametrize("tex, text", [
    (r"p(x_{1:T})", "p(x_(1:T))"),
    (r"\frac{1}{\sqrt{d_k}}", "1/√dₖ"),
    (r"\frac{a+b}{2}", "(a+b)/2"),
    (r"\mathbb E_{q_\phi(z\mid x)}[\log p_\theta(x\mid z)]", "𝔼_(q_ϕ(z | x))[log p_θ(x | z)]"),
    (r"\mathrm{KL}(p\,\|\,q)", "KL(p ‖ q)"),
    (r"\|x-\mu\|^2", "‖x-μ‖²"),
    (r"\mathcal N(0, I)", "𝒩(0, I)"),
    (r"x^\top W", "xᵀW"),
    (r"\sum_{i=1}^{n} x_i^2", "∑ᵢ₌₁ⁿ xᵢ²"),
    (r"\hat{x}_0", "x̂₀"),
    (r"2\cdot L\cdot H", "2·L·H"),
    (r"\theta_i=\text{base}^{-2i/d}", "θᵢ=base^(-2i/d)"),
    (r"\alpha\le\beta\to\infty", "α≤β→∞"),
])
def test_latex_to_unicode(tex, text):
    assert latex_to_unicode(tex) == text


def test_latex_to_unicode_never_raises_and_drops_backslashes():
    for tex in [r"\frac{1}", r"x_", r"\unknowncmd{y}", "{{{", r"\sqrt[3]{x}", r"\begin{cases}a\\b\end{cases}"]:
        out = latex_to_unicode(tex)
        assert isinstance(out, str)
    assert latex_to_unicode(r"\sqrt[3]{x}") == "∛x"
    assert "\\" not in latex_to_unicode(r"\operatorname{softmax}(QK^\top/\sqrt{d_k})V")


def test_math_to_unicode_leaves_code_alone_and_escapes_markdown():
    md = r"**Bold** $p(x_{1:T})$ and `a_b $x$` then $$\frac{a}{b}$$ end"
    out = math_to_unicode(md)
    assert "**Bold**" in out and "`a_b $x$`" in out and "a/b" in out
    assert r"x\_(1:T)" in out  # escaped for the Markdown renderer
    assert "$" not in out.replace("`a_b $x$`", "")


def _item():
    return Item(id="vae-x", chapter="02_vae", difficulty="easy", kind="concept", tags=[], seeds=[],
                question=Text("什么是 $p(x_{1:T})$？", "What is $p(x_{1:T})$?"),
                answer=Text("- **应用**：$\\frac{1}{\\sqrt{d_k}}$", "- **Applications**: $\\frac{1}{\\sqrt{d_k}}$"),
                wrong_answers=[Text("错 $\\sigma^2$", "wrong $\\sigma^2$")], follow_ups=[Text("追问", "follow-up")],
                links=["02_vae#vae_reparameterize"])


def test_terminal_renderer_shows_markdown_and_maths_readably():
    out = io.StringIO()
    drill.render_answer(TerminalRenderer(out, width=80), _item(), "both")
    text = out.getvalue()
    assert "Applications" in text and "**" not in text and "$" not in text and "\\frac" not in text
    assert "1/√dₖ" in text and "σ²" in text and "[中文]" in text and "[EN]" in text
    assert "Common wrong answers" in text and "02_vae#vae_reparameterize" in text


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_drill_renders_on_a_terminal_and_keeps_raw_markdown_otherwise(tmp_path):
    bank = load_bank(course_root() / "questions", check_notebooks=False)
    first = bank.chapter_items("02_vae")[0]
    args = ["--chapter", "vae", "--n", "1", "--lang", "en", "--db", str(tmp_path / "d.sqlite3")]
    tty_out = _Tty()
    assert drill.main(args, stdin=io.StringIO("\n3\n"), stdout=tty_out, stderr=io.StringIO(),
                      clock=lambda: T0, tty=True) == 0
    raw_out = io.StringIO()
    assert drill.main(args[:-1] + [str(tmp_path / "e.sqlite3")], stdin=io.StringIO("\n3\n"), stdout=raw_out,
                      stderr=io.StringIO(), clock=lambda: T0, tty=True) == 0
    assert "**" in first.answer.en or "$" in first.answer.en  # the item has markup to render
    raw = raw_out.getvalue()
    assert first.answer.en.splitlines()[0] in raw  # not a terminal: the raw Markdown
    rendered = tty_out.getvalue()
    assert "Reviewed 1 card(s)" in rendered and first.id in rendered
    assert "**" not in rendered.split("Reviewed")[0].split(first.id)[1]
    # --raw keeps the raw Markdown even on a terminal
    raw_tty = _Tty()
    assert drill.main(args[:-1] + [str(tmp_path / "f.sqlite3"), "--raw"], stdin=io.StringIO("\n3\n"),
                      stdout=raw_tty, stderr=io.StringIO(), clock=lambda: T0, tty=True) == 0
    assert first.answer.en.splitlines()[0] in raw_tty.getvalue()


def test_plain_drill_output_is_unchanged_raw_markdown():
    out = drill.plain_drill([_item()], 1, "en", seed=0)
    assert "**Applications**" in out and "$\\frac{1}{\\sqrt{d_k}}$" in out
