"""SVAMP (Patel et al. 2021) arithmetic word problems, in the "Distilling step-by-step" layout.

Each row is ``{"input": question, "label": equation}``, the equation written like
``( ( 17.0 + 15.0 ) + 2.0 )``. The label is the equation's value, computed by the
safe evaluator (:mod:`rdistill.data.arithmetic`, never ``eval``), in canonical form
(``34``). The data holds no worded solution, so the one "human" explanation is the
equation itself with its result (``(17 + 15) + 2 = 34``); ``meta["equation"]`` keeps
the raw label. PaLM rationales (``svamp/palm/train_CoT_{0,1}.json``, row-aligned)
are attached by :func:`rdistill.tasks.palm.attach_palm_rationales` with ``task="svamp"``.
"""

from __future__ import annotations

import re
from pathlib import Path

from rdistill.data.arithmetic import ArithmeticRefused, evaluate_arithmetic, format_number
from rdistill.data.example import Example
from rdistill.data.json_rows import RawRow, RowError, collect, read_jsonl, require_file, text_field
from rdistill.data.load_result import LoadResult

_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def readable_equation(equation: str) -> str:
    """``( ( 17.0 + 15.0 ) + 2.0 )`` -> ``(17 + 15) + 2``: canonical numbers, no outer parentheses."""
    text = _NUMBER.sub(lambda m: format_number(evaluate_arithmetic(m.group(0))), equation)
    text = re.sub(r"\(\s+", "(", re.sub(r"\s+\)", ")", " ".join(text.split())))
    while text.startswith("(") and text.endswith(")") and _balanced(text[1:-1]):
        text = text[1:-1].strip()
    return text


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def load_svamp(path: str | Path, *, skip_invalid: bool = False) -> LoadResult:
    """Load a SVAMP JSON-lines file (``input``, ``label``); uids ``"<file stem>:<row>"``.

    A row whose label is not plain arithmetic (numbers, ``+ - * /``, parentheses) or
    divides by zero is invalid: DataError naming file, line and field, or a counted skip.
    """
    path = require_file(path, "SVAMP")

    def to_example(raw: RawRow) -> Example:
        question = text_field(raw.data, "input")
        equation = text_field(raw.data, "label")
        try:
            value = evaluate_arithmetic(equation)
        except ArithmeticRefused as err:
            raise RowError("bad value: label",
                           f"field 'label' is {equation!r}, not a plain arithmetic equation ({err})") from None
        answer = format_number(value)
        return Example(
            uid=f"{path.stem}:{raw.index}",
            fields={"question": question},
            label=answer,
            explanations=(f"{readable_equation(equation)} = {answer}",),
            source=raw.source,
            meta={"row": str(raw.index), "equation": equation},
        )

    return collect(read_jsonl(path, what="SVAMP"), to_example, skip_invalid=skip_invalid, what="SVAMP")
