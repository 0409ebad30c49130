"""Calibration of label confidences: expected calibration error and reliability table.

Confidence is the probability the model gives its predicted label (for our
students the max of ``label_probs``, already normalised over the label set);
``correct`` says whether that prediction was right.

Bin edge convention (Guo et al. 2017, "On Calibration of Modern Neural
Networks"): ``n_bins`` equal-width bins over [0, 1]; bin m covers
``(m / n_bins, (m + 1) / n_bins]``, i.e. the upper edge belongs to the bin.
The first bin is closed on the left, ``[0, 1 / n_bins]``, so a confidence of
exactly 0.0 lands in it; 1.0 lands in the last bin. A confidence equal to an
inner edge goes to the bin below it.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence


def _bin_index(confidence: float, edges: Sequence[float]) -> int:
    # bisect_left on the edges gives the first edge >= confidence, so a value on
    # an inner edge falls into the bin that edge closes; 0.0 is clamped into bin 0.
    return max(bisect_left(edges, confidence) - 1, 0)


def _accuracy_by_confidence(
    confidences: Sequence[float], correct: Sequence[bool], n_buckets: int
) -> list[dict]:
    """Equal-count buckets by confidence rank (quartiles for ``n_buckets=4``).

    Examples are sorted by confidence (stable, so ties keep input order) and
    split into ``n_buckets`` runs of near-equal size; a run of tied confidences
    may straddle two buckets. Empty buckets (fewer examples than buckets) have
    ``range`` and ``accuracy`` None.
    """
    order = sorted(range(len(confidences)), key=lambda i: confidences[i])
    n = len(order)
    buckets = []
    for b in range(n_buckets):
        members = order[b * n // n_buckets:(b + 1) * n // n_buckets]
        buckets.append({
            "bucket": b + 1,
            "range": [confidences[members[0]], confidences[members[-1]]] if members else None,
            "count": len(members),
            "accuracy": sum(bool(correct[i]) for i in members) / len(members) if members else None,
        })
    return buckets


def calibration(
    confidences: Sequence[float],
    correct: Sequence[bool],
    n_bins: int = 15,
    *,
    n_buckets: int = 4,
) -> dict:
    """Expected calibration error, reliability table and accuracy by confidence bucket.

    Args:
        confidences: confidence of each prediction, in [0, 1].
        correct: whether each prediction was right.
        n_bins: equal-width bins for ECE and the reliability table (15, as Guo et al.).
        n_buckets: equal-count confidence buckets for ``accuracy_by_confidence``.

    ECE = sum over bins of (count_bin / n) * |accuracy_bin - mean_confidence_bin|,
    empty bins contributing 0.

    Returns:
        ``{"ece": float or None when there is no example, "reliability": [{lower,
        upper, count, accuracy, mean_confidence}] per bin (accuracy and
        mean_confidence None for empty bins), "accuracy_by_confidence": [{bucket,
        range, count, accuracy}], "n": int, "protocol": {...}}``
    """
    if len(confidences) != len(correct):
        raise ValueError(f"{len(confidences)} confidences but {len(correct)} correctness flags")
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    if n_buckets < 1:
        raise ValueError(f"n_buckets must be >= 1, got {n_buckets}")
    for position, confidence in enumerate(confidences):
        # `not 0 <= c <= 1` is also true for NaN.
        if not 0.0 <= confidence <= 1.0:
            raise ValueError(f"confidence {confidence!r} at position {position} is not in [0, 1]")

    # Edges computed once and used both for binning and for the reported bounds,
    # so a confidence equal to a reported edge is binned by exactly that value.
    edges = [m / n_bins for m in range(n_bins + 1)]
    counts = [0] * n_bins
    hits = [0] * n_bins
    confidence_sums = [0.0] * n_bins
    for confidence, is_correct in zip(confidences, correct):
        m = _bin_index(float(confidence), edges)
        counts[m] += 1
        hits[m] += bool(is_correct)
        confidence_sums[m] += float(confidence)

    n = len(confidences)
    reliability = []
    ece = 0.0
    for m in range(n_bins):
        accuracy = hits[m] / counts[m] if counts[m] else None
        mean_confidence = confidence_sums[m] / counts[m] if counts[m] else None
        if counts[m]:
            ece += counts[m] / n * abs(accuracy - mean_confidence)
        reliability.append({
            "lower": edges[m],
            "upper": edges[m + 1],
            "count": counts[m],
            "accuracy": accuracy,
            "mean_confidence": mean_confidence,
        })

    return {
        "ece": ece if n else None,
        "reliability": reliability,
        "accuracy_by_confidence": _accuracy_by_confidence(confidences, correct, n_buckets),
        "n": n,
        "protocol": {
            "confidence": "probability of the predicted label (max of label_probs)",
            "n_bins": n_bins,
            "binning": "equal width over [0, 1]; bin m = (m/n_bins, (m+1)/n_bins], "
            "the first bin also holds 0.0 (Guo et al. 2017)",
            "ece": "sum over bins of count/n * |accuracy - mean_confidence|",
            "accuracy_by_confidence": f"{n_buckets} equal-count buckets by confidence rank",
        },
    }
