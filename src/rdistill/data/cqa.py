"""CommonsenseQA (Talmor et al. 2019) with the explanations of CoS-E (Rajani et al. 2019).

The JSON-lines layout of "Distilling step-by-step" (``cqa/cqa_train.json``): ``id``,
``question``, ``choices`` (5 strings), ``answer`` (the text of the right choice) and
``abstractive_explanation`` (the human explanation; ``extractive_explanation`` is a
highlighted span of the question and is not used). The label is the letter of the
answer among the choices, ``a``..``e``, so that the task has a fixed label set like the
NLI ones. A few rows list the right answer twice (``bridge``, ``bridge``): the first
occurrence is gold, and such rows are counted (``answer in several choices``).
The Hub data set ``commonsense_qa`` has ``choices`` as ``{"label": [...], "text": [...]}``
and ``answerKey`` (``"A"``..``"E"``; blank in its test split); both layouts are read.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from rdistill.data.example import Example
from rdistill.data.load_result import LoadResult
from rdistill.data.json_rows import (
    RawRow,
    RowError,
    collect,
    optional_text,
    read_hub_rows,
    read_jsonl,
    require_file,
    short_repr,
    text_field,
)

LABELS = ("a", "b", "c", "d", "e")
DUPLICATE_ANSWER = "answer in several choices"


def _choices(data: Mapping[str, object]) -> list[str]:
    value = data.get("choices")
    if value is None:
        raise RowError("missing field: choices", "missing field 'choices'")
    if isinstance(value, Mapping):  # Hub layout: {"label": ["A", ...], "text": [...]}
        value = value.get("text")
    if (not isinstance(value, list) or len(value) != len(LABELS)
            or not all(isinstance(c, str) and c.strip() for c in value)):
        raise RowError("bad value: choices", f"field 'choices' has value {short_repr(value)}; "
                       f"expected a list of {len(LABELS)} non-empty strings")
    return [c.strip() for c in value]


def _answer(data: Mapping[str, object], choices: list[str]) -> str:
    if "answer" not in data and "answerKey" in data:  # Hub layout
        key = data["answerKey"]
        if not isinstance(key, str) or key.strip().lower() not in LABELS:
            raise RowError("bad value: answerKey", f"field 'answerKey' has value {short_repr(key)}; "
                           "expected one of A, B, C, D, E (the Hub test split has no answers)")
        return choices[LABELS.index(key.strip().lower())]
    return text_field(data, "answer")


def gold_letter(answer: str, choices: list[str]) -> str:
    """The letter of the first choice equal to ``answer`` (RowError if none is)."""
    for letter, choice in zip(LABELS, choices):
        if choice == answer:
            return letter
    raise RowError("answer not among choices",
                   f"field 'answer' is {short_repr(answer)}, which is not one of the choices {choices}")


def cqa_example(raw: RawRow) -> tuple[Example, str | None]:
    """One validated CommonsenseQA row; RowError names the bad field."""
    data = raw.data
    assert not isinstance(data, RowError)
    uid = text_field(data, "id")
    question = text_field(data, "question")
    choices = _choices(data)
    answer = _answer(data, choices)
    label = gold_letter(answer, choices)
    explanation = optional_text(data, "abstractive_explanation")
    example = Example(
        uid=uid,
        fields={"question": question, **dict(zip(LABELS, choices))},
        label=label,
        explanations=(explanation,) if explanation else (),
        source=raw.source,
        meta={"row": str(raw.index)},
    )
    return example, DUPLICATE_ANSWER if choices.count(answer) > 1 else None


def choices_of(example: Example) -> list[str]:
    """The five choice texts of a CQA example, in letter order."""
    return [example.fields[letter] for letter in LABELS]


def load_cqa(path: str | Path, *, skip_invalid: bool = False) -> LoadResult:
    """Load a CommonsenseQA JSON-lines file; uids are the file's ``id`` field.

    An invalid row raises DataError naming file, line and field, or with
    ``skip_invalid=True`` is skipped and counted in ``LoadResult.skipped``.
    """
    return collect(read_jsonl(require_file(path, "CommonsenseQA"), what="CommonsenseQA"), cqa_example,
                   skip_invalid=skip_invalid, what="CommonsenseQA")


def load_cqa_hub(split: str, *, name: str = "commonsense_qa", skip_invalid: bool = False) -> LoadResult:
    """Load CommonsenseQA ``split`` (train/validation) from the Hugging Face Hub."""
    return collect(read_hub_rows(name, split, "CommonsenseQA"), cqa_example,
                   skip_invalid=skip_invalid, what="CommonsenseQA")


def canonical_letter(example: Example, letter: str) -> str:
    """A teacher's letter mapped to the first choice with the same text (as gold is).

    On rows that list the right answer twice, ``(e) bridge`` then counts as the gold
    ``d``; letters outside ``a``..``e`` are returned unchanged.
    """
    letter = letter.strip().lower()
    if letter not in LABELS:
        return letter
    choices = choices_of(example)
    return LABELS[choices.index(choices[LABELS.index(letter)])]
