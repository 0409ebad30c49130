"""The tasks rdistill trains on: the one place a task is declared.

A :class:`Task` says how its data files load (local file and Hub), which words are
its labels, how an example reads as a prompt, and how PaLM's chain-of-thought
completions state the answer. To add a task, write its loader module and add one
entry to ``TASKS``; ``data.dataset`` in a config names the entry.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from rdistill.data import anli, cqa, esnli
from rdistill.data.example import Example
from rdistill.data.load_result import LoadResult


@dataclass(frozen=True)
class AnswerFormat:
    """How one task's PaLM completions state the answer.

    ``pattern`` must define the group ``label``; the rationale is the text before the
    last match. ``labels`` is the closed label set (matched case-insensitively), or
    ``None`` for free-text answers.
    """

    pattern: re.Pattern[str]
    labels: tuple[str, ...] | None


@dataclass(frozen=True)
class Task:
    """One task: data, labels, prompt, teacher answer format.

    ``group_field`` is the input shared by related rows (the premise of an NLI pair),
    which ``data.split_by: premise`` keeps in one split; None when rows are independent.
    ``teacher_label`` maps a teacher's label to the form gold takes (CQA: a duplicated
    choice counts as its first occurrence); None when labels compare as they are.
    """

    name: str
    labels: tuple[str, ...]
    prompt: Callable[[Example], str]
    load_file: Callable[..., LoadResult]
    load_hub: Callable[..., LoadResult]
    hub_name: str
    palm_format: AnswerFormat | None
    group_field: str | None = None
    teacher_label: Callable[[Example, str], str] | None = None


NLI_INSTRUCTION = "Does the premise entail, contradict, or is it neutral to the hypothesis?"
CQA_INSTRUCTION = "Which choice answers the question?"


def nli_prompt(example: Example) -> str:
    # Byte-identical to the prompt every e-SNLI run so far was trained on: do not edit.
    f = example.fields
    return f"Premise: {f['premise']}\nHypothesis: {f['hypothesis']}\n{NLI_INSTRUCTION}\n"


def multiple_choice_prompt(example: Example) -> str:
    choices = "".join(f"({letter}) {text}\n" for letter, text in zip(cqa.LABELS, cqa.choices_of(example)))
    return f"Question: {example.fields['question']}\nAnswer choices:\n{choices}{CQA_INSTRUCTION}\n"


TASKS: dict[str, Task] = {
    "esnli": Task(
        name="esnli", labels=esnli.LABELS, prompt=nli_prompt,
        load_file=esnli.load_esnli, load_hub=esnli.load_esnli_hub, hub_name="esnli",
        # "... rationale.\nAnswer: neutral"
        palm_format=AnswerFormat(re.compile(r"(?:^|\n)[ \t]*Answer:[ \t]*(?P<label>[^\n]*)"),
                                 esnli.LABELS),
        group_field="premise",
    ),
    "anli": Task(
        name="anli", labels=esnli.LABELS, prompt=nli_prompt,
        load_file=anli.load_anli, load_hub=anli.load_anli_hub, hub_name="anli",
        # "... rationale. So the answer is contradiction."
        palm_format=AnswerFormat(re.compile(r"So the answer is[ \t]+(?P<label>[^\n]*)"), esnli.LABELS),
        group_field="premise",
    ),
    "cqa": Task(
        name="cqa", labels=cqa.LABELS, prompt=multiple_choice_prompt,
        load_file=cqa.load_cqa, load_hub=cqa.load_cqa_hub, hub_name="commonsense_qa",
        # "... rationale. So the answer is (d) math problem." -> the choice letter "d"
        # (the text after it is PaLM's copy of that choice).
        palm_format=AnswerFormat(re.compile(r"So the answer is[ \t]+\((?P<label>[A-Za-z])\)[^\n]*"),
                                 cqa.LABELS),
        teacher_label=cqa.canonical_letter,
    ),
}


def get_task(name: str) -> Task:
    """The task called ``name``; KeyError listing the known ones."""
    if name not in TASKS:
        raise KeyError(f"unknown task {name!r}; known tasks: {', '.join(sorted(TASKS))}")
    return TASKS[name]
