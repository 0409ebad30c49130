"""GSM8K-Aug (iCoT, Deng et al. 2023): GSM8K questions whose reasoning is equations only.

One row a line, the iCoT text layout (:func:`rdistill.data.multiplication.split_icot_line`)::

    John cuts his grass ...?||<<4-2=2>> <<2/.5=4>> <<12/4=3>> <<100*3=300>> #### 300

``Example.steps`` are the equations as written, brackets included (``"<<4-2=2>>"``,
the form COCONUT trains on and the form :mod:`rdistill.data.gsm8k` gives plain GSM8K
rows), ``explanations`` their space-joined text, and the label the final number in
canonical form (``5,000`` -> ``5000``) as in :mod:`rdistill.data.gsm8k`.

Some published rows are inconsistent (no equations at all, or a last result that is
not the answer); the loader keeps them, counts them in ``LoadResult.counts`` and
:func:`check_gsm8k_aug_row` names what is wrong.
"""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

from rdistill.data.arithmetic import ArithmeticRefused, evaluate_arithmetic, format_number
from rdistill.data.example import Example
from rdistill.data.json_rows import RawRow, RowError, collect, require_file, short_repr
from rdistill.data.load_result import LoadResult
from rdistill.data.multiplication import read_icot_lines, split_icot_line
from rdistill.data.answers import parse_number

INCONSISTENT = "inconsistent (check_gsm8k_aug_row)"
_EQUATION = re.compile(r"<<[^<>]*>>")
_PLAIN_NUMBER = re.compile(r"-?(\d+\.?\d*|\.\d+)")


def equation_steps(text: str) -> tuple[str, ...]:
    """The ``<<...>>`` equations of a steps text, in order; RowError when anything else is there."""
    leftover = _EQUATION.sub(" ", text).strip()
    if leftover:
        raise RowError("bad value: steps",
                       f"field 'steps' has text outside '<<...>>' equations: {short_repr(leftover)}")
    return tuple(_EQUATION.findall(text))


def equation_problem(step: str) -> str | None:
    """Why ``<<lhs=rhs>>`` is wrong, or None when ``lhs`` evaluates to ``rhs`` within rounding.

    ``rhs`` must be a plain number; a result shown with ``k`` decimals may be the exact
    value rounded down or up to ``k`` decimals, i.e. differ from it by less than
    ``10**-k`` (GSM8K writes ``<<10/3=3.33>>``, and rounds counts of buses up). The
    left side goes through the safe evaluator, never ``eval``.
    """
    body = step[2:-2]
    if body.count("=") != 1:
        return f"{step}: expected exactly one '='"
    lhs, rhs = (side.strip() for side in body.split("="))
    if not _PLAIN_NUMBER.fullmatch(rhs):
        return f"{step}: the result {rhs!r} is not a plain number"
    try:
        value = evaluate_arithmetic(lhs)
    except ArithmeticRefused as err:
        return f"{step}: the left side is not plain arithmetic ({err})"
    decimals = len(rhs.split(".")[1]) if "." in rhs else 0
    if abs(value - Fraction(rhs)) >= Fraction(1, 10 ** decimals):
        return f"{step}: the left side is {format_number(value)}, not {rhs}"
    return None


def check_gsm8k_aug_row(line: str) -> list[str]:
    """Problems of one published line (empty list: consistent).

    Every equation must hold (:func:`equation_problem`); a row needs at least one
    equation; and the last equation's result must be the final answer.
    """
    try:
        row = split_icot_line(line.rstrip("\r\n"))
        steps = equation_steps(row["steps"])
    except RowError as err:
        return [err.detail]
    problems = [p for p in map(equation_problem, steps) if p is not None]
    answer = parse_number(row["answer"])
    if answer is None:
        problems.append(f"the answer {row['answer']!r} is not a number")
    if not steps:
        problems.append("no equations")
    elif answer is not None and "=" in steps[-1]:
        last = parse_number(steps[-1][2:-2].rsplit("=", 1)[1])
        if last != answer:
            problems.append(f"the last result {steps[-1]} is not the answer {row['answer']}")
    return problems


def load_gsm8k_aug(path: str | Path, *, skip_invalid: bool = False) -> LoadResult:
    """Load an iCoT GSM8K-Aug file (``gsm8k_aug_valid.txt``); uids ``"<file stem>:<row>"``.

    A line without ``||``/``####``, with text outside the equations or a non-numeric
    answer raises DataError naming file, line and field, or with ``skip_invalid`` is
    skipped and counted. Rows that parse but fail :func:`check_gsm8k_aug_row` are kept
    and counted under ``counts["inconsistent (check_gsm8k_aug_row)"]``.
    """
    path = require_file(path, "GSM8K-Aug")

    def to_example(raw: RawRow) -> tuple[Example, str | None]:
        row = raw.data
        steps = equation_steps(row["steps"])
        value = parse_number(row["answer"])
        if value is None:
            raise RowError("bad value: answer",
                           f"field 'answer' is {short_repr(row['answer'])}, not a number")
        example = Example(
            uid=f"{path.stem}:{raw.index}",
            fields={"question": row["question"]},
            label=format_number(value),
            explanations=(" ".join(steps),) if steps else (),
            steps=steps,
            source=raw.source,
            meta={"row": str(raw.index), "answer_text": row["answer"]},
        )
        line = f"{row['question']}||{row['steps']} #### {row['answer']}"
        return example, INCONSISTENT if check_gsm8k_aug_row(line) else None

    return collect(read_icot_lines(path), to_example, skip_invalid=skip_invalid, what="GSM8K-Aug")
