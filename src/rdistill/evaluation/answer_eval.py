"""All metrics of open-answer (math) predictions: the math counterpart of ``evaluate_predictions``.

Answers are open, so there is no label set: accuracy is exact match of the
extracted answer (``answer_accuracy``, ``invalid_rate``), and the label-set
metrics (macro-F1, per-label scores, confusion matrix, ECE, lexical cues, the
simulatability judge) are null with the reason in ``protocol``. Reasoning is
scored against the data set's worked solutions with ROUGE-L (and BERTScore when
asked), and against the teacher rationale; the teacher's own answers give
``teacher_answer_accuracy`` and ``teacher_answer_agreement``.
"""

from __future__ import annotations

from collections.abc import Sequence

from rdistill.evaluation.agreement import teacher_agreement
from rdistill.evaluation.answer_accuracy import answer_accuracy
from rdistill.data.answers import DEFAULT_REL_TOL, AnswerKind, answers_match
from rdistill.evaluation.bertscore import bertscore_f1
from rdistill.evaluation.rouge import rouge_l

_NOT_APPLICABLE = "open-answer task: no closed label set and no label probabilities"
NULL_KEYS = ("label_accuracy", "macro_f1", "per_label", "confusion_matrix", "ece", "calibration",
             "lexical_consistency", "lexical_coverage", "faithfulness", "las", "judge_ceiling",
             "human_faithfulness", "teacher_label_agreement")


def _rate(hits: list[bool]) -> float | None:
    return sum(hits) / len(hits) if hits else None


def evaluate_answer_predictions(records: Sequence[dict], kind: AnswerKind, *, bertscore: bool = False,
                                bertscore_model: str | None = None, bertscore_layer: int | None = None,
                                rel_tol: float = DEFAULT_REL_TOL) -> dict:
    """Metrics of records from :class:`rdistill.prediction.answers.AnswerPredictor`.

    Each record needs ``gold_label`` and ``pred_label`` (canonical answer or None);
    ``pred_explanation`` (reasoning), ``references``, ``teacher_label`` and
    ``teacher_rationale`` are optional. Returns ``answer_accuracy``, ``invalid_rate``,
    ``n``, ``rouge_l`` / ``bertscore_f1`` of the reasoning against ``references`` (None
    for answer-only students), ``teacher_answer_accuracy`` (teacher vs gold) and
    ``teacher_answer_agreement`` (student vs teacher) over rows with a teacher answer,
    ``teacher_rouge_l``, ``error_categories`` (``correct`` / ``wrong_answer`` /
    ``invalid``), the keys in ``NULL_KEYS`` as None, ``protocol`` and ``per_example``.
    """
    preds = [r.get("pred_label") for r in records]
    golds = [r["gold_label"] for r in records]
    accuracy = answer_accuracy(preds, golds, kind, rel_tol=rel_tol)
    per_example = accuracy.pop("per_example")
    metrics: dict = {**accuracy, **dict.fromkeys(NULL_KEYS)}
    protocol: dict = {
        "answer_kind": kind,
        "answer_accuracy": "exact match of the extracted, normalised answer "
                           f"(numbers: exact for integer golds, else relative tolerance {rel_tol}); "
                           "no answer counts as wrong",
        "extraction": "#### n, then \\boxed{}, then 'the answer is', then the last number "
                      "(answer-only students: the whole output first)",
        **{key: {"skipped": _NOT_APPLICABLE} for key in ("classification", "calibration",
                                                         "lexical_consistency", "faithfulness")},
    }
    explanations = [r.get("pred_explanation") for r in records]
    has_reasoning = any(e is not None for e in explanations)
    n = len(records)
    per_example.update({"rouge_l": [None] * n, "bertscore_f1": [None] * n})
    if has_reasoning and any(r.get("references") for r in records):
        texts = [e or "" for e in explanations]
        references = [r.get("references") or [] for r in records]
        rouge = rouge_l(texts, references)
        metrics["rouge_l"], per_example["rouge_l"], protocol["rouge_l"] = (
            rouge["rouge_l"], rouge["per_example"], rouge["protocol"])
        if bertscore:
            bert = bertscore_f1(texts, references, model=bertscore_model, num_layers=bertscore_layer)
            metrics["bertscore_f1"], per_example["bertscore_f1"], protocol["bertscore"] = (
                bert["bertscore_f1"], bert["per_example"], bert["protocol"])
        else:
            metrics["bertscore_f1"] = None
            protocol["bertscore"] = {"skipped": "bertscore off"}
    else:
        metrics["rouge_l"] = metrics["bertscore_f1"] = None
        protocol["rouge_l"] = protocol["bertscore"] = {
            "skipped": "no reasoning (answer-only student) or no reference solutions"}

    teacher = [r.get("teacher_label") for r in records]
    with_teacher = [i for i, t in enumerate(teacher) if t is not None]
    metrics["teacher_answer_accuracy"] = _rate([answers_match(teacher[i], golds[i], kind) for i in with_teacher])
    metrics["teacher_answer_agreement"] = _rate([answers_match(preds[i], teacher[i], kind) for i in with_teacher])
    overlap = teacher_agreement(preds, None, explanations if has_reasoning else None,
                                [r.get("teacher_rationale") for r in records], bertscore=bertscore,
                                bertscore_model=bertscore_model, bertscore_layer=bertscore_layer)
    metrics["teacher_rouge_l"] = overlap["teacher_rouge_l"]
    metrics["teacher_bertscore_f1"] = overlap["teacher_bertscore_f1"]
    per_example.update(overlap["per_example"])
    protocol["teacher_agreement"] = {"n_teacher_answer": len(with_teacher), **overlap["protocol"]}

    categories = ["invalid" if p is None else "correct" if ok else "wrong_answer"
                  for p, ok in zip(preds, per_example["correct"])]
    metrics["error_categories"] = {c: categories.count(c) for c in ("correct", "wrong_answer", "invalid")}
    per_example["error_category"] = categories
    protocol["error_analysis"] = {"categories": "correct, wrong_answer, invalid (no answer found)"}
    metrics["protocol"] = protocol
    metrics["per_example"] = per_example
    return metrics
