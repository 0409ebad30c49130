"""Multi-digit multiplication with worked partial products (Implicit CoT, Deng et al. 2023/2024).

One row a line, the iCoT text layout ``question||steps #### answer``. Every number is
written digit by digit, space-separated, least significant digit first::

    5 6 3 2 * 7 4 3 4||5 5 5 6 1 + 0 0 6 4 9 0 ( 5 5 1 1 1 1 ) + ... #### 5 5 6 0 8 2 0 1

is 2365 * 4347. The steps multiply ``a`` by each digit of ``b`` in turn (partial
product ``a * b_k * 10**k``, written ``digits + 1 + k`` wide), and after every partial
product but the first and the last they show the running sum in parentheses, as wide
as that partial product. The answer is ``2 * digits`` wide. These widths were
measured on the 1,000 published 4 x 4 rows, which :func:`multiplication_line`
reproduces byte for byte.

Steps (``Example.steps``): one step per digit of ``b``, i.e. ``"5 5 5 6 1"``, then
``"+ 0 0 6 4 9 0 ( 5 5 1 1 1 1 )"``, ..., ``"+ 0 0 0 0 6 4 9 0"``: each step is one
partial product together with the running sum it produces, so a continuous-thought
curriculum replaces whole multiplier digits and ``" ".join(steps)`` is the published
steps text. This module also owns the line layout shared with :mod:`rdistill.data.gsm8k_aug`.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from pathlib import Path

from rdistill.data.example import Example
from rdistill.data.json_rows import RawRow, RowError, collect, require_file, short_repr
from rdistill.data.load_result import LoadResult

INCONSISTENT = "inconsistent (check_multiplication_row)"
_DIGITS = re.compile(r"\d( \d)*")
# A step starts at every "+ " (the first partial product has none).
_STEP_START = re.compile(r" (?=\+ )")


def split_icot_line(text: str) -> dict[str, str]:
    """``question||steps #### answer`` -> ``{"question", "steps", "answer"}`` (stripped; steps may be empty).

    Raises RowError naming the missing part.
    """
    if "||" not in text:
        raise RowError("missing field: steps", f"no '||' between question and steps: {short_repr(text[:60])}")
    question, rest = text.split("||", 1)
    if "####" not in rest:
        raise RowError("missing field: answer",
                       f"no '#### <answer>' after the steps: {short_repr(rest[-60:])}")
    steps, answer = rest.rsplit("####", 1)
    row = {"question": question.strip(), "steps": steps.strip(), "answer": answer.strip()}
    for key in ("question", "answer"):
        if not row[key]:
            raise RowError(f"empty field: {key}", f"field '{key}' is empty")
    return row


def read_icot_lines(path: Path) -> Iterator[RawRow]:
    """Rows of an iCoT text file, one per non-blank line; ``data`` is :func:`split_icot_line`'s dict."""
    index = 0
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            text = line.rstrip("\r\n")
            if not text.strip():
                continue
            try:
                data: dict[str, str] | RowError = split_icot_line(text)
            except RowError as err:
                data = err
            yield RawRow(index, f"{path} line {line_no}", f"{path}:{line_no}", data)
            index += 1


def _digits(value: int, width: int) -> str:
    text = str(value)[::-1].ljust(width, "0")
    assert len(text) == width, (value, width)  # widths are upper bounds by construction
    return " ".join(text)


def _number(text: str, field: str) -> int:
    if not _DIGITS.fullmatch(text):
        raise RowError(f"bad value: {field}",
                       f"field '{field}' is {short_repr(text)}; expected single digits separated by spaces")
    return int(text.replace(" ", "")[::-1])


def multiplication_steps(a: int, b: int) -> list[str]:
    """The steps of ``a * b`` (one per digit of ``b``, least significant first); layout: module docstring."""
    width = len(str(a))
    multiplier = str(b)[::-1]
    steps, total = [], 0
    for k, digit in enumerate(multiplier):
        partial = a * int(digit) * 10 ** k
        total += partial
        text = _digits(partial, width + 1 + k)
        if k > 0:
            text = f"+ {text}"
            if k < len(multiplier) - 1:  # the last running sum is the answer, written after ####
                text += f" ( {_digits(total, width + 1 + k)} )"
        steps.append(text)
    return steps


