"""The tasks rdistill trains on: the one place a task is declared.

A :class:`Task` says how its data files load (local file and Hub), which words are
its labels, how an example reads as a prompt, how its training targets are laid out
(label/explanation spans, or reasoning then answer), how PaLM's chain-of-thought
completions state the answer, and how answers are compared. To add a task, write its
loader module in :mod:`rdistill.data` and add one entry to ``TASKS``; ``data.dataset``
in a config names the entry (the config accepts exactly these names).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rdistill.data import anli, aqua, competition_math, cqa, esnli, gsm8k, gsm8k_aug, multiplication, prosqa, svamp
from rdistill.data.arithmetic import format_number, try_arithmetic
from rdistill.data.example import Example
from rdistill.data.load_result import LoadResult
from rdistill.errors import DataError
from rdistill.io import read_text
from rdistill.tasks.layout import Order, TargetPieces, sequence_training_rows
from rdistill.tasks.math_layout import math_prompt, math_training_rows


@dataclass(frozen=True)
class AnswerFormat:
    """How one task's PaLM completions state the answer.

    ``pattern`` must define the group ``label``; the rationale is the text before the
    last match. ``labels`` is the closed label set (matched case-insensitively), or
    ``None`` for free-text answers. ``normalise``, when set, maps the answer text to the
    form gold labels take (None: unparseable).
    """

    pattern: re.Pattern[str]
    labels: tuple[str, ...] | None
    normalise: Callable[[str], str | None] | None = None


@dataclass(frozen=True)
class Task:
    """One task: data, labels, prompt, teacher answer format.

    ``group_field`` is the input shared by related rows (the premise of an NLI pair),
    which ``data.split_by: premise`` keeps in one split; None when rows are independent.
    ``teacher_label`` maps a teacher's label to the form gold takes (CQA: a duplicated
    choice counts as its first occurrence); None when labels compare as they are.
    ``answer_kind`` marks an open-answer (math) task: the student writes its answer after
    its reasoning (:mod:`rdistill.tasks.math_layout`) and ``labels`` is empty.
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
    answer_kind: str | None = None

    def label_text(self, label: str) -> str:
        # A leading space makes the label word one BPE word as it is in running text.
        return f" {label}"

    def training_rows(self, example: Example, explanations: list[str], *, with_label: bool,
                      with_explanation: bool, order: Order, task_prefix: bool) -> list[TargetPieces]:
        """The span-tagged training rows of one example (see :mod:`rdistill.tasks.layout`)."""
        prompt = self.prompt(example)
        if self.answer_kind is not None:
            return math_training_rows(prompt, example, explanations, with_explanation=with_explanation)
        return sequence_training_rows(prompt, example.label, explanations,
                                      label_text=self.label_text(example.label), with_label=with_label,
                                      with_explanation=with_explanation, order=order, task_prefix=task_prefix)


NLI_INSTRUCTION = "Does the premise entail, contradict, or is it neutral to the hypothesis?"
CQA_INSTRUCTION = "Which choice answers the question?"


def nli_prompt(example: Example) -> str:
    # Byte-identical to the prompt every e-SNLI run so far was trained on: do not edit.
    f = example.fields
    return f"Premise: {f['premise']}\nHypothesis: {f['hypothesis']}\n{NLI_INSTRUCTION}\n"


def multiple_choice_prompt(example: Example) -> str:
    choices = "".join(f"({letter}) {text}\n" for letter, text in zip(cqa.LABELS, cqa.choices_of(example)))
    return f"Question: {example.fields['question']}\nAnswer choices:\n{choices}{CQA_INSTRUCTION}\n"


def _math_prompt(kind: str) -> Callable[[Example], str]:
    return lambda example: math_prompt(kind, example)  # type: ignore[arg-type]


def _no_hub(task: str) -> Callable[..., LoadResult]:
    def load(*args: object, **kwargs: object) -> LoadResult:
        raise DataError(f"no Hub loader for {task!r}: give data.train_file as a local file")

    return load


