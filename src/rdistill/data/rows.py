"""Row reading and validation shared by the ANLI and CommonsenseQA loaders.

A loader turns each raw row into an :class:`Example` or raises :class:`RowError`;
:func:`collect_rows` turns that into a DataError naming file, line and field, or,
with ``skip_invalid``, into a counted skip. (e-SNLI keeps its own copy of this logic
because it also reads the original CSV layout.)
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from rdistill.data.example import Example
from rdistill.data.load_result import LoadResult
from rdistill.errors import DataError

logger = logging.getLogger(__name__)


class RowError(Exception):
    """One invalid row: ``reason`` is the skip-counter key, ``detail`` the message."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class RawRow:
    """A row as read, before validation."""

    index: int  # 0-based data row index: PaLM files align on it
    where: str  # "file line N" for error messages
    source: str  # "file:N" for Example.source
    data: Mapping[str, object] | RowError


def short_repr(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def text_field(data: Mapping[str, object], key: str) -> str:
    """The stripped non-empty string under ``key``, else RowError naming the field."""
    if key not in data or data[key] is None:
        raise RowError(f"missing field: {key}", f"missing field '{key}'")
    value = data[key]
    if not isinstance(value, str):
        raise RowError(f"bad value: {key}",
                       f"field '{key}' has value {short_repr(value)}; expected a non-empty string")
    if not value.strip():
        raise RowError(f"empty field: {key}", f"field '{key}' is empty")
    return value.strip()


def optional_text(data: Mapping[str, object], key: str) -> str | None:
    """The stripped string under ``key``; None when absent, null or blank."""
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise RowError(f"bad value: {key}",
                       f"field '{key}' has value {short_repr(value)}; expected a string")
    return value.strip() or None


def read_json_lines(path: Path, what: str) -> Iterator[RawRow]:
    """Rows of a JSON-lines file; blank lines are not rows but keep line numbers."""
    if not path.is_file():
        raise DataError(f"{path}: {what} file not found")
    with path.open(encoding="utf-8-sig") as handle:
        head = handle.read(4096).lstrip()
    if head.startswith("["):
        raise DataError(f"{path}: this is one JSON array, not JSON lines; {what} files have one "
                        "JSON object per line (PaLM rationale arrays go to data.teacher_files)")
    index = 0
    with path.open(encoding="utf-8-sig") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            data: Mapping[str, object] | RowError
            try:
                parsed = json.loads(line)
            except json.JSONDecodeError as err:
                data = RowError("malformed JSON", f"malformed JSON ({err.msg} at column {err.colno})")
            else:
                data = parsed if isinstance(parsed, dict) else RowError(
                    "not a JSON object", f"expected a JSON object, got {type(parsed).__name__}")
            yield RawRow(index, f"{path} line {line_no}", f"{path}:{line_no}", data)
            index += 1


def collect_rows(rows: Iterator[RawRow],
                 to_example: Callable[[RawRow], tuple[Example, str | None]], *,
                 skip_invalid: bool, what: str) -> LoadResult:
    """Validate rows into Examples; raise on the first bad row unless ``skip_invalid``.

    ``to_example`` returns the Example and optionally the name of a non-fatal
    tally (e.g. ``"answer in several choices"``), counted in ``LoadResult.counts``.
    """
    result = LoadResult(examples=[], skipped=Counter())
    for raw in rows:
        result.n_read += 1
        try:
            if isinstance(raw.data, RowError):
                raise raw.data
            example, note = to_example(raw)
        except RowError as err:
            if not skip_invalid:
                raise DataError(f"{raw.where}: {err.detail} (pass skip_invalid=True, "
                                "or data.skip_invalid=true, to skip such rows)") from None
            result.skipped[err.reason] += 1
            continue
        if note:
            result.counts[note] += 1
        result.examples.append(example)
    if result.skipped:
        logger.warning("%s: skipped invalid rows: %s", what, result.summary())
    return result


def read_hub_rows(name: str, split: str, what: str) -> Iterator[RawRow]:
    """Rows of the Hugging Face Hub data set ``name`` split ``split`` (network or HF cache)."""
    import datasets  # imported here: slow to import and only Hub loading needs it

    try:
        dataset = datasets.load_dataset(name, split=split)
    except Exception as err:  # noqa: BLE001 - any Hub failure gets the same actionable message
        raise DataError(
            f"could not load Hub data set {name!r} split {split!r} ({type(err).__name__}: {err}); "
            f"it needs network access or a cached copy; or give a local {what} file instead"
        ) from err
    for i, row in enumerate(dataset):
        yield RawRow(i, f"{name} ({split}) row {i}", f"hub:{name}/{split}:{i}", row)
