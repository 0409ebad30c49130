"""Tiny e-SNLI fixtures written into tmp_path (the shared data is never copied)."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import pytest

ESNLI_ROWS = [
    {"premise": "Two women are embracing.", "hypothesis": "Two sisters hug goodbye.", "label": 1,
     "explanation_1": "They may not be sisters.", "explanation_2": "Not goodbye.",
     "explanation_3": "Hugging need not mean goodbye."},
    {"premise": "Two women are embracing.", "hypothesis": "Two women hug.", "label": 0,
     "explanation_1": "Embracing is hugging.", "explanation_2": "", "explanation_3": ""},
    {"premise": "Two women are embracing.", "hypothesis": "Men are fighting.", "label": 2,
     "explanation_1": "Women are not men.", "explanation_2": "Embracing is not fighting.",
     "explanation_3": "Different people."},
    {"premise": "A dog runs in snow.", "hypothesis": "An animal is outside.", "label": "entailment",
     "explanation_1": "A dog is an animal in snow, outside.", "explanation_2": "",
     "explanation_3": ""},
    {"premise": "A dog runs in snow.", "hypothesis": "A cat sleeps.", "label": "contradiction",
     "explanation_1": "A dog is not a cat.", "explanation_2": "", "explanation_3": ""},
]

CSV_HEADER = [
    "pairID", "gold_label", "Sentence1", "Sentence2", "Explanation_1", "Sentence1_marked_1",
    "Sentence2_marked_1", "Sentence1_Highlighted_1", "Sentence2_Highlighted_1", "Explanation_2",
    "Sentence1_marked_2", "Sentence2_marked_2", "Sentence1_Highlighted_2",
    "Sentence2_Highlighted_2", "Explanation_3", "Sentence1_marked_3", "Sentence2_marked_3",
    "Sentence1_Highlighted_3", "Sentence2_Highlighted_3",
]


def csv_row(pair_id: str, label: str, premise: str, hypothesis: str, *expl: str) -> list[str]:
    """A row in the original e-SNLI dev/test layout (marked/highlighted columns filled)."""
    cells = [pair_id, label, premise, hypothesis]
    for k in range(3):
        cells += [expl[k] if k < len(expl) else "", f"*{premise}*", f"*{hypothesis}*", "0", "1"]
    return cells


@pytest.fixture
def write_jsonl(tmp_path: Path) -> Callable[..., Path]:
    """Write rows (dicts, or raw strings written verbatim) as JSON lines."""

    def write(rows: list[object], name: str = "esnli_valid.json") -> Path:
        path = tmp_path / name
        lines = [row if isinstance(row, str) else json.dumps(row) for row in rows]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    return write


@pytest.fixture
def write_csv(tmp_path: Path) -> Callable[..., Path]:
    """Write a header and rows as CSV (the csv module quotes as the originals do)."""

    def write(rows: list[list[str]], header: list[str] = CSV_HEADER,
              name: str = "esnli_dev.csv") -> Path:
        path = tmp_path / name
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)
        return path

    return write


@pytest.fixture
def esnli_rows() -> list[dict[str, object]]:
    """Five JSON-lines rows (copies: tests may edit them)."""
    return [dict(row) for row in ESNLI_ROWS]


@pytest.fixture(name="csv_row")
def csv_row_fixture() -> Callable[..., list[str]]:
    return csv_row


@pytest.fixture
def esnli_file(write_jsonl: Callable[..., Path]) -> Path:
    return write_jsonl(ESNLI_ROWS)


@pytest.fixture
def write_palm(tmp_path: Path) -> Callable[..., Path]:
    """Write completions as one JSON array, the PaLM file layout."""

    def write(completions: list[object], name: str = "valid_CoT_0.json") -> Path:
        path = tmp_path / name
        path.write_text(json.dumps(completions), encoding="utf-8")
        return path

    return write
