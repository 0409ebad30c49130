"""Several named teachers attached to one data set: PaLM arrays and JSON-lines teacher files.

``data.teacher_files`` lists the teachers. Plain paths together form the teacher
``palm`` (row-aligned PaLM arrays, concatenated in order, as e-SNLI's two files are);
an entry ``{name, format, files}`` is one teacher: ``format: palm`` (arrays) or
``format: jsonl`` (files written by ``rdistill teach`` or by hand, matched by uid; see
:mod:`rdistill.data.teacher_file`). Each example gets one ``TeacherRationale`` per
teacher that covers it, in the order listed, named after its teacher.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from rdistill.data.example import Example, TeacherRationale
from rdistill.data.load_result import LoadResult
from rdistill.tasks.palm import attach_palm_rationales
from rdistill.tasks.registry import get_task
from rdistill.data.teacher_file import read_teacher_jsonl
from rdistill.errors import DataError
from rdistill.io import iter_jsonl


@dataclass(frozen=True)
class TeacherSpec:
    """One teacher as configured, with its files resolved to paths."""

    name: str
    format: str  # "palm" | "jsonl"
    files: tuple[Path, ...]


@dataclass
class TeacherUsage:
    """What a teacher file says its rationales cost (``tokens``, ``latency_s`` per line)."""

    rows_with_tokens: int = 0
    tokens: int = 0
    tokens_by_kind: Counter[str] = field(default_factory=Counter)
    rows_with_latency: int = 0
    latency_s: float = 0.0


def teacher_specs(entries: Sequence[object], resolve: Callable[[str], Path]) -> list[TeacherSpec]:
    """Config entries (plain paths or ``TeacherSource``) -> specs; ``resolve`` locates a file.

    Plain ``.jsonl`` paths (``rdistill teach`` output) are one teacher each, named by the
    ``teacher`` field of their first row (else the file's stem); the other plain paths
    together are the PaLM teacher ``palm``.
    """
    plain = [resolve(e) for e in entries if isinstance(e, str)]
    palm = [path for path in plain if path.suffix != ".jsonl"]
    specs = [TeacherSpec("palm", "palm", tuple(palm))] if palm else []
    specs += [TeacherSpec(_jsonl_teacher_name(path), "jsonl", (path,)) for path in plain
              if path.suffix == ".jsonl"]
    for entry in entries:
        if not isinstance(entry, str):
            specs.append(TeacherSpec(entry.name, entry.format, tuple(resolve(f) for f in entry.files)))
    return specs


def _jsonl_teacher_name(path: Path) -> str:
    for _, row in iter_jsonl(path):
        if isinstance(row, dict) and isinstance(row.get("teacher"), str) and row["teacher"].strip():
            return row["teacher"].strip()
        break
    return path.stem


def read_usage(files: Sequence[Path]) -> TeacherUsage:
    """Sum ``tokens`` (an int, or a mapping of ints such as prompt/completion) and ``latency_s``."""
    usage = TeacherUsage()
    for path in files:
        for line_no, row in iter_jsonl(path):
            if not isinstance(row, dict):
                continue  # read_teacher_jsonl has already rejected such a line
            tokens, latency = row.get("tokens"), row.get("latency_s")
            if isinstance(tokens, dict):
                if not all(isinstance(v, int) and not isinstance(v, bool) for v in tokens.values()):
                    raise DataError(f"{path} line {line_no}: field 'tokens' must map names to integers")
                usage.tokens_by_kind.update(tokens)
                usage.tokens += sum(tokens.values())
                usage.rows_with_tokens += 1
            elif tokens is not None:
                if not isinstance(tokens, int) or isinstance(tokens, bool) or tokens < 0:
                    raise DataError(f"{path} line {line_no}: field 'tokens' is {tokens!r}; "
                                    "expected a non-negative integer or a mapping of integers")
                usage.tokens += tokens
                usage.rows_with_tokens += 1
            if latency is not None:
                if not isinstance(latency, (int, float)) or isinstance(latency, bool) or latency < 0:
                    raise DataError(f"{path} line {line_no}: field 'latency_s' is {latency!r}; "
                                    "expected a non-negative number of seconds")
                usage.latency_s += float(latency)
                usage.rows_with_latency += 1
    return usage


def _attach_jsonl(examples: Sequence[Example], spec: TeacherSpec, task: str) -> LoadResult:
    rationales: dict[str, TeacherRationale] = {}
    for path in spec.files:
        for uid, rationale in read_teacher_jsonl(path, labels=get_task(task).labels).items():
            if uid in rationales:
                raise DataError(f"{path}: uid {uid!r} also appears in an earlier file of teacher "
                                f"{spec.name!r}")
            rationales[uid] = replace(rationale, teacher=spec.name)
    known = {ex.uid for ex in examples}
    unknown = [uid for uid in rationales if uid not in known]
    if unknown:
        raise DataError(f"teacher {spec.name!r} ({', '.join(map(str, spec.files))}): {len(unknown)} "
                        f"uid(s) not in the data, e.g. {unknown[0]!r}; is this the teacher file of "
                        "another data set or split?")
    result = LoadResult(examples=[], n_read=len(examples))
    for ex in examples:
        rationale = rationales.get(ex.uid)
        if rationale is None:
            result.counts[f"{spec.name} no rationale"] += 1
            result.examples.append(ex)
            continue
        parsed = rationale.label is not None
        result.counts[f"{spec.name} label {'parsed' if parsed else 'unparseable'}"] += 1
        result.examples.append(replace(ex, rationales=(*ex.rationales, rationale), meta=dict(ex.meta)))
    return result


def _canonical(examples: list[Example], task: str) -> list[Example]:
    """Teacher labels in the form gold takes (lower case; the task's own mapping, if any)."""
    mapping = get_task(task).teacher_label
    out = []
    for ex in examples:
        rationales = tuple(
            r if r.label is None else replace(
                r, label=mapping(ex, r.label) if mapping else r.label.strip().lower())
            for r in ex.rationales)
        out.append(replace(ex, rationales=rationales) if rationales != ex.rationales else ex)
    return out


def attach_teachers(examples: Sequence[Example], specs: Sequence[TeacherSpec], *, task: str,
                    n_rows: int, skip_invalid: bool = False
                    ) -> tuple[list[Example], dict[str, dict], dict[str, TeacherUsage]]:
    """Attach every teacher in order: (examples, per-teacher load summary, per-teacher usage).

    ``n_rows`` is the data file's row count (``LoadResult.n_read``): PaLM arrays align
    with its rows. With ``skip_invalid`` a PaLM entry that is not a string drops its
    example (counted in the summary's ``skipped``).
    """
    out = list(examples)
    summary: dict[str, dict] = {}
    usage: dict[str, TeacherUsage] = {}
    for spec in specs:
        if spec.format == "palm":
            result = attach_palm_rationales(out, spec.files, teacher=spec.name, task=task,
                                            n_rows=n_rows, skip_invalid=skip_invalid)
        elif spec.format == "jsonl":
            result = _attach_jsonl(out, spec, task)
            usage[spec.name] = read_usage(spec.files)
        else:
            raise DataError(f"teacher {spec.name!r}: unknown format {spec.format!r}; expected palm or jsonl")
        out = result.examples
        summary[spec.name] = {"format": spec.format, "files": [str(f) for f in spec.files],
                              "skipped": dict(result.skipped), "counts": dict(result.counts)}
    return _canonical(out, task), summary, usage
