"""Error analysis: one category per example, top label confusions, and examples to read.

Categories (exactly one per example):
- ``invalid``: no usable prediction: ``pred_label`` is None (or outside
  ``labels`` when given), or the explanation is missing/blank while the model
  is expected to explain;
- ``correct``: right label, explanation consistent with the gold label;
- ``label_error``: wrong label, explanation consistent with the gold label;
- ``explanation_error``: right label, explanation inconsistent with it;
- ``both``: wrong label and an explanation inconsistent with the gold label.

"Consistent" is decided by a judge: ``explanation_labels`` holds, per example,
the label the explanation supports according to any judge (the lexical cue
baseline in ``consistency.py`` or a model), None when it cannot tell. Unjudged
explanations are treated as consistent and counted in ``explanation_unjudged``
(which overlaps the categories above). Label-only models are judged on the
label alone.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from rdistill.evaluation.classification import INVALID
from rdistill.io import write_text_atomic

CATEGORIES = ("correct", "label_error", "explanation_error", "both", "invalid")


def _category(record: dict, judged: str | None, labels: Sequence[str] | None,
              explanations_expected: bool) -> str:
    pred = record["pred_label"]
    explanation = record.get("pred_explanation")
    if pred is None or (labels is not None and pred not in labels):
        return "invalid"
    if explanations_expected and not (explanation and explanation.strip()):
        return "invalid"
    label_ok = pred == record["gold_label"]
    explanation_ok = not explanations_expected or judged is None or judged == record["gold_label"]
    if label_ok:
        return "correct" if explanation_ok else "explanation_error"
    return "label_error" if explanation_ok else "both"


def error_analysis(
    records: Sequence[dict],
    explanation_labels: Sequence[str | None] | None,
    *,
    labels: Sequence[str] | None = None,
    explanations_expected: bool | None = None,
    k: int = 5,
    top: int = 10,
) -> dict:
    """Categorise every prediction record (see the module docstring).

    Args:
        records: prediction records with ``uid``, ``gold_label``, ``pred_label``
            and optionally ``pred_explanation``.
        explanation_labels: label each explanation supports per a judge, None
            where it cannot tell; None for the whole list means no judge.
        labels: the task's label set; a prediction outside it is invalid.
        explanations_expected: whether a missing explanation makes a record
            invalid; default: True when any record has a ``pred_explanation``
            (the evaluator's rule for label-only models).
        k: example records kept per category.
        top: number of (gold, predicted) confusions kept.

    Returns:
        ``error_categories`` ({category: count} over ``CATEGORIES``),
        ``explanation_unjudged`` (valid explained records the judge could not
        label), ``top_confusions`` ([(gold, predicted or "invalid", count)],
        most frequent first, ties by name), ``examples`` ({category: [up to k
        compact records]}) and ``per_example`` (the category of each record).
    """
    if explanation_labels is None:
        explanation_labels = [None] * len(records)
    if len(explanation_labels) != len(records):
        raise ValueError(
            f"{len(explanation_labels)} explanation labels for {len(records)} records"
        )
    if explanations_expected is None:
        explanations_expected = any(r.get("pred_explanation") is not None for r in records)

    categories: list[str] = []
    examples: dict[str, list[dict]] = {category: [] for category in CATEGORIES}
    confusions: Counter = Counter()
    unjudged = 0
    for record, judged in zip(records, explanation_labels):
        category = _category(record, judged, labels, explanations_expected)
        categories.append(category)
        if category != "invalid" and explanations_expected and judged is None:
            unjudged += 1
        pred = record["pred_label"]
        if pred != record["gold_label"]:
            valid = pred is not None and (labels is None or pred in labels)
            confusions[(record["gold_label"], pred if valid else INVALID)] += 1
        if len(examples[category]) < k:
            examples[category].append({
                "uid": record["uid"],
                "gold_label": record["gold_label"],
                "pred_label": pred,
                "pred_explanation": record.get("pred_explanation"),
                "explanation_label": judged,
            })

    counts = Counter(categories)
    ranked = sorted(confusions.items(), key=lambda item: (-item[1], item[0]))
    return {
        "error_categories": {category: counts[category] for category in CATEGORIES},
        "explanation_unjudged": unjudged,
        "top_confusions": [(gold, pred, count) for (gold, pred), count in ranked[:top]],
        "examples": examples,
        "per_example": categories,
    }


def write_errors(path: str | Path, records: Sequence[dict], categories: Sequence[str]) -> Path:
    """Write every record that is not ``correct`` to ``path`` (e.g. ``eval/errors.jsonl``).

    One JSON object per line: the record with ``error_category`` added after
    ``uid``, in input order. Written atomically (temp file + os.replace).
    Returns ``path``.
    """
    if len(categories) != len(records):
        raise ValueError(f"{len(categories)} categories for {len(records)} records")
    lines = []
    for record, category in zip(records, categories):
        if category == "correct":
            continue
        row = {"uid": record.get("uid"), "error_category": category, **record}
        lines.append(json.dumps(row, ensure_ascii=False) + "\n")
    path = Path(path)
    write_text_atomic(path, "".join(lines))
    return path
