"""AQuA-RAT (Ling et al. 2017): algebra word problems with five options and a worked rationale.

Published layout (github deepmind/AQuA, ``train.json`` etc.): JSON lines
``{"question", "options": ["A)21", "B)21.5", ...], "rationale", "correct": "A"}``.
The label is the option letter; ``fields["options"]`` holds the options one per
line (``A) 21``), which is how the prompt shows them; the explanation is the rationale.
"""

from __future__ import annotations

import re
from pathlib import Path

from rdistill.data.example import Example
from rdistill.data.json_rows import (RawRow, RowError, collect, read_jsonl, require_file, short_repr,
                                     text_field)
from rdistill.data.load_result import LoadResult

LETTERS = ("A", "B", "C", "D", "E")
_OPTION = re.compile(r"^\s*\(?([A-Ea-e])\s*\)\s*(.*)$", re.DOTALL)


def _options(data) -> list[tuple[str, str]]:
    options = data.get("options")
    if options is None:
        raise RowError("missing field: options", "missing field 'options'")
    if not isinstance(options, list) or not options or not all(isinstance(o, str) for o in options):
        raise RowError("bad value: options",
                       f"field 'options' has value {short_repr(options)}; expected a list of strings like 'A)21'")
    parsed = []
    for position, option in enumerate(options):
        match = _OPTION.match(option)
        expected = LETTERS[position] if position < len(LETTERS) else None
        if match is None or match.group(1).upper() != expected:
            raise RowError("bad value: options",
                           f"field 'options' item {position} is {short_repr(option)}; expected it to "
                           f"start with '{expected})'" if expected else
                           f"field 'options' has {len(options)} items; at most {len(LETTERS)} (A-E)")
        parsed.append((expected, match.group(2).strip()))
    return parsed


def load_aqua(path: str | Path, *, skip_invalid: bool = False) -> LoadResult:
    """Load an AQuA-RAT JSON-lines file; uids ``"<file stem>:<row>"``.

    Invalid: a missing/empty ``question`` or ``rationale``, options that are not
    ``A)..``, ``B)..`` in order, or a ``correct`` letter that names no option.
    """
    path = require_file(path, "AQuA-RAT")

    def to_example(raw: RawRow) -> Example:
        data = raw.data
        question = text_field(data, "question")
        options = _options(data)
        correct = text_field(data, "correct").upper()
        if correct not in [letter for letter, _ in options]:
            raise RowError("bad value: correct",
                           f"field 'correct' is {data['correct']!r}; expected one of the option "
                           f"letters {', '.join(letter for letter, _ in options)}")
        rationale = text_field(data, "rationale")
        return Example(
            uid=f"{path.stem}:{raw.index}",
            fields={"question": question,
                    "options": "\n".join(f"{letter}) {text}" for letter, text in options)},
            label=correct,
            explanations=(rationale,),
            source=raw.source,
            meta={"row": str(raw.index),
                  "correct_option": dict(options)[correct]},
        )

    return collect(read_jsonl(path, what="AQuA-RAT"), to_example, skip_invalid=skip_invalid,
                   what="AQuA-RAT")
