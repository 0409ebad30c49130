"""e-SNLI (Camburu et al. 2018): premise/hypothesis pairs with human explanations.

Three sources give the same records: the JSON-lines layout of "Distilling
step-by-step" (``label`` 0/1/2), the original e-SNLI CSV files (``gold_label`` as
a word) and the Hugging Face Hub data set ``esnli``.
"""

from __future__ import annotations

import csv
import json
import logging
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rdistill.data.example import Example
from rdistill.data.load_result import LoadResult
from rdistill.errors import DataError

logger = logging.getLogger(__name__)

LABELS = ("entailment", "neutral", "contradiction")
_LABEL_HINT = "expected one of 0, 1, 2 or " + ", ".join(LABELS)
_EXPLANATION_KEY = re.compile(r"explanation_(\d+)", re.IGNORECASE)
# Original CSV column -> our canonical name; matched case-insensitively.
_CSV_COLUMNS = {
    "pairid": "uid",
    "gold_label": "label",
    "sentence1": "premise",
    "sentence2": "hypothesis",
}


class _RowError(Exception):
    """One invalid row: ``reason`` is the skip-counter key, ``detail`` the message."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class _RawRow:
    """A row as read from a file, before validation."""

    index: int  # 0-based data row index: PaLM files align on it
    where: str  # "file line N" for error messages
    source: str  # "file:N" for Example.source
    data: Mapping[str, object] | _RowError
    names: Mapping[str, str]  # canonical name -> the column name used by this source


def label_word(value: object) -> str:
    """Map 0/1/2, "0"/"1"/"2" or a label word (any case) to the e-SNLI label word.

    Raises ``ValueError`` for anything else; callers turn it into a DataError.
    """
    # bool is an int subclass; True must not silently mean "neutral".
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(LABELS):
        return LABELS[value]
    if isinstance(value, str):
        word = value.strip().lower()
        if word in LABELS:
            return word
        if word.isdigit() and int(word) < len(LABELS):
            return LABELS[int(word)]
    raise ValueError(value)


def _short_repr(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _text_field(data: Mapping[str, object], names: Mapping[str, str], key: str) -> str:
    column = names[key]
    if column not in data or data[column] is None:
        raise _RowError(f"missing field: {column}", f"missing field '{column}'")
    value = data[column]
    if not isinstance(value, str):
        raise _RowError(
            f"bad value: {column}",
            f"field '{column}' has value {_short_repr(value)}; expected a non-empty string",
        )
    if not value.strip():
        raise _RowError(f"empty field: {column}", f"field '{column}' is empty")
    return value.strip()


def _explanations(data: Mapping[str, object]) -> tuple[str, ...]:
    numbered = []
    for key, value in data.items():
        match = _EXPLANATION_KEY.fullmatch(str(key))
        if match is None or value is None:
            continue  # None: a CSV row shorter than the header, or a null in JSON
        if not isinstance(value, str):
            raise _RowError(
                f"bad value: {key}",
                f"field '{key}' has value {_short_repr(value)}; expected a string",
            )
        if value.strip():
            numbered.append((int(match.group(1)), value.strip()))
    return tuple(text for _, text in sorted(numbered))


def _to_example(raw: _RawRow, uid: str | None) -> Example:
    if isinstance(raw.data, _RowError):
        raise raw.data
    data, names = raw.data, raw.names
    premise = _text_field(data, names, "premise")
    hypothesis = _text_field(data, names, "hypothesis")
    label_column = names["label"]
    if label_column not in data:
        raise _RowError(f"missing field: {label_column}", f"missing field '{label_column}'")
    try:
        label = label_word(data[label_column])
    except ValueError:
        raise _RowError(
            f"bad value: {label_column}",
            f"field '{label_column}' has value {_short_repr(data[label_column])}; {_LABEL_HINT}",
        ) from None
    if uid is None:
        uid = _text_field(data, names, "uid")
    return Example(
        uid=uid,
        fields={"premise": premise, "hypothesis": hypothesis},
        label=label,
        explanations=_explanations(data),
        source=raw.source,
        meta={"row": str(raw.index)},
    )


def _collect(rows: Iterator[_RawRow], uid_prefix: str | None, skip_invalid: bool) -> LoadResult:
    """Validate rows into Examples; raise on the first bad row unless ``skip_invalid``."""
    result = LoadResult(examples=[], skipped=Counter())
    for raw in rows:
        result.n_read += 1
        uid = None if uid_prefix is None else f"{uid_prefix}:{raw.index}"
        try:
            result.examples.append(_to_example(raw, uid))
        except _RowError as err:
            if not skip_invalid:
                raise DataError(
                    f"{raw.where}: {err.detail} (pass skip_invalid=True to skip such rows)"
                ) from None
            result.skipped[err.reason] += 1
    if result.skipped:
        logger.warning("e-SNLI: skipped invalid rows: %s", result.summary())
    return result


def _read_jsonl(path: Path) -> Iterator[_RawRow]:
    names = {"premise": "premise", "hypothesis": "hypothesis", "label": "label", "uid": "uid"}
    index = 0
    with path.open(encoding="utf-8-sig") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue  # blank lines (e.g. a trailing one) are not rows
            data: Mapping[str, object] | _RowError
            try:
                parsed = json.loads(line)
            except json.JSONDecodeError as err:
                detail = f"malformed JSON ({err.msg} at column {err.colno})"
                data = _RowError("malformed JSON", detail)
            else:
                if isinstance(parsed, dict):
                    data = parsed
                else:
                    data = _RowError(
                        "not a JSON object", f"expected a JSON object, got {type(parsed).__name__}"
                    )
            yield _RawRow(index, f"{path} line {line_no}", f"{path}:{line_no}", data, names)
            index += 1


def _read_csv(path: Path) -> Iterator[_RawRow]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        names = {"premise": "", "hypothesis": "", "label": "", "uid": ""}
        for column in header:
            canonical = _CSV_COLUMNS.get(column.strip().lower())
            if canonical is not None:
                names[canonical] = column
        required = {"uid": "pairID", "label": "gold_label", "premise": "Sentence1",
                    "hypothesis": "Sentence2"}
        missing = [column for key, column in required.items() if not names[key]]
        if missing:
            raise DataError(
                f"{path} line 1: missing column(s) {', '.join(missing)}; found {header}; expected "
                "the e-SNLI CSV layout pairID,gold_label,Sentence1,Sentence2,Explanation_1,..."
            )
        last_line = reader.line_num
        index = 0
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as err:
                where = f"{path} line {reader.line_num + 1}"
                raise DataError(f"{where}: malformed CSV ({err})") from None
            line_no, last_line = last_line + 1, reader.line_num
            data: Mapping[str, object] | _RowError = row
            if None in row:  # DictReader files surplus cells under the key None
                n_cells = len(header) + len(row[None])
                data = _RowError(
                    "wrong number of cells",
                    f"row has {n_cells} cells but the header has {len(header)}",
                )
            yield _RawRow(index, f"{path} line {line_no}", f"{path}:{line_no}", data, names)
            index += 1


def _detect_format(path: Path) -> Literal["jsonl", "csv"]:
    with path.open(encoding="utf-8-sig") as handle:
        head = handle.read(4096).lstrip()
    if head.startswith("["):
        # The PaLM rationale files are JSON arrays: the likeliest mix-up.
        raise DataError(
            f"{path}: this is one JSON array, not JSON lines or CSV; e-SNLI files have one "
            "JSON object per line (PaLM rationale arrays go to attach_palm_rationales)"
        )
    if path.suffix.lower() == ".csv":
        return "csv"
    if path.suffix.lower() in (".json", ".jsonl") or head.startswith("{"):
        return "jsonl"
    return "csv"


def load_esnli(path: str | Path, *, skip_invalid: bool = False) -> LoadResult:
    """Load an e-SNLI file in the JSON-lines or the original CSV layout.

    The layout is chosen by suffix (``.csv`` / ``.json`` / ``.jsonl``), else by content.
    Uids are the CSV ``pairID`` or ``"<file stem>:<row index>"``; ``meta["row"]`` keeps the
    0-based row index so that row-aligned teacher files still align after skipping.
    An invalid row raises DataError naming file, line and field, or with
    ``skip_invalid=True`` is skipped and counted in ``LoadResult.skipped``.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: e-SNLI file not found")
    if _detect_format(path) == "csv":
        return _collect(_read_csv(path), None, skip_invalid)
    return _collect(_read_jsonl(path), path.stem, skip_invalid)


def load_esnli_hub(split: str, *, name: str = "esnli", skip_invalid: bool = False) -> LoadResult:
    """Load e-SNLI ``split`` (train/validation/test) from the Hugging Face Hub.

    Needs network access or a populated HF cache. Rows get uids ``"<name>:<split>:<i>"``.
    """
    import datasets  # imported here: slow to import and only this function needs it

    try:
        dataset = datasets.load_dataset(name, split=split)
    except Exception as err:  # noqa: BLE001 - any Hub failure gets the same actionable message
        raise DataError(
            f"could not load Hub data set {name!r} split {split!r} ({type(err).__name__}: {err}); "
            "it needs network access or a cached copy; or give a local e-SNLI file instead"
        ) from err
    names = {"premise": "premise", "hypothesis": "hypothesis", "label": "label", "uid": "uid"}
    rows = (
        _RawRow(i, f"{name} ({split}) row {i}", f"hub:{name}/{split}:{i}", row, names)
        for i, row in enumerate(dataset)
    )
    return _collect(rows, f"{name}:{split}", skip_invalid)
