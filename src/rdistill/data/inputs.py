"""Rows to predict on, from a JSON-lines file a user wrote (``rdistill predict --input``)."""

from __future__ import annotations

from pathlib import Path

from rdistill.data.example import Example
from rdistill.errors import DataError
from rdistill.io import iter_jsonl


def read_prediction_inputs(path: str | Path) -> list[Example]:
    """Premise/hypothesis pairs, or math ``question``s (+ ``options``), from a JSON-lines file (``label`` optional)."""
    examples = []
    p = Path(path)
    if not p.is_file():
        raise DataError(f"input file '{p}' does not exist")
    for line_no, row in iter_jsonl(p):
        if not isinstance(row, dict):
            raise DataError(f"{p} line {line_no}: expected a JSON object")
        keys = ("question",) if "question" in row else ("premise", "hypothesis")
        for key in keys:
            if not isinstance(row.get(key), str) or not row[key].strip():
                raise DataError(f"{p} line {line_no}: field '{key}' is missing or empty")
        fields = {key: row[key] for key in (*keys, "options") if isinstance(row.get(key), str)}
        examples.append(Example(uid=str(row.get("uid", line_no)), label=str(row.get("label", "")),
                                fields=fields))
    if not examples:
        raise DataError(f"{p} holds no rows: one JSON object per line (premise + hypothesis, or question)")
    return examples
