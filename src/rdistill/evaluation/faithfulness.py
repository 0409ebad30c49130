"""Explanation faithfulness from a simulatability judge: does the explanation give the label away?

Pure functions over label lists; the judge that produces them lives in
``simulatability.py``. A ``None`` anywhere (no prediction, no explanation)
counts as "does not match".

- faithfulness: share of examples whose explanation alone the judge maps to
  the student's predicted label.
- LAS (Leakage-Adjusted Simulatability, Hase et al. 2020, "Leakage-Adjusted
  Simulatability: Can Models Generate Non-Trivial Explanations of Their
  Behavior in Natural Language?"): the judge's accuracy at simulating the
  student's label from input + explanation minus its accuracy from the input
  alone, computed separately on examples whose explanation leaks the label
  (the explanation-only judge already maps it to the student's label) and on
  the rest, then averaged over the two groups so that leaking explanations
  cannot dominate the score.
"""

from __future__ import annotations

from collections.abc import Sequence


def _matches(judged: Sequence[str | None], target: Sequence[str | None]) -> list[bool]:
    if len(judged) != len(target):
        raise ValueError(f"{len(judged)} judged labels for {len(target)} targets")
    return [j is not None and j == t for j, t in zip(judged, target)]


def faithfulness(judged_labels: Sequence[str | None], pred_labels: Sequence[str | None]) -> float:
    """Share of examples whose explanation the judge maps to the predicted label (0 if empty)."""
    hits = _matches(judged_labels, pred_labels)
    return sum(hits) / len(hits) if hits else 0.0


def las(
    pred_labels: Sequence[str | None],
    judged_with_explanation: Sequence[str | None],
    judged_input_only: Sequence[str | None],
    judged_explanation_only: Sequence[str | None],
) -> dict:
    """Leakage-adjusted simulatability of the predicted labels.

    All four lists are aligned per example: the student's labels, and the
    judge's labels from (input + explanation), (input alone) and (explanation
    alone). Returns ``las`` (in [-1, 1]; mean of the per-group gains over the
    non-empty groups, None when there are no examples), ``leaking`` and
    ``non_leaking`` blocks (``n``, ``acc_with_explanation``, ``acc_input_only``,
    ``gain``; gain None for an empty group).
    """
    n = len(pred_labels)
    for name, judged in (("input+explanation", judged_with_explanation),
                         ("input-only", judged_input_only),
                         ("explanation-only", judged_explanation_only)):
        if len(judged) != n:
            raise ValueError(f"{len(judged)} {name} judge labels for {n} predictions")
    leaks = _matches(judged_explanation_only, pred_labels)
    with_expl = _matches(judged_with_explanation, pred_labels)
    input_only = _matches(judged_input_only, pred_labels)

    def group(flag: bool) -> dict:
        idx = [i for i in range(n) if leaks[i] == flag]
        if not idx:
            return {"n": 0, "acc_with_explanation": None, "acc_input_only": None, "gain": None}
        acc_xe = sum(with_expl[i] for i in idx) / len(idx)
        acc_x = sum(input_only[i] for i in idx) / len(idx)
        return {"n": len(idx), "acc_with_explanation": acc_xe, "acc_input_only": acc_x,
                "gain": acc_xe - acc_x}

    leaking, non_leaking = group(True), group(False)
    gains = [g["gain"] for g in (leaking, non_leaking) if g["gain"] is not None]
    return {"las": sum(gains) / len(gains) if gains else None,
            "leaking": leaking, "non_leaking": non_leaking}
