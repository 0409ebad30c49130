"""Teacher rationales from the PaLM 540B files of "Distilling step-by-step" (Hsieh et al. 2023).

Each file is one JSON array of raw few-shot completions, row-aligned with a data file.
A completion is ``<rationale><answer statement>`` and then, after a blank line, the
model's continuation of the few-shot prompt (``\\n\\nPremise: ...``, ``\\n\\nQ: ...``),
sometimes cut mid-word (``\\n\\nPremi``), which is dropped.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from rdistill.data.example import Example, TeacherRationale
from rdistill.data.load_result import LoadResult
from rdistill.tasks.registry import TASKS, AnswerFormat
from rdistill.errors import DataError
from rdistill.io import read_text

logger = logging.getLogger(__name__)


# The answer formats are declared with their tasks (rdistill.tasks.registry); a task
# without PaLM files has none.
ANSWER_FORMATS: dict[str, AnswerFormat] = {
    name: task.palm_format for name, task in TASKS.items() if task.palm_format is not None
}

# The few-shot prompt separates its examples by a blank line, so the first blank line
# ends the completion proper whatever the spill-over starts with.
_SPILL_OVER = "\n\n"


def parse_palm(raw: str, task: str) -> tuple[str, str | None]:
    """Split one raw completion into ``(rationale, label)``.

    Never raises on model text: ``label`` is ``None`` when no answer statement is found,
    when the answer is outside the task's label set, or when the rationale is empty.
    Without an answer statement the whole (cut) completion is returned as rationale.
    """
    return parse_completion(raw, ANSWER_FORMATS[task])


def parse_completion(raw: str, answer_format: AnswerFormat) -> tuple[str, str | None]:
    """``parse_palm`` with the answer format given instead of looked up by task."""
    text = raw.split(_SPILL_OVER, 1)[0]
    matches = list(answer_format.pattern.finditer(text))
    if not matches:
        return text.strip(), None
    last = matches[-1]
    rationale = text[: last.start()].strip()
    label = last.group("label").strip().rstrip(".").strip()
    if answer_format.normalise is not None:
        label = answer_format.normalise(label) or ""
    if answer_format.labels is not None:
        label = label.lower()
        if label not in answer_format.labels:
            return rationale, None
    if not rationale or not label:
        return rationale, None
    return rationale, label


def parse_palm_esnli(raw: str) -> tuple[str, str | None]:
    """``parse_palm(raw, "esnli")``: ``"<rationale>\\nAnswer: <label>\\n\\nPremise: ..."``."""
    return parse_palm(raw, "esnli")


def read_palm_files(files: Sequence[str | Path]) -> list[tuple[str, object]]:
    """Concatenate the JSON arrays in ``files`` in order, as ``("file item i", entry)``."""
    entries: list[tuple[str, object]] = []
    for file in map(Path, files):
        if not file.is_file():
            raise DataError(f"{file}: teacher rationale file not found")
        try:
            items = json.loads(read_text(file))
        except json.JSONDecodeError as err:
            raise DataError(
                f"{file} line {err.lineno}: malformed JSON ({err.msg} at column {err.colno})"
            ) from None
        if not isinstance(items, list):
            raise DataError(
                f"{file}: expected one JSON array of completion strings, got {type(items).__name__}"
            )
        entries.extend((f"{file} item {i}", item) for i, item in enumerate(items))
    return entries


def _row_of(example: Example, position: int) -> int:
    """The example's original row in the data file (``meta["row"]``), else its position."""
    if "row" not in example.meta:
        return position
    try:
        return int(example.meta["row"])
    except ValueError:
        raise DataError(
            f"{example.source or example.uid}: meta['row'] is {example.meta['row']!r}, "
            "expected the row index as an integer"
        ) from None


def attach_palm_rationales(
    examples: Sequence[Example],
    files: Sequence[str | Path],
    *,
    teacher: str = "palm",
    task: str = "esnli",
    n_rows: int | None = None,
    skip_invalid: bool = False,
) -> LoadResult:
    """Return copies of ``examples`` with one ``TeacherRationale`` from ``files`` appended.

    ``files`` are concatenated in the order given and must hold exactly ``n_rows``
    completions: the row count of the data file (``LoadResult.n_read``), which is
    ``len(examples)`` by default. Pass it when rows were skipped at load: each example
    is matched to its completion by its original row (``meta["row"]``), not its position.
    A completion that is not a string raises DataError, or with ``skip_invalid`` drops
    the example (counted in ``skipped``). Unparseable answers are kept with ``label=None``
    and counted in ``counts`` with agreement: ``"<teacher> label parsed"``,
    ``"<teacher> label unparseable"``, ``"<teacher> label agrees with gold"``.
    """
    if task not in ANSWER_FORMATS:
        raise DataError(
            f"no PaLM answer format for task {task!r}; known: {', '.join(sorted(ANSWER_FORMATS))}"
        )
    entries = read_palm_files(files)
    expected = len(examples) if n_rows is None else n_rows
    if len(entries) != expected:
        names = ", ".join(str(f) for f in files)
        hint = (
            "" if n_rows is not None
            else "; if rows were skipped when loading, pass n_rows=<LoadResult.n_read>"
        )
        raise DataError(
            f"teacher rationales misaligned: {names} hold {len(entries)} completions but the "
            f"data has {expected} rows; the files must be row-aligned with the data file "
            f"and listed in order{hint}"
        )
    result = LoadResult(examples=[], skipped=Counter(), n_read=len(examples))
    for position, example in enumerate(examples):
        row = _row_of(example, position)
        if not 0 <= row < len(entries):
            raise DataError(
                f"{example.source or example.uid}: row {row} has no completion "
                f"({len(entries)} completions in {', '.join(str(f) for f in files)})"
            )
        where, raw = entries[row]
        if not isinstance(raw, str):
            if not skip_invalid:
                raise DataError(
                    f"{where}: expected a completion string, got {type(raw).__name__} "
                    "(pass skip_invalid=True to drop such examples)"
                )
            result.skipped[f"{teacher} completion not a string"] += 1
            continue
        rationale, label = parse_palm(raw, task)
        if label is None:
            result.counts[f"{teacher} label unparseable"] += 1
        else:
            result.counts[f"{teacher} label parsed"] += 1
            if label.casefold() == example.label.casefold():
                result.counts[f"{teacher} label agrees with gold"] += 1
        rationale_record = TeacherRationale(teacher=teacher, text=rationale, label=label)
        result.examples.append(
            replace(
                example,
                rationales=(*example.rationales, rationale_record),
                meta=dict(example.meta),  # copies must not share a mutable dict
            )
        )
    logger.info("attached %s rationales: %s", teacher, result.summary())
    return result
