"""Split a teacher's output into (rationale, label/answer), per task.

Tasks with a PaLM answer format (``rdistill.tasks.registry``) are parsed as PaLM's
completions are: the templates ask teachers for the same answer statement. Math
tasks without one state "The answer is <answer>."; their answers are normalised
and compared by :mod:`rdistill.data.answers` (numbers, options, expressions).
"""

from __future__ import annotations

import re

from rdistill.tasks.palm import parse_completion
from rdistill.tasks.registry import AnswerFormat, get_task
from rdistill.data.answers import answers_match as math_answers_match
from rdistill.data.answers import normalize_answer

_STATED_ANSWER = AnswerFormat(re.compile(r"[Tt]he answer is[ \t]*:?[ \t]*(?P<label>[^\n]*)"), None)


def parse_teacher_output(raw: str, task: str) -> tuple[str, str | None]:
    """``(rationale, label)``; ``label`` is ``None`` when the output states no valid answer.

    Never raises on model text. Math answers are reduced to their canonical form
    (``"$1,200."`` -> ``"1200"``); an answer of the wrong kind is unparseable.
    """
    spec = get_task(task)
    rationale, label = parse_completion(raw.lstrip(), spec.palm_format or _STATED_ANSWER)
    if label is not None and spec.answer_kind is not None:
        label = normalize_answer(label, spec.answer_kind)  # type: ignore[arg-type]
    return rationale, label


def answers_match(task: str, predicted: str | None, gold: str) -> bool:
    """Whether a teacher's answer equals the gold label (math: numerically)."""
    if predicted is None:
        return False
    kind = get_task(task).answer_kind
    if kind is not None:
        return math_answers_match(predicted, gold, kind)  # type: ignore[arg-type]
    return predicted.strip().casefold() == gold.strip().casefold()
