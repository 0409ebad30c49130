"""Per-teacher report of a run's data: coverage, parse rate, accuracy, agreement, cost.

Written as ``RUN/teachers.json`` when training starts, over every row of the
training file the teachers were attached to (before the train/dev/test split), so
that teachers are compared on the same rows whatever the split.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations

from rdistill.data.example import Example
from rdistill.tasks.teacher_sources import TeacherUsage


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def _labels_by_teacher(examples: Sequence[Example], teacher: str) -> dict[str, str | None]:
    """uid -> the teacher's label (None: rationale present, label unparsed); absent: not covered."""
    out: dict[str, str | None] = {}
    for ex in examples:
        for r in ex.rationales:
            if r.teacher == teacher:
                out[ex.uid] = r.label.casefold() if r.label is not None else None
                break
    return out


def teacher_report(examples: Sequence[Example], teachers: Sequence[str],
                   usage: Mapping[str, TeacherUsage] | None = None) -> dict:
    """The report for ``teachers`` (names, in config order) over ``examples``.

    Per teacher: ``rows_covered`` (examples with a rationale from it) and ``coverage``
    (of all rows), ``labels_parsed`` and ``parse_rate`` (of covered rows), ``correct``
    and ``accuracy`` (label equals gold, of covered rows: an unparsed label counts as
    wrong) and ``accuracy_parsed`` (of parsed rows); ``agreement``: per other teacher,
    ``rows`` where both parsed a label and ``rate`` of equal labels; and, when its
    teacher file carries them, ``tokens`` / ``latency_s`` totals and per-row means.
    Ratios with an empty denominator are null.
    """
    usage = usage or {}
    gold = {ex.uid: ex.label.casefold() for ex in examples}
    labels = {t: _labels_by_teacher(examples, t) for t in teachers}
    report: dict = {"rows": len(examples), "teachers": {}}
    for t in teachers:
        covered = labels[t]
        parsed = {uid: lab for uid, lab in covered.items() if lab is not None}
        correct = sum(lab == gold[uid] for uid, lab in parsed.items())
        entry = {
            "rows_covered": len(covered), "coverage": _ratio(len(covered), len(examples)),
            "labels_parsed": len(parsed), "parse_rate": _ratio(len(parsed), len(covered)),
            "correct": correct, "accuracy": _ratio(correct, len(covered)),
            "accuracy_parsed": _ratio(correct, len(parsed)), "agreement": {},
        }
        if t in usage:
            u = usage[t]
            entry["tokens"] = u.tokens if u.rows_with_tokens else None
            entry["tokens_by_kind"] = dict(u.tokens_by_kind)
            entry["tokens_per_row"] = _ratio(u.tokens, u.rows_with_tokens)
            entry["latency_s"] = round(u.latency_s, 6) if u.rows_with_latency else None
            entry["latency_s_per_row"] = _ratio(u.latency_s, u.rows_with_latency)
        report["teachers"][t] = entry
    for a, b in combinations(teachers, 2):
        both = [uid for uid, lab in labels[a].items()
                if lab is not None and labels[b].get(uid) is not None]
        same = sum(labels[a][uid] == labels[b][uid] for uid in both)
        pair = {"rows": len(both), "rate": _ratio(same, len(both))}
        report["teachers"][a]["agreement"][b] = pair
        report["teachers"][b]["agreement"][a] = dict(pair)
    return report
