"""Row-by-row validation shared by the JSON-lines loaders: rows in, Examples out, every bad row named.

A loader supplies ``to_example(raw) -> Example`` (or ``(Example, note)``, ``note`` a
non-fatal tally such as ``"answer in several choices"``) that raises :class:`RowError`
for a bad row; :func:`collect` turns that into a DataError naming file, line and
field, or (``skip_invalid``) a skip counted under the error's reason. (e-SNLI keeps its
own reader because it also reads the original CSV layout.)
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
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
    """A row before validation: ``index`` is the 0-based data row (teacher files align on it)."""

    index: int
    where: str  # "file line N" for messages
    source: str  # "file:N" for Example.source
    data: Mapping[str, object] | RowError


def short_repr(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def text_field(data: Mapping[str, object], key: str) -> str:
    """A required non-empty string field, stripped."""
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


def parse_object(text: str) -> Mapping[str, object] | RowError:
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as err:
        return RowError("malformed JSON", f"malformed JSON ({err.msg} at column {err.colno})")
    if not isinstance(parsed, dict):
        return RowError("not a JSON object", f"expected a JSON object, got {type(parsed).__name__}")
    return parsed


def read_jsonl(path: Path, *, what: str) -> Iterator[RawRow]:
    """Rows of a JSON-lines file (blank lines skipped); a JSON array file is refused by name."""
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
            yield RawRow(index, f"{path} line {line_no}", f"{path}:{line_no}", parse_object(line))
            index += 1


def collect(rows: Iterable[RawRow], to_example: Callable[[RawRow], Example | tuple[Example, str | None]],
            *, skip_invalid: bool, what: str) -> LoadResult:
    """Validate rows into Examples; the first bad row raises unless ``skip_invalid``."""
    result = LoadResult(examples=[], skipped=Counter())
    for raw in rows:
        result.n_read += 1
        try:
            if isinstance(raw.data, RowError):
                raise raw.data
            made = to_example(raw)
        except RowError as err:
            if not skip_invalid:
                raise DataError(f"{raw.where}: {err.detail} (pass skip_invalid=True / "
                                "data.skip_invalid: true to skip such rows)") from None
            result.skipped[err.reason] += 1
            continue
        example, note = made if isinstance(made, tuple) else (made, None)
        if note:
            result.counts[note] += 1
        result.examples.append(example)
    if result.skipped:
        logger.warning("%s: skipped invalid rows: %s", what, result.summary())
    return result


def require_file(path: str | Path, what: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: {what} file not found")
    return path


def load_hub_rows(name: str, config: str | None, split: str, what: str) -> Iterator[tuple[int, dict]]:
    """``(index, row)`` of a Hugging Face Hub data set (needs the network or its cache)."""
    import datasets  # slow to import and only Hub users need it

    try:
        dataset = datasets.load_dataset(name, config, split=split) if config else \
            datasets.load_dataset(name, split=split)
    except Exception as err:  # noqa: BLE001 - any Hub failure gets the same actionable message
        raise DataError(
            f"could not load Hub data set {name!r} split {split!r} ({type(err).__name__}: {err}); "
            f"it needs network access or a cached copy; or give a local {what} file instead"
        ) from err
    return enumerate(dataset)


def read_hub_rows(name: str, split: str, what: str, config: str | None = None) -> Iterator[RawRow]:
    """Rows of the Hub data set ``name`` split ``split`` as :class:`RawRow`."""
    for i, row in load_hub_rows(name, config, split, what):
        yield RawRow(i, f"{name} ({split}) row {i}", f"hub:{name}/{split}:{i}", row)
