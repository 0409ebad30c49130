"""Teacher backend: outputs that already exist on disk, converted to a teacher file.

Two layouts: PaLM ``.json`` arrays of raw completions, row-aligned with the data file
and listed in order (matched by ``meta["row"]``, as ``attach_palm_rationales`` does);
or one JSON-lines file matched by ``uid``, each line holding ``raw`` (parsed here) or
an already split ``rationale`` + ``label``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rdistill.data.example import Example
from rdistill.tasks.palm import _row_of, read_palm_files
from rdistill.errors import DataError
from rdistill.io import iter_jsonl


def file_outputs(examples: Sequence[Example], files: Sequence[Path], n_rows: int
                 ) -> dict[str, dict]:
    """``uid -> {"raw": str}`` or ``{"rationale": str, "label": str|None}`` for rows with an output."""
    if len(files) == 1 and str(files[0]).endswith(".jsonl"):
        return _jsonl_outputs(examples, files[0])
    entries = read_palm_files(files)
    if len(entries) != n_rows:
        raise DataError(f"teacher files {', '.join(map(str, files))} hold {len(entries)} completions "
                        f"but the data file has {n_rows} rows; they must be row-aligned and in order")
    out = {}
    for position, ex in enumerate(examples):
        where, raw = entries[_row_of(ex, position)]
        if not isinstance(raw, str):
            raise DataError(f"{where}: expected a completion string, got {type(raw).__name__}")
        out[ex.uid] = {"raw": raw}
    return out


def _jsonl_outputs(examples: Sequence[Example], path: Path) -> dict[str, dict]:
    known = {ex.uid for ex in examples}
    out: dict[str, dict] = {}
    for line_no, row in iter_jsonl(path):
        where = f"{path} line {line_no}"
        if not isinstance(row, dict) or not isinstance(row.get("uid"), (str, int)):
            raise DataError(f"{where}: expected a JSON object with a 'uid'")
        uid = str(row["uid"])
        if uid not in known:
            continue  # rows of the other splits: this run annotates only the selected rows
        if isinstance(row.get("raw"), str):
            out[uid] = {"raw": row["raw"]}
        elif isinstance(row.get("rationale"), str):
            label = row.get("label")
            if label is not None and not isinstance(label, str):
                raise DataError(f"{where}: field 'label' must be a string or null")
            out[uid] = {"rationale": row["rationale"], "label": label}
        else:
            raise DataError(f"{where}: needs 'raw' (a teacher completion) or 'rationale' (+ 'label')")
    return out