def _arithmetic_answer(text: str) -> str | None:
    """``(84 / 2)`` -> ``42``: PaLM states SVAMP answers as expressions (evaluated safely)."""
    value = try_arithmetic(text)
    return None if value is None else format_number(value)


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
    "gsm8k": Task(
        name="gsm8k", labels=(), prompt=_math_prompt("number"), load_file=gsm8k.load_gsm8k,
        load_hub=gsm8k.load_gsm8k_hub, hub_name="gsm8k", palm_format=None, answer_kind="number",
    ),
    "svamp": Task(
        name="svamp", labels=(), prompt=_math_prompt("number"), load_file=svamp.load_svamp,
        load_hub=_no_hub("svamp"), hub_name="ChilleD/SVAMP",
        # "... 84 / 2 = 42. The answer is (84 / 2)." -> label "42"
        palm_format=AnswerFormat(re.compile(r"The answer is[ \t]+(?P<label>[^\n]*)"), None,
                                 normalise=_arithmetic_answer),
        answer_kind="number",
    ),
    "aqua": Task(
        name="aqua", labels=(), prompt=_math_prompt("choice"), load_file=aqua.load_aqua,
        load_hub=_no_hub("aqua"), hub_name="aqua_rat", palm_format=None, answer_kind="choice",
    ),
    "math": Task(
        name="math", labels=(), prompt=_math_prompt("expression"), load_file=competition_math.load_math,
        load_hub=_no_hub("math"), hub_name="hendrycks/competition_math", palm_format=None,
        answer_kind="expression",
    ),
    # Step-structured reasoning sets (Example.steps filled), where continuous thoughts are studied.
    "gsm8k_aug": Task(
        name="gsm8k_aug", labels=(), prompt=_math_prompt("number"), load_file=gsm8k_aug.load_gsm8k_aug,
        load_hub=_no_hub("gsm8k_aug"), hub_name="whynlp/gsm8k-aug", palm_format=None, answer_kind="number",
    ),
    "prosqa": Task(
        name="prosqa", labels=(), prompt=_math_prompt("text"), load_file=prosqa.load_prosqa,
        load_hub=_no_hub("prosqa"), hub_name="facebookresearch/coconut", palm_format=None, answer_kind="text",
    ),
    "multiplication": Task(
        name="multiplication", labels=(), prompt=_math_prompt("text"), load_file=multiplication.load_multiplication,
        load_hub=_no_hub("multiplication"), hub_name="da03/Internalize_CoT_Step_by_Step", palm_format=None,
        answer_kind="text",
    ),
}


# Open-answer tasks -> how their answers are normalised and compared (rdistill.data.answers).
MATH_TASKS: dict[str, str] = {name: t.answer_kind for name, t in TASKS.items() if t.answer_kind is not None}


def get_task(name: str) -> Task:
    """The task called ``name``; KeyError listing the known ones."""
    if name not in TASKS:
        raise KeyError(f"unknown task {name!r}; known tasks: {', '.join(sorted(TASKS))}")
    return TASKS[name]


def load_dataset_file(name: str, path: str | Path, **kwargs: object) -> LoadResult:
    """Load ``path`` with the loader of task ``name`` (``kwargs`` go to the loader)."""
    if name not in TASKS:
        raise DataError(f"unknown data set {name!r}; known data sets: {', '.join(sorted(TASKS))}")
    try:
        result = TASKS[name].load_file(path, **kwargs)
    except UnicodeDecodeError:
        read_text(path)  # raises the DataError that names the line and the byte
        raise
    if not result.examples:
        raise DataError(f"{path}: holds no rows" + (f" (all {result.n_read} skipped as invalid)"
                                                    if result.n_read else ""))
    return result


def recipe_problems(dataset: str, *, split_by: str, task_prefix: bool,
                    label_keys: list[tuple[str, str]] = ()) -> list[tuple[str, str]]:
    """``(key, problem)`` for recipe settings the task cannot honour (checked at load);
    ``label_keys``: ``(key, value)`` of the label-scoring settings the recipe changed."""
    if dataset not in TASKS:
        return [("data.dataset", f"unknown task {dataset!r}; known tasks: {', '.join(sorted(TASKS))}")]
    task, problems = TASKS[dataset], []
    if task.answer_kind is not None:
        if split_by == "premise":
            problems.append(("data.split_by", f"'premise' but {dataset} rows have no premise; "
                                              "set data.split_by: row"))
        if task_prefix:
            problems.append(("loss.task_prefix", f"step-by-step is not supported for {dataset}: "
                                                 "math targets put the reasoning before the answer"))
        problems += [(key, f"'{value}' but {dataset} has no label set (its answers are generated): "
                           "remove it") for key, value in label_keys]
    return problems
