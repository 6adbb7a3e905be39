"""Readable answers in a terminal: Markdown through ``rich`` and LaTeX as Unicode text.

The bank writes answers in Markdown with maths as ``$...$``. On a terminal, ``genlab drill``
shows them through :class:`rich.markdown.Markdown` after :func:`math_to_unicode` has turned
each formula into plain Unicode (``$p(x_{1:T})$`` -> ``p(x₁:T)``... see :func:`latex_to_unicode`).
``--plain`` output and anything written to a file or a pipe keep the raw Markdown.

:func:`latex_to_unicode` is a small converter of the LaTeX the bank uses, not a TeX engine:
Greek letters, common operators and relations, ``\\frac``, ``\\sqrt``, sub- and superscripts
(Unicode sub/superscript characters when every character has one, otherwise ``_(...)``/``^(...)``),
``\\mathbb``/``\\mathcal`` letters, ``\\mathrm``/``\\text``/``\\operatorname``, accents
(``\\hat``, ``\\bar``, ``\\tilde``), ``\\|`` norms, ``\\left``/``\\right`` and spacing commands.
Unknown commands lose their backslash; it never raises.
"""
from __future__ import annotations

import re

GREEK = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ϵ", "varepsilon": "ε", "zeta": "ζ",
    "eta": "η", "theta": "θ", "vartheta": "ϑ", "iota": "ι", "kappa": "κ", "lambda": "λ", "mu": "μ", "nu": "ν",
    "xi": "ξ", "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ", "upsilon": "υ", "phi": "ϕ", "varphi": "φ",
    "chi": "χ", "psi": "ψ", "omega": "ω", "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ", "Xi": "Ξ",
    "Pi": "Π", "Sigma": "Σ", "Upsilon": "Υ", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω",
}
SYMBOLS = {
    "cdot": "·", "times": "×", "div": "÷", "pm": "±", "mp": "∓", "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥",
    "ne": "≠", "neq": "≠", "approx": "≈", "sim": "∼", "simeq": "≃", "equiv": "≡", "propto": "∝", "ll": "≪",
    "gg": "≫", "in": "∈", "notin": "∉", "subset": "⊂", "subseteq": "⊆", "cup": "∪", "cap": "∩", "setminus": "∖",
    "emptyset": "∅", "varnothing": "∅", "infty": "∞", "to": "→", "rightarrow": "→", "leftarrow": "←",
    "Rightarrow": "⇒", "Leftarrow": "⇐", "leftrightarrow": "↔", "Leftrightarrow": "⇔", "iff": "⇔",
    "implies": "⇒", "mapsto": "↦", "gets": "←", "uparrow": "↑", "downarrow": "↓", "sum": "∑", "prod": "∏",
    "int": "∫", "oint": "∮", "partial": "∂", "nabla": "∇", "forall": "∀", "exists": "∃", "neg": "¬",
    "land": "∧", "lor": "∨", "wedge": "∧", "vee": "∨", "oplus": "⊕", "otimes": "⊗", "odot": "⊙", "circ": "∘",
    "star": "⋆", "ast": "∗", "bullet": "•", "ldots": "…", "dots": "…", "cdots": "⋯", "vdots": "⋮", "ddots": "⋱",
    "ell": "ℓ", "hbar": "ℏ", "top": "ᵀ", "intercal": "ᵀ", "perp": "⊥", "parallel": "∥", "mid": " | ",
    "langle": "⟨", "rangle": "⟩", "lceil": "⌈", "rceil": "⌉", "lfloor": "⌊", "rfloor": "⌋", "|": "‖",
    "lVert": "‖", "rVert": "‖", "Vert": "‖", "lvert": "|", "rvert": "|", "vert": "|", "prime": "′",
    "quad": "  ", "qquad": "    ", ",": " ", ";": " ", ":": " ", "!": "", " ": " ", "{": "{", "}": "}",
    "%": "%", "$": "$", "#": "#", "&": "&", "_": "_", "\\": "\n", "colon": ":", "lbrace": "{", "rbrace": "}",
    "triangleq": "≜", "coloneqq": "≔", "defeq": "≝", "checkmark": "✓", "dagger": "†", "square": "□",
}
FUNCTIONS = {"log", "ln", "exp", "sin", "cos", "tan", "tanh", "sinh", "cosh", "min", "max", "arg", "argmin",
             "argmax", "det", "tr", "lim", "sup", "inf", "softmax", "sigmoid", "Pr", "deg", "dim", "ker",
             "sgn", "diag", "rank", "var", "Var", "Cov", "KL", "gcd"}
