"""Split a teacher's output into (rationale, label/answer), per task.

The classification tasks reuse the PaLM answer formats of ``rdistill.data.palm``
(the templates ask teachers for the same answer statement PaLM wrote). The math
tasks add "The answer is <number>." here unless ``palm.ANSWER_FORMATS`` already
defines them, so a format lives in one place only.
"""

from __future__ import annotations

import re

from rdistill.data.palm import ANSWER_FORMATS, AnswerFormat, parse_palm

_NUMBER_ANSWER = AnswerFormat(
    re.compile(r"[Tt]he answer is[ \t]*:?[ \t]*(?P<label>[^\n]*)"), None
)
# Only added where palm.py has no format of its own for the task.
TEACHER_ANSWER_FORMATS: dict[str, AnswerFormat] = {
    "svamp": _NUMBER_ANSWER, "gsm8k": _NUMBER_ANSWER, **ANSWER_FORMATS,
}
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+")
NUMERIC_TASKS = ("svamp", "gsm8k")


def parse_teacher_output(raw: str, task: str) -> tuple[str, str | None]:
    """``(rationale, label)``; ``label`` is ``None`` when the output states no valid answer.

    Never raises on model text. Math answers are reduced to their number
    (``"$1,200."`` -> ``"1200"``); an answer without a number is unparseable.
    """
    if task not in ANSWER_FORMATS:
        # parse_palm looks the format up in palm.ANSWER_FORMATS: register ours for the call.
        ANSWER_FORMATS.setdefault(task, TEACHER_ANSWER_FORMATS[task])
    rationale, label = parse_palm(raw.lstrip(), task)
    if label is not None and task in NUMERIC_TASKS:
        label = normalise_number(label)
    return rationale, label


def normalise_number(text: str) -> str | None:
    """The last number in ``text`` without thousands separators or trailing zeros; None if none."""
    found = _NUMBER.findall(text)
    if not found:
        return None
    value = float(found[-1].replace(",", ""))
    return str(int(value)) if value.is_integer() else repr(value)


def gold_answer(task: str, gold: str) -> str:
    """The gold label in the form parsed answers take (numbers normalised for math tasks)."""
    if task in NUMERIC_TASKS:
        return normalise_number(gold) or gold.strip()
    return gold.strip()


def answers_match(task: str, predicted: str | None, gold: str) -> bool:
    if predicted is None:
        return False
    return predicted.strip().casefold() == gold_answer(task, gold).casefold()
