"""MATH (Hendrycks et al. 2021): competition problems with LaTeX solutions ending in ``\\boxed{}``.

Two published layouts: the original release, one JSON object per problem in
``MATH/<split>/<type>/<id>.json`` (give the folder), and the JSON-lines export of the
Hub data set ``hendrycks/competition_math`` (give the file). Fields: ``problem``,
``solution``, ``level`` (``Level 1``..``Level 5``), ``type`` (``Algebra``, ...).
The label is the last ``\\boxed{}`` of the solution, normalised as an ``expression``
answer (:mod:`rdistill.data.answers`: numbers canonical, ``\\frac{1}{2}`` -> ``0.5``,
other LaTeX compacted); ``meta["boxed"]`` keeps it as written. Registered as ``math``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from rdistill.data.example import Example
from rdistill.data.json_rows import (RawRow, RowError, collect, parse_object, read_jsonl, short_repr,
                                     text_field)
from rdistill.data.load_result import LoadResult
from rdistill.errors import DataError
from rdistill.data.answers import boxed_contents, normalize_answer


def _read_folder(root: Path) -> Iterator[RawRow]:
    files = sorted(p for p in root.rglob("*.json") if p.is_file())
    if not files:
        raise DataError(f"{root}: no *.json problem files under this folder (MATH layout: "
                        "<split>/<type>/<id>.json)")
    for index, file in enumerate(files):
        yield RawRow(index, f"{file}", f"{file}:1", parse_object(file.read_text(encoding="utf-8")))


def load_math(path: str | Path, *, skip_invalid: bool = False) -> LoadResult:
    """Load MATH from a folder of per-problem JSON files or a JSON-lines file.

    Uids are ``"<type folder>/<file stem>"`` for the folder layout, else ``"<file stem>:<row>"``.
    A solution without ``\\boxed{}`` is invalid (DataError naming the file and field, or a
    counted skip).
    """
    path = Path(path)
    if path.is_dir():
        rows, root = _read_folder(path), path
    elif path.is_file():
        rows, root = read_jsonl(path, what="MATH"), None
    else:
        raise DataError(f"{path}: MATH file or folder not found")

    def to_example(raw: RawRow) -> Example:
        data = raw.data
        problem = text_field(data, "problem")
        solution = text_field(data, "solution")
        boxed = boxed_contents(solution)
        answer = normalize_answer(boxed, "expression") if boxed else None
        if answer is None:
            raise RowError("no boxed answer: solution",
                           f"field 'solution' has no non-empty \\boxed{{...}} answer: {short_repr(solution[-60:])}")
        meta = {"row": str(raw.index), "boxed": boxed}
        for key in ("level", "type"):
            if isinstance(data.get(key), str):
                meta[key] = data[key]
        if root is not None:
            file = Path(raw.where)
            uid = f"{file.parent.name}/{file.stem}"
        else:
            uid = f"{path.stem}:{raw.index}"
        return Example(uid=uid, fields={"question": problem}, label=answer, explanations=(solution,),
                       source=raw.source, meta=meta)

    return collect(rows, to_example, skip_invalid=skip_invalid, what="MATH")
