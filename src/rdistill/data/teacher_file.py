"""Teacher rationales from a JSON-lines teacher file, matched to examples by ``uid``.

One object per line: ``uid`` (the example's id), ``rationale`` (text),
``label`` (the teacher's answer, or null when it could not be parsed) and
optionally ``teacher`` (a name; default: the file's stem). A line with
``"usable": false`` (written by ``rdistill teach`` for failed or unparsed outputs)
is read but not attached, so training leaves it out. Examples without a
line keep no rationale and are counted; a line naming an unknown uid is an error
(a teacher file for another split or data set).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from rdistill.data.example import Example, TeacherRationale
from rdistill.data.load_result import LoadResult
from rdistill.errors import DataError
from rdistill.io import iter_jsonl


def read_teacher_jsonl(path: str | Path, labels: Sequence[str] = ()) -> dict[str, TeacherRationale]:
    """``uid -> TeacherRationale``; DataError naming the file, line and field of a bad row, or
    the label when ``labels`` (a closed-label task's, compared case-insensitively) lacks it."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: teacher file not found")
    out: dict[str, TeacherRationale] = {}
    for line_no, row in iter_jsonl(path):
        if not isinstance(row, dict):
            raise DataError(f"{path} line {line_no}: expected a JSON object")
        uid = row.get("uid")
        if not isinstance(uid, (str, int)) or isinstance(uid, bool):
            raise DataError(f"{path} line {line_no}: field 'uid' is missing or not a string")
        for key in ("rationale", "label", "teacher"):
            if row.get(key) is not None and not isinstance(row[key], str):
                raise DataError(f"{path} line {line_no}: field '{key}' must be a string or null")
        if row.get("usable") is False:
            continue
        if not row.get("rationale"):
            raise DataError(f"{path} line {line_no}: field 'rationale' is missing or empty")
        label = row.get("label")
        if labels and label is not None and label.strip().lower() not in labels:
            raise DataError(f"{path} line {line_no}: label {label!r} is not one of the task's labels "
                            f"({', '.join(labels)}); write null for an answer that could not be parsed")
        if str(uid) in out:
            raise DataError(f"{path} line {line_no}: uid {uid!r} appears twice")
        out[str(uid)] = TeacherRationale(teacher=row.get("teacher") or path.stem,
                                         text=row["rationale"], label=row.get("label"))
    return out


def attach_teacher_jsonl(examples: Sequence[Example], path: str | Path, labels: Sequence[str] = ()) -> LoadResult:
    """Copies of ``examples`` with the file's rationale appended where it has one (``labels``: as
    :func:`read_teacher_jsonl`)."""
    rationales = read_teacher_jsonl(path, labels)
    known = {ex.uid for ex in examples}
    unknown = [uid for uid in rationales if uid not in known]
    if unknown:
        raise DataError(f"{path}: {len(unknown)} uid(s) not in the data, e.g. {unknown[0]!r}; "
                        "is this the teacher file of another split?")
    counts: Counter[str] = Counter()
    out = []
    for ex in examples:
        rationale = rationales.get(ex.uid)
        if rationale is None:
            counts["no teacher rationale"] += 1
            out.append(ex)
            continue
        counts["teacher label parsed" if rationale.label is not None else "teacher label unparseable"] += 1
        out.append(replace(ex, rationales=(*ex.rationales, rationale), meta=dict(ex.meta)))
    return LoadResult(examples=out, n_read=len(examples), counts=counts)