IGNORED = {"left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr", "displaystyle",
           "textstyle", "limits", "nolimits", "middle"}
FONT_COMMANDS = {"mathrm", "text", "textrm", "textbf", "textit", "texttt", "mathbf", "mathit", "mathsf",
                 "mathtt", "boldsymbol", "bm", "operatorname", "mbox", "emph", "mathnormal"}
ACCENTS = {"hat": "\u0302", "widehat": "\u0302", "bar": "\u0304", "overline": "\u0305", "tilde": "\u0303",
           "widetilde": "\u0303", "dot": "\u0307", "ddot": "\u0308", "vec": "\u20d7", "check": "\u030c"}
BLACKBOARD = {"E": "𝔼", "R": "ℝ", "N": "ℕ", "Z": "ℤ", "Q": "ℚ", "C": "ℂ", "P": "ℙ", "1": "𝟙", "I": "𝕀", "V": "𝕍"}
CALLIGRAPHIC = {"A": "𝒜", "B": "ℬ", "C": "𝒞", "D": "𝒟", "E": "ℰ", "F": "ℱ", "G": "𝒢", "H": "ℋ", "I": "ℐ",
                "J": "𝒥", "K": "𝒦", "L": "ℒ", "M": "ℳ", "N": "𝒩", "O": "𝒪", "P": "𝒫", "Q": "𝒬", "R": "ℛ",
                "S": "𝒮", "T": "𝒯", "U": "𝒰", "V": "𝒱", "W": "𝒲", "X": "𝒳", "Y": "𝒴", "Z": "𝒵"}
