"""GSM8K (Cobbe et al. 2021): grade-school word problems with worked steps.

Each row is ``{"question", "answer"}``; ``answer`` holds the steps, with calculator
annotations ``<<48/2=24>>`` after each computation, and a final line ``#### 72``.
The Example's explanation is the steps without annotations (what a student should
write), ``meta["annotated_steps"]`` keeps them, ``steps`` are the annotations in
order (``"<<48/2=24>>"``, the form GSM8K-Aug rows have), and the label is the final number
in canonical form (``1,080`` -> ``1080``; see :mod:`rdistill.data.answers`).
"""

from __future__ import annotations

import re
from pathlib import Path

from rdistill.data.arithmetic import format_number
from rdistill.data.example import Example
from rdistill.data.json_rows import (RawRow, RowError, collect, load_hub_rows, read_jsonl,
                                     require_file, short_repr, text_field)
from rdistill.data.load_result import LoadResult
from rdistill.data.answers import parse_number

_ANNOTATION = re.compile(r"<<[^<>]*>>")
_FINAL = re.compile(r"\n?####[ \t]*([^\n]*)\s*$")


def split_gsm8k_answer(answer: str) -> tuple[str, str, str]:
    """``(steps without annotations, annotated steps, final answer text)`` of one ``answer`` field.

    Raises RowError when the final ``#### n`` line is missing or holds no number.
    """
    match = _FINAL.search(answer)
    if match is None:
        raise RowError("no final answer: answer",
                       f"field 'answer' has no final '#### <number>' line: {short_repr(answer[-60:])}")
    final = match.group(1).strip()
    annotated = answer[:match.start()].strip()
    steps = _ANNOTATION.sub("", annotated).strip()
    if parse_number(final) is None:
        raise RowError("bad value: answer",
                       f"field 'answer' ends with '#### {final}', which is not a number")
    return steps, annotated, final


def _example(data, *, uid: str, source: str, index: int) -> Example:
    question = text_field(data, "question")
    steps, annotated, final = split_gsm8k_answer(text_field(data, "answer"))
    return Example(
        uid=uid,
        fields={"question": question},
        label=format_number(parse_number(final)),
        explanations=(steps,) if steps else (),
        steps=tuple(_ANNOTATION.findall(annotated)),
        source=source,
        meta={"row": str(index), "annotated_steps": annotated, "answer_text": final},
    )


def load_gsm8k(path: str | Path, *, skip_invalid: bool = False) -> LoadResult:
    """Load a GSM8K JSON-lines file (``train.jsonl`` / ``test.jsonl`` of openai/grade-school-math).

    Uids are ``"<file stem>:<row>"``. A bad row raises DataError naming file, line and
    field, or with ``skip_invalid`` is skipped and counted.
    """
    path = require_file(path, "GSM8K")

    def to_example(raw: RawRow) -> Example:
        return _example(raw.data, uid=f"{path.stem}:{raw.index}", source=raw.source, index=raw.index)

    return collect(read_jsonl(path, what="GSM8K"), to_example, skip_invalid=skip_invalid, what="GSM8K")


def load_gsm8k_hub(split: str, *, name: str = "gsm8k", skip_invalid: bool = False) -> LoadResult:
    """GSM8K ``split`` from the Hugging Face Hub (config ``main``); needs the network or a cache."""
    rows = (RawRow(i, f"{name} ({split}) row {i}", f"hub:{name}/{split}:{i}", row)
            for i, row in load_hub_rows(name, "main", split, "GSM8K"))

    def to_example(raw: RawRow) -> Example:
        return _example(raw.data, uid=f"{name}:{split}:{raw.index}", source=raw.source, index=raw.index)

    return collect(rows, to_example, skip_invalid=skip_invalid, what="GSM8K")