def multiplication_line(a: int, b: int) -> str:
    """The iCoT line for ``a * b``: two positive numbers with the same number of digits."""
    if a <= 0 or b <= 0 or len(str(a)) != len(str(b)):
        raise ValueError(f"need two positive numbers with the same number of digits, got {a} and {b}")
    width = len(str(a))
    return (f"{_digits(a, width)} * {_digits(b, width)}||{' '.join(multiplication_steps(a, b))}"
            f" #### {_digits(a * b, 2 * width)}")


def generate_multiplication(n: int, *, seed: int, digits: int = 4) -> list[str]:
    """``n`` lines in the published layout, operands uniform over the ``digits``-digit numbers.

    The published rows have no operand with a leading zero (1000..9999), so neither do these.
    """
    if n < 0 or digits < 1:
        raise ValueError(f"need n >= 0 and digits >= 1, got n={n}, digits={digits}")
    rng = random.Random(seed)
    low, high = 10 ** (digits - 1), 10 ** digits - 1
    return [multiplication_line(rng.randint(low, high), rng.randint(low, high)) for _ in range(n)]


def parse_operands(question: str) -> tuple[int, int]:
    """``"5 6 3 2 * 7 4 3 4"`` -> ``(2365, 4347)``; RowError when it is not two digit lists."""
    parts = question.split(" * ")
    if len(parts) != 2:
        raise RowError("bad value: question", f"field 'question' is {short_repr(question)}; expected 'a * b'")
    return _number(parts[0], "question"), _number(parts[1], "question")


def check_multiplication_row(line: str) -> list[str]:
    """Problems of one published line (empty list: consistent).

    Checks the layout, that both operands have the same number of digits with no
    leading zero, that the answer is ``a * b``, and that every step is the one
    :func:`multiplication_steps` computes.
    """
    try:
        row = split_icot_line(line.rstrip("\r\n"))
        a, b = parse_operands(row["question"])
        answer = _number(row["answer"], "answer")
    except RowError as err:
        return [err.detail]
    width = len(row["question"].split(" * ")[0].split())
    problems = []
    if len(str(a)) != width or len(str(b)) != width:
        problems.append(f"operands {a} and {b} are not both {width}-digit numbers without leading zeros")
        return problems
    if answer != a * b:
        problems.append(f"answer {answer} is not {a} * {b} = {a * b}")
    if len(row["answer"].split()) != 2 * width:
        problems.append(f"answer has {len(row['answer'].split())} digits, expected {2 * width}")
    steps = _STEP_START.split(row["steps"]) if row["steps"] else []
    expected = multiplication_steps(a, b)
    if len(steps) != len(expected):
        problems.append(f"{len(steps)} steps, expected {len(expected)}")
    for k, (got, want) in enumerate(zip(steps, expected)):
        if got != want:
            problems.append(f"step {k} is {got!r}, expected {want!r}")
    return problems


def load_multiplication(path: str | Path, *, skip_invalid: bool = False) -> LoadResult:
    """Load an iCoT multiplication file (``4_by_4_mult_valid.txt``); uids ``"<file stem>:<row>"``.

    ``fields["question"]`` and ``label`` are the published texts (digits least
    significant first), ``steps`` one per multiplier digit (module docstring). A line
    that does not parse raises DataError naming file, line and field, or with
    ``skip_invalid`` is skipped and counted; a line that parses but whose arithmetic
    is wrong is kept and counted in ``counts`` (see :func:`check_multiplication_row`).
    """
    path = require_file(path, "multiplication")

    def to_example(raw: RawRow) -> tuple[Example, str | None]:
        row = raw.data
        a, b = parse_operands(row["question"])
        _number(row["answer"], "answer")
        if not row["steps"]:
            raise RowError("empty field: steps", "field 'steps' is empty")
        steps = tuple(_STEP_START.split(row["steps"]))
        for step in steps:
            if not re.fullmatch(r"(\+ )?\d( \d)*( \( \d( \d)* \))?", step):
                raise RowError("bad value: steps", f"field 'steps' has a malformed step {short_repr(step)}")
        line = f"{row['question']}||{row['steps']} #### {row['answer']}"
        example = Example(
            uid=f"{path.stem}:{raw.index}",
            fields={"question": row["question"]},
            label=row["answer"],
            explanations=(row["steps"],),
            steps=steps,
            source=raw.source,
            meta={"row": str(raw.index), "a": str(a), "b": str(b)},
        )
        return example, INCONSISTENT if check_multiplication_row(line) else None

    return collect(read_icot_lines(path), to_example, skip_invalid=skip_invalid, what="multiplication")
