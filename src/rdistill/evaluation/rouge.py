"""ROUGE-L F1 of generated explanations against one or more human references."""

from __future__ import annotations

from collections.abc import Sequence

from rouge_score import rouge_scorer

PROTOCOL = {
    "metric": "rougeL",
    "implementation": "rouge_score",
    "use_stemmer": True,
    "score": "F1 (fmeasure)",
    "references": "max F1 over the human references of each example",
    "aggregate": "mean over examples with at least one non-blank reference",
}


def rouge_l(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> dict:
    """Mean sentence-level ROUGE-L F1 (``rougeL``, Porter stemmer).

    Each example scores the *max* F1 over its references, as e-SNLI-style data
    has several equally valid human explanations and the prediction should
    only need to match one. References that are blank after stripping are
    ignored; examples left without references are excluded from the mean and
    counted in ``protocol["n_excluded_no_reference"]``. An empty prediction
    scores 0.0.

    Returns:
        ``{"rouge_l": mean F1 or None if no example was scored,
        "per_example": [F1 or None for excluded examples], "protocol": {...}}``
    """
    if len(predictions) != len(references):
        raise ValueError(
            f"{len(predictions)} predictions but {len(references)} reference lists"
        )
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    per_example: list[float | None] = []
    for prediction, refs in zip(predictions, references):
        usable = [ref for ref in refs if ref.strip()]
        if not usable:
            per_example.append(None)
            continue
        # RougeScorer.score(target, prediction): the reference comes first.
        per_example.append(max(scorer.score(ref, prediction)["rougeL"].fmeasure for ref in usable))

    scored = [score for score in per_example if score is not None]
    return {
        "rouge_l": sum(scored) / len(scored) if scored else None,
        "per_example": per_example,
        "protocol": {
            **PROTOCOL,
            "n_scored": len(scored),
            "n_excluded_no_reference": len(per_example) - len(scored),
        },
    }