SUB = dict(zip("0123456789+-=()aehijklmnoprstuvxβγρφχ", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓᵦᵧᵨᵩᵪ"))
SUP = dict(zip("0123456789+-=()abcdefghijklmnoprstuvwxyzABDEGHIJKLMNOPRTUVWβγδθιφχ∗′ᵀ",
               "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻᴬᴮᴰᴱᴳᴴᴵᴶᴷᴸᴹᴺᴼᴾᴿᵀᵁⱽᵂᵝᵞᵟᶿᶥᵠᵡ*′ᵀ"))
SUP["*"] = "*"  # π^* -> π*


class _Parser:
    def __init__(self, src: str):
        self.s, self.i = src, 0

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def group(self) -> str:
        """One argument: ``{...}``, a command or a single character, converted."""
        while self.peek() == " ":
            self.i += 1
        c = self.peek()
        if c == "{":
            self.i += 1
            return self.until("}")
        if c == "\\":
            return self.command()
        self.i += 1
        return c

    def optional(self) -> str | None:
        if self.peek() != "[":
            return None
        j = self.s.find("]", self.i)
        if j < 0:
            return None
        out = latex_to_unicode(self.s[self.i + 1:j])
        self.i = j + 1
        return out

    def until(self, end: str | None) -> str:
        out = []
        while self.i < len(self.s):
            c = self.s[self.i]
            if end is not None and c == end:
                self.i += 1
                break
            if c == "{":
                self.i += 1
                out.append(self.until("}"))
            elif c == "\\":
                out.append(self.command())
            elif c in "_^":
                self.i += 1
                out.append(_script(self.group(), SUB if c == "_" else SUP, c))
            elif c == "~":
                self.i += 1
                out.append(" ")
            elif c == "'":
                self.i += 1
                out.append("′")
            else:
                self.i += 1
                out.append(c)
        return "".join(out)

    def command(self) -> str:
        self.i += 1  # the backslash
        m = re.compile(r"[A-Za-z]+").match(self.s, self.i)
        if not m:
            c = self.peek()
            self.i += 1
            return SYMBOLS.get(c, c)
        name = m.group(0)
        self.i = m.end()
        while self.peek() == " ":  # TeX ignores spaces after a control word
            self.i += 1
        if name in ("frac", "dfrac", "tfrac", "cfrac"):
            num, den = self.group(), self.group()
            return f"{_wrap(num)}/{_wrap(den)}"
        if name == "sqrt":
            n = self.optional()
            arg = self.group()
            root = {"2": "√", "3": "∛", "4": "∜"}.get(n or "2", f"{n}√")
            return root + (arg if len(arg) == 1 or _atomic(arg) else f"({arg})")
        if name == "mathbb":
            arg = self.group()
            return "".join(BLACKBOARD.get(ch, ch) for ch in arg)
        if name in ("mathcal", "mathscr"):
            arg = self.group()
            return "".join(CALLIGRAPHIC.get(ch, ch) for ch in arg)
        if name in FONT_COMMANDS:
            return self.group()
        if name in ACCENTS:
            arg = self.group()
            return arg + ACCENTS[name] if len(arg) == 1 else f"{arg}{ACCENTS[name]}"
        if name in ("binom", "tbinom", "dbinom"):
            a, b = self.group(), self.group()
            return f"C({a}, {b})"
        if name in ("begin", "end"):
            self.group()
            return ""
        if name in IGNORED:
            return ""
        if name in GREEK:
            return GREEK[name]
        if name in SYMBOLS:
            return SYMBOLS[name]
        if name in FUNCTIONS:  # spaced like an operator name; extra spaces are tidied afterwards
            return " " + name + ("" if self.peek() in "({[_^ " else " ")
        return name


def _atomic(text: str) -> bool:
    """No space or operator outside brackets: ``√dₖ``, ``p_θ(x, z)`` need no parentheses."""
    depth = 0
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif depth == 0 and ch in " +-−*/=<>,·×|":
            return False
    return bool(text)


def _wrap(text: str) -> str:
    return text if _atomic(text) else f"({text})"


def _script(text: str, table: dict[str, str], mark: str) -> str:
    if text and all(ch in table for ch in text):
        return "".join(table[ch] for ch in text)
    return f"{mark}{text}" if len(text) == 1 else f"{mark}({text})"


def latex_to_unicode(tex: str) -> str:
    """Readable Unicode for a LaTeX formula (without the ``$``); the input itself on failure."""
    try:
        out = _Parser(tex).until(None)
    except Exception:  # a converter for display must never break the drill
        return tex
    if "\n" in out:
        return out
    out = re.sub(r"[ \t]{2,}", " ", out)
    out = re.sub(r"([(\[{]) ", r"\1", out)  # "( log" -> "(log"
    out = re.sub(r"(^|[(\[{=,] ?)- (?=\S)", r"\1-", out)  # "- log" -> "-log" (a unary minus)
    return out.strip()


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")
_CODE_OR_MATH = re.compile(r"(```.*?```|~~~.*?~~~|`[^`\n]*`|\$\$.+?\$\$|(?<![\\$])\$[^$\n]+?\$)", re.S)


def math_to_unicode(markdown: str, escape: bool = True) -> str:
    """Replace ``$...$`` and ``$$...$$`` outside code with :func:`latex_to_unicode` text
    (Markdown characters in the result escaped when ``escape``)."""
    def repl(m: re.Match) -> str:
        tok = m.group(0)
        if tok.startswith(("`", "~")):
            return tok
        display = tok.startswith("$$")
        body = tok[2:-2] if display else tok[1:-1]
        text = latex_to_unicode(body)
        if escape:
            text = _MD_SPECIAL.sub(r"\\\1", text)
        return f"\n\n    {text}\n\n" if display and "\n" not in text else text

    return _CODE_OR_MATH.sub(repl, markdown)


class TerminalRenderer:
    """Prints Markdown answers through ``rich`` to ``out`` (a terminal)."""

    def __init__(self, out, width: int | None = None):
        from rich.console import Console

        self.console = Console(file=out, width=width, highlight=False, soft_wrap=False)

    def markdown(self, text: str, prefix: str = "") -> None:
        from rich.markdown import Markdown

        if prefix:
            self.console.print(prefix, style="bold cyan", markup=False)
        self.console.print(Markdown(math_to_unicode(text), code_theme="ansi_dark", hyperlinks=False))

    def line(self, text: str = "", style: str | None = None) -> None:
        self.console.print(text, style=style, markup=False, highlight=False)
