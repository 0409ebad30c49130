"""Final answers of math outputs: extract, normalise, compare. Pure string work, never ``eval``.

**Extraction** (:func:`extract_answer`), first rule that matches wins:

1. ``#### <answer>``: the text after the last ``####`` up to the end of its line
   (GSM8K's convention, and the layout rdistill trains: ``<reasoning> #### <n>``);
2. ``\\boxed{<answer>}`` (or ``\\fbox{}``): the last one, nested braces matched
   (MATH's convention: ``\\boxed{\\frac{1}{2}}``);
3. ``The answer is <answer>`` / ``answer: <answer>`` (any case): the last one, up to
   the end of the sentence (a ``.`` not followed by a digit) or line;
4. fallback: the last number in the text (``-3``, ``1,000``, ``2.5``, ``3/4``).

**Normalisation** to a canonical string (:func:`normalize_answer`):

- ``number``: ``$``, ``\\$``, ``%``/``\\%``, degrees, ``\\text{..}`` / ``\\mbox{..}``
  and LaTeX spacing are dropped; thousands commas (``1,000``) removed; a number
  followed by unit words keeps the number (``5 apples`` -> ``5``); ``x = 5`` keeps
  what follows the last ``=``; fractions ``3/4``, ``\\frac{3}{4}``, ``\\dfrac``,
  ``\\tfrac``, ``\\frac34``; negatives (``-``, ``−``); decimals (``.5``, ``2.50``);
  a plain arithmetic expression (``(84 / 2)``, PaLM's SVAMP answers) is evaluated
  safely (:mod:`rdistill.data.arithmetic`). The value is written as
  :func:`rdistill.data.arithmetic.format_number` does: ``42``, ``2.5``, ``11/3``.
  ``25%`` becomes ``25``, not ``0.25``: GSM8K golds write percentages that way.
  Mixed numbers (``1 1/2``) and scientific notation are not read.
- ``choice`` (AQuA-RAT): the option letter A-E, from ``C``, ``(C)``, ``C)`` or ``C) 21``.
- ``expression`` (MATH): the number as above when it is one; otherwise the LaTeX
  with spaces, ``\\left``/``\\right``, ``\\!``/``\\,``, ``$``, ``\\text{}`` wrappers and a
  trailing ``.`` removed and ``\\dfrac``/``\\tfrac`` read as ``\\frac``; compared as strings.

**Comparison** (:func:`answers_match`): numbers by value, exactly when the gold
is an integer, else within ``rel_tol`` (relative to ``max(1, |gold|)``); letters
and expressions by equality of the canonical strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from rdistill.data.arithmetic import format_number, try_arithmetic

# "text": a short free-text answer compared whole (ProsQA's "Tom is a wumpus.", a multiplication's
# digit sequence): case, spacing and a final period do not count.
AnswerKind = Literal["number", "choice", "expression", "text"]
ANSWER_KINDS: tuple[str, ...] = ("number", "choice", "expression", "text")
DEFAULT_REL_TOL = 1e-4

_HASHES = re.compile(r"####[ \t]*([^\n]*)")
_BOXED = re.compile(r"\\(?:boxed|fbox)\s*")
_ANSWER_IS = re.compile(r"answer\s*(?:is|:)[ \t]*:?[ \t]*([^\n]*)", re.IGNORECASE)
# A sentence ends at "." unless a digit follows (2.5) - or at end of text.
_SENTENCE_END = re.compile(r"\.(?!\d)")
# A number that is not the tail of a word or of another number (10-5 holds no -5).
_NUMBER = re.compile(
    r"(?<![\w.)/-])(?:-|−)?(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?(?:/\d+)?|\.\d+)(?![\d/])"
)


@dataclass(frozen=True)
class Extraction:
    """The answer text found in an output, and the rule that found it (None: nothing)."""

    text: str | None
    rule: str | None


def boxed_contents(text: str) -> str | None:
    """Contents of the last ``\\boxed{...}`` with nested braces matched (``\\boxed 5`` too)."""
    matches = list(_BOXED.finditer(text))
    for match in reversed(matches):
        start = match.end()
        if start < len(text) and text[start] == "{":
            depth = 0
            for end in range(start, len(text)):
                depth += {"{": 1, "}": -1}.get(text[end], 0)
                if depth == 0:
                    return text[start + 1:end].strip()
            continue  # unbalanced: try an earlier one
        bare = re.match(r"[^\s$]+", text[start:])
        if bare:
            return bare.group(0)
    return None


def extract_answer(text: str | None) -> Extraction:
    """The final answer text of a model output by the rules in the module docstring."""
    if not text:
        return Extraction(None, None)
    hashes = _HASHES.findall(text)
    if hashes and hashes[-1].strip():
        return Extraction(hashes[-1].strip(), "####")
    boxed = boxed_contents(text)
    if boxed:
        return Extraction(boxed, "boxed")
    stated = _ANSWER_IS.findall(text)
    if stated:
        sentence = _SENTENCE_END.split(stated[-1], maxsplit=1)[0].strip()
        if sentence:
            return Extraction(sentence, "answer is")
    numbers = _NUMBER.findall(text)
    if numbers:
        return Extraction(numbers[-1], "last number")
    return Extraction(None, None)


# ---- normalisation -----------------------------------------------------------------------

_LATEX_DROP = re.compile(r"\\[!,;: ]|\\left|\\right|\\displaystyle|\^\s*\{?\\circ\}?|°|\\\$|\$|\\%|%")
_TEXT_WRAPPER = re.compile(r"\\(?:text|textbf|mathrm|mbox)\s*\{([^{}]*)\}")
_FRAC_ALIAS = re.compile(r"\\[dt]frac")
_FRAC = re.compile(r"^\\frac\s*\{([^{}]+)\}\s*\{([^{}]+)\}$")
_FRAC_SHORT = re.compile(r"^\\frac\s*(\d)\s*(\d)$")
_COMMA_NUMBER = re.compile(r"^[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_DECIMAL = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)$")
_SLASH = re.compile(r"^([-+]?\d+)\s*/\s*([-+]?\d+)$")
# A number then words: "5 apples", "12 dollars per hour", "3.5 km."
_NUMBER_THEN_WORDS = re.compile(r"^([-+]?[\d.,/]+)\s+[A-Za-z][A-Za-z .'/-]*$")
_ARITHMETIC_CHARS = re.compile(r"^[\d\s.+\-*/()×÷]+$")


def _strip_latex(text: str) -> str:
    text = text.replace("−", "-").strip()
    text = _TEXT_WRAPPER.sub(lambda m: " " + m.group(1) + " ", text)
    text = _LATEX_DROP.sub("", text)
    text = _FRAC_ALIAS.sub(r"\\frac", text)
    return text.strip().rstrip(".").strip()


def parse_number(text: str | None) -> Fraction | None:
    """The exact value of an answer string, or None when it is no number (rules: module docstring)."""
    if text is None:
        return None
    s = _strip_latex(text)
    if "=" in s:
        s = s.rsplit("=", 1)[1].strip()
    words = _NUMBER_THEN_WORDS.match(s)
    if words:
        s = words.group(1).rstrip(".,")
    negative = s.startswith("-") and s[1:].lstrip().startswith("\\frac")
    body = s[1:].strip() if negative else s
    for pattern in (_FRAC, _FRAC_SHORT):
        frac = pattern.match(body)
        if frac:
            num, den = parse_number(frac.group(1)), parse_number(frac.group(2))
            if num is None or den is None or den == 0:
                return None
            return -(num / den) if negative else num / den
    if _COMMA_NUMBER.match(s):
        s = s.replace(",", "")
    if _DECIMAL.match(s):
        return Fraction(s)
    slash = _SLASH.match(s)
    if slash:
        den = int(slash.group(2))
        return Fraction(int(slash.group(1)), den) if den else None
    if _ARITHMETIC_CHARS.match(s) and re.search(r"\d", s):
        return try_arithmetic(s)
    return None


_CHOICE = re.compile(r"^\(?\s*([A-Ea-e])\s*\)?(?:$|[\s).:,])")
_CHOICE_IN_TEXT = re.compile(r"\(([A-E])\)|\b([A-E])\)")


def parse_choice(text: str | None) -> str | None:
    """The option letter (upper case) an answer string names, or None."""
    if text is None:
        return None
    s = _strip_latex(text).strip()
    m = _CHOICE.match(s)
    if m:
        return m.group(1).upper()
    found = _CHOICE_IN_TEXT.findall(s)
    if found:
        a, b = found[-1]
        return a or b
    return None


def normalize_answer(text: str | None, kind: AnswerKind) -> str | None:
    """Canonical form of an answer string (None when it holds no answer of this kind)."""
    if kind == "choice":
        return parse_choice(text)
    if kind == "text":
        words = " ".join((text or "").split()).rstrip(".").strip().casefold()
        return words or None
    value = parse_number(text)
    if value is not None:
        return format_number(value)
    if kind == "number" or text is None:
        return None
    expression = re.sub(r"\s+", "", _strip_latex(text))
    return expression or None


def answers_match(pred: str | None, gold: str | None, kind: AnswerKind, *,
                  rel_tol: float = DEFAULT_REL_TOL) -> bool:
    """Whether two answer strings (raw or canonical) name the same answer; None never matches."""
    p, g = normalize_answer(pred, kind), normalize_answer(gold, kind)
    if p is None or g is None:
        return False
    if kind in ("choice", "text"):
        return p == g
    pv, gv = parse_number(p), parse_number(g)
    if pv is None or gv is None:
        return kind == "expression" and pv is None and gv is None and p == g
    if gv.denominator == 1:
        return pv == gv
    return abs(pv - gv) <= Fraction(rel_tol) * max(Fraction(1), abs(gv))


def final_answer(output: str | None, kind: AnswerKind) -> tuple[str | None, Extraction]:
    """(canonical answer or None, the extraction) of one model output.

    For ``choice`` outputs whose stated answer names no letter, the last ``(C)`` /
    ``C)`` anywhere in the output is taken (rule ``last option``).
    """
    extraction = extract_answer(output)
    canonical = normalize_answer(extraction.text, kind)
    if canonical is None and kind == "choice" and output:
        found = _CHOICE_IN_TEXT.findall(output)
        if found:
            letter = found[-1][0] or found[-1][1]
            return letter, Extraction(letter, "last option")
    return canonical, extraction
