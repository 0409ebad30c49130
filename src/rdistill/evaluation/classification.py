"""Label metrics: accuracy, macro-F1, per-label P/R/F1 and a confusion matrix.

Conventions used throughout:
- A prediction that is ``None`` (the model's output could not be parsed) or a
  string outside ``labels`` is *invalid*: it counts as wrong for accuracy, as a
  false negative for the gold label's recall, and as nobody's false positive.
- Every ratio whose denominator is 0 (a label never predicted, a label absent
  from the gold data, an empty input) is defined as 0.0, so every fraction
  stays in [0, 1] and the JSON never holds NaN.
"""

from __future__ import annotations

from collections.abc import Sequence

from rdistill.errors import DataError

# Name of the extra confusion-matrix column counting invalid predictions.
INVALID = "invalid"


def _ratio(numerator: int, denominator: int) -> float:
    """numerator / denominator, with 0/0 (and x/0) defined as 0.0."""
    return numerator / denominator if denominator else 0.0


def classification_metrics(
    gold: Sequence[str], pred: Sequence[str | None], labels: Sequence[str]
) -> dict:
    """Score predicted labels against gold labels.

    Args:
        gold: gold label per example; each must be one of ``labels``.
        pred: predicted label per example; ``None`` or a string outside
            ``labels`` is an invalid prediction.
        labels: the label set, in the order used by ``per_label`` and the matrix.

    Returns:
        ``label_accuracy``, ``macro_f1`` (unweighted mean F1 over ``labels``),
        ``per_label`` ({label: {precision, recall, f1, support}}),
        ``confusion_matrix`` ({"labels": [*labels, "invalid"], "matrix": ...}
        where row i is gold ``labels[i]`` and column j is predicted
        ``labels[j]``, the last column counting invalid predictions; there is
        no "invalid" row since gold labels are never invalid),
        ``invalid_rate`` and ``n``. 0/0 is 0.0 everywhere.
    """
    labels = list(labels)
    if not labels:
        raise ValueError("labels must not be empty")
    if len(set(labels)) != len(labels):
        raise ValueError(f"labels contain duplicates: {labels}")
    if INVALID in labels:
        # The name is reserved for the extra column; a real label with the same
        # name would make the matrix ambiguous.
        raise ValueError(f"{INVALID!r} is reserved for invalid predictions; rename that label")
    if len(gold) != len(pred):
        raise ValueError(f"gold has {len(gold)} items but pred has {len(pred)}")

    index = {label: i for i, label in enumerate(labels)}
    invalid_col = len(labels)
    matrix = [[0] * (len(labels) + 1) for _ in labels]
    for position, (gold_label, pred_label) in enumerate(zip(gold, pred)):
        if gold_label not in index:
            raise DataError(
                f"gold label {gold_label!r} at position {position} is not one of {labels}; "
                "fix the data or the configured label set"
            )
        matrix[index[gold_label]][index.get(pred_label, invalid_col)] += 1

    n = len(gold)
    per_label = {}
    for i, label in enumerate(labels):
        true_positives = matrix[i][i]
        support = sum(matrix[i])
        predicted = sum(row[i] for row in matrix)
        per_label[label] = {
            "precision": _ratio(true_positives, predicted),
            "recall": _ratio(true_positives, support),
            # 2TP / (2TP + FP + FN) equals 2PR / (P + R) and needs no special
            # case when P + R = 0.
            "f1": _ratio(2 * true_positives, predicted + support),
            "support": support,
        }

    correct = sum(matrix[i][i] for i in range(len(labels)))
    n_invalid = sum(row[invalid_col] for row in matrix)
    return {
        "label_accuracy": _ratio(correct, n),
        "macro_f1": sum(stats["f1"] for stats in per_label.values()) / len(labels),
        "per_label": per_label,
        "confusion_matrix": {"labels": [*labels, INVALID], "matrix": matrix},
        "invalid_rate": _ratio(n_invalid, n),
        "n": n,
    }
