"""Safe evaluation of plain arithmetic, for data labels and model answers (never ``eval``).

SVAMP labels are equations (``( 84.0 / 2.0 )``) and PaLM's SVAMP answers are
expressions (``The answer is (84 / 2).``). Both are untrusted text, so they are
parsed with :mod:`ast` and only numbers, ``+ - * /``, unary minus/plus and
parentheses are accepted; anything else (names, calls, ``**``, attributes) is
refused. Values are exact :class:`fractions.Fraction`: ``0.1 + 0.2`` is ``3/10``.
"""

from __future__ import annotations

import ast
import operator
from fractions import Fraction

# Inputs longer than this are not arithmetic answers; refusing them bounds the parse cost.
MAX_EXPRESSION_CHARS = 200
# Deep nesting is no real answer either, and would recurse deeply.
MAX_DEPTH = 20

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.Div: operator.truediv}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}


class ArithmeticRefused(ValueError):
    """The text is not plain arithmetic (or divides by zero); the message says why."""


def evaluate_arithmetic(text: str) -> Fraction:
    """Exact value of ``text``, an expression of numbers, ``+ - * /`` and parentheses.

    Raises :class:`ArithmeticRefused` for anything else, for division by zero and
    for over-long or over-deep input. ``x`` and ``×`` are read as ``*``, ``÷`` as ``/``.
    """
    if not isinstance(text, str):
        raise ArithmeticRefused(f"expected a string, got {type(text).__name__}")
    if len(text) > MAX_EXPRESSION_CHARS:
        raise ArithmeticRefused(f"longer than {MAX_EXPRESSION_CHARS} characters")
    cleaned = text.replace("×", "*").replace("÷", "/").replace("−", "-").strip()
    try:
        tree = ast.parse(cleaned, mode="eval")
    except SyntaxError:
        raise ArithmeticRefused(f"not an arithmetic expression: {text!r}") from None
    return _value(tree.body, 0)


def _value(node: ast.AST, depth: int) -> Fraction:
    if depth > MAX_DEPTH:
        raise ArithmeticRefused(f"nested deeper than {MAX_DEPTH}")
    if isinstance(node, ast.Constant):
        value = node.value
        # bool is an int subclass; True is no number here.
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ArithmeticRefused(f"not a number: {value!r}")
        # repr() of a float literal is its shortest decimal: 0.2 stays exactly 1/5.
        return Fraction(repr(value)) if isinstance(value, float) else Fraction(value)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _value(node.left, depth + 1), _value(node.right, depth + 1)
        if isinstance(node.op, ast.Div) and right == 0:
            raise ArithmeticRefused("division by zero")
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_value(node.operand, depth + 1))
    raise ArithmeticRefused(f"only numbers, + - * / and parentheses are allowed, not {type(node).__name__}")


def try_arithmetic(text: str) -> Fraction | None:
    """:func:`evaluate_arithmetic`, or None when it refuses."""
    try:
        return evaluate_arithmetic(text)
    except ArithmeticRefused:
        return None


def format_number(value: Fraction) -> str:
    """Canonical text of a number: ``42``, ``-0.5``, ``5.625`` (terminating decimals), else ``11/3``."""
    if value.denominator == 1:
        return str(value.numerator)
    den = value.denominator
    twos = fives = 0
    while den % 2 == 0:
        den //= 2
        twos += 1
    while den % 5 == 0:
        den //= 5
        fives += 1
    if den != 1:  # a repeating decimal: the fraction is the only exact text
        return f"{value.numerator}/{value.denominator}"
    places = max(twos, fives)
    scaled = abs(value) * 10 ** places
    digits = str(scaled.numerator).rjust(places + 1, "0")
    sign = "-" if value < 0 else ""
    return f"{sign}{digits[:-places]}.{digits[-places:]}"
