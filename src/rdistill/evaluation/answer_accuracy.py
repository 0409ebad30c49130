"""Exact-match answer accuracy of open-answer (math) predictions."""

from __future__ import annotations

from collections.abc import Sequence

from rdistill.data.answers import DEFAULT_REL_TOL, AnswerKind, answers_match


def answer_accuracy(pred_answers: Sequence[str | None], gold_answers: Sequence[str], kind: AnswerKind,
                    *, rel_tol: float = DEFAULT_REL_TOL) -> dict:
    """Share of predictions that name the gold answer, and share with no answer at all.

    Args:
        pred_answers: the answer extracted from each output (None: none found).
        gold_answers: the gold answers, aligned.
        kind: ``number`` / ``choice`` / ``expression`` (how answers compare, see
            :func:`rdistill.data.answers.answers_match`).

    Returns:
        ``answer_accuracy`` (correct / n; an output without an answer counts as
        wrong), ``invalid_rate`` (no answer / n), ``n``, ``n_correct``, ``n_invalid``
        and ``per_example`` (``{"correct": [bool, ...]}``); rates are 0.0 for n = 0.
    """
    if len(pred_answers) != len(gold_answers):
        raise ValueError(f"{len(pred_answers)} predictions for {len(gold_answers)} gold answers")
    correct = [answers_match(p, g, kind, rel_tol=rel_tol) for p, g in zip(pred_answers, gold_answers)]
    n = len(correct)
    n_invalid = sum(p is None for p in pred_answers)
    return {
        "answer_accuracy": sum(correct) / n if n else 0.0,
        "invalid_rate": n_invalid / n if n else 0.0,
        "n": n,
        "n_correct": sum(correct),
        "n_invalid": n_invalid,
        "per_example": {"correct": correct},
    }
