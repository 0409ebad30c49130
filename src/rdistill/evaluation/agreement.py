"""Student-teacher agreement: same label as the teacher, and explanation overlap with its rationale.

Distillation copies the teacher, so besides matching gold we measure how close
the student stays to what it was trained on: the share of examples where the
student's label equals the teacher's parsed label, and ROUGE-L / BERTScore F1
of the student's explanation against the teacher's rationale as the single
reference (same implementations and settings as the human-reference scores).
"""

from __future__ import annotations

from collections.abc import Sequence

from rdistill.evaluation.bertscore import bertscore_f1
from rdistill.evaluation.rouge import rouge_l


def _check_length(name: str, values: Sequence | None, n: int) -> None:
    if values is not None and len(values) != n:
        raise ValueError(f"{name} has {len(values)} items but pred_labels has {n}")


def teacher_agreement(
    pred_labels: Sequence[str | None],
    teacher_labels: Sequence[str | None] | None,
    pred_explanations: Sequence[str | None] | None,
    teacher_rationales: Sequence[str | None] | None,
    *,
    bertscore: bool = True,
    bertscore_model: str | None = None,
    bertscore_layer: int | None = None,
) -> dict:
    """Label agreement and explanation overlap of the student with its teacher.

    Args:
        pred_labels: student label per example (None = invalid, never agrees).
        teacher_labels: teacher label per example; None (whole list or entry)
            means the teacher's answer is unknown for that row.
        pred_explanations: student explanation per example; None for all rows
            (label-only student) skips the explanation scores; a None next to
            explanations scores as empty text (0), as in the evaluator.
        teacher_rationales: teacher rationale per example; None or blank rows
            are left out of the explanation scores.
        bertscore, bertscore_model, bertscore_layer: as in ``evaluate_predictions``.

    Returns:
        ``teacher_label_agreement`` (share equal over rows with a teacher label),
        ``teacher_rouge_l`` and ``teacher_bertscore_f1`` (means over rows with a
        teacher rationale), each None when there is nothing to score; counts
        ``n``, ``n_teacher_label``, ``n_teacher_rationale``, ``n_label_agree``;
        ``per_example`` ({"teacher_rouge_l": [...], "teacher_bertscore_f1": [...]})
        and ``protocol``.
    """
    n = len(pred_labels)
    _check_length("teacher_labels", teacher_labels, n)
    _check_length("pred_explanations", pred_explanations, n)
    _check_length("teacher_rationales", teacher_rationales, n)
    teacher_labels = teacher_labels if teacher_labels is not None else [None] * n
    teacher_rationales = teacher_rationales if teacher_rationales is not None else [None] * n
    pred_explanations = pred_explanations if pred_explanations is not None else [None] * n

    labelled = [(pred, teacher) for pred, teacher in zip(pred_labels, teacher_labels)
                if teacher is not None]
    n_label_agree = sum(pred == teacher for pred, teacher in labelled)
    references = [[text] if text and text.strip() else [] for text in teacher_rationales]
    n_rationale = sum(bool(refs) for refs in references)

    result: dict = {
        "teacher_label_agreement": n_label_agree / len(labelled) if labelled else None,
        "teacher_rouge_l": None,
        "teacher_bertscore_f1": None,
        "n": n,
        "n_teacher_label": len(labelled),
        "n_teacher_rationale": n_rationale,
        "n_label_agree": n_label_agree,
        "per_example": {"teacher_rouge_l": [None] * n, "teacher_bertscore_f1": [None] * n},
        "protocol": {
            "teacher": "first teacher rationale of each example (teacher_label, "
            "teacher_rationale); rows without one are left out",
            "teacher_label_agreement": "student label == teacher label, over rows with a "
            "teacher label; an invalid student label never agrees",
        },
    }
    protocol = result["protocol"]
    has_explanations = any(text is not None for text in pred_explanations)
    if not has_explanations or not n_rationale:
        reason = "no student explanations" if not has_explanations else "no teacher rationales"
        protocol["teacher_rouge_l"] = protocol["teacher_bertscore"] = {"skipped": reason}
        return result

    predictions = [text or "" for text in pred_explanations]
    rouge = rouge_l(predictions, references)
    result["teacher_rouge_l"] = rouge["rouge_l"]
    result["per_example"]["teacher_rouge_l"] = rouge["per_example"]
    protocol["teacher_rouge_l"] = {**rouge["protocol"], "references": "the teacher rationale"}
    if bertscore:
        bert = bertscore_f1(
            predictions, references, model=bertscore_model, num_layers=bertscore_layer
        )
        result["teacher_bertscore_f1"] = bert["bertscore_f1"]
        result["per_example"]["teacher_bertscore_f1"] = bert["per_example"]
        protocol["teacher_bertscore"] = {**bert["protocol"], "references": "the teacher rationale"}
    else:
        protocol["teacher_bertscore"] = {"skipped": "bertscore=False"}
    return result
