"""Run every metric over a list of per-example predictions and write the result files."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from rdistill.errors import DataError
from rdistill.evaluation.agreement import teacher_agreement
from rdistill.evaluation.bertscore import bertscore_f1
from rdistill.evaluation.bleu import corpus_bleu
from rdistill.evaluation.calibration import calibration
from rdistill.evaluation.classification import classification_metrics
from rdistill.evaluation.consistency import NLI_LABELS, lexical_consistency
from rdistill.evaluation.difficulty import difficulty
from rdistill.evaluation.errors import error_analysis, write_errors
from rdistill.evaluation.faithfulness import faithfulness, las
from rdistill.evaluation.rouge import rouge_l
from rdistill.io import write_text_atomic

_REQUIRED_KEYS = ("uid", "gold_label", "pred_label", "references")
_MAX_REPORTED_PROBLEMS = 10


def _check_records(records: Sequence[dict]) -> None:
    """Raise one DataError listing the (first few) malformed records."""
    problems: list[str] = []
    seen_uids: set = set()
    for position, record in enumerate(records):
        where = f"record {position} (uid {record.get('uid')!r})"
        missing = [key for key in _REQUIRED_KEYS if key not in record]
        if missing:
            problems.append(f"{where}: missing {', '.join(missing)}")
            continue
        if record["uid"] in seen_uids:
            problems.append(f"{where}: duplicate uid")
        seen_uids.add(record["uid"])
        if record["pred_label"] is not None and not isinstance(record["pred_label"], str):
            problems.append(f"{where}: pred_label must be a string or null")
        for key in ("pred_explanation", "teacher_label", "teacher_rationale"):
            value = record.get(key)
            if value is not None and not isinstance(value, str):
                problems.append(f"{where}: {key} must be a string or null")
        references = record["references"]
        if not isinstance(references, list) or not all(isinstance(r, str) for r in references):
            problems.append(f"{where}: references must be a list of strings")
        label_probs = record.get("label_probs")
        if label_probs is not None and not isinstance(label_probs, dict):
            problems.append(f"{where}: label_probs must be a mapping label -> probability")
    if problems:
        shown = problems[:_MAX_REPORTED_PROBLEMS]
        more = len(problems) - len(shown)
        raise DataError(
            "invalid prediction records:\n  "
            + "\n  ".join(shown)
            + (f"\n  ... and {more} more" if more else "")
        )


def _valid_probs(label_probs: dict) -> bool:
    # `0 <= p <= 1` is False for NaN as well.
    return all(isinstance(p, (int, float)) and 0.0 <= p <= 1.0 for p in label_probs.values())


def _calibration(records: Sequence[dict], n_bins: int) -> tuple[dict, dict]:
    """(metric entries, protocol) of the calibration block."""
    with_probs = [record for record in records if record.get("label_probs")]
    usable = [record for record in with_probs if _valid_probs(record["label_probs"])]
    if not usable:
        return {"ece": None, "calibration": None}, {"skipped": "no record has valid label_probs"}
    # Confidence = max label prob: the predictor's label is its argmax, and the
    # probabilities are already normalised over the label set.
    result = calibration(
        [max(record["label_probs"].values()) for record in usable],
        [record["pred_label"] == record["gold_label"] for record in usable],
        n_bins=n_bins,
    )
    block = {key: result[key] for key in ("reliability", "accuracy_by_confidence", "n")}
    protocol = {
        **result["protocol"],
        "n_excluded_no_label_probs": len(records) - len(with_probs),
        # NaN or out-of-range probabilities come from a broken model: kept in the
        # predictions file for debugging, left out of calibration and counted here.
        "n_excluded_invalid_label_probs": len(with_probs) - len(usable),
    }
    return {"ece": result["ece"], "calibration": block}, protocol


def _judge_metrics(records: Sequence[dict], judge: dict | None, protocol: dict) -> dict:
    """faithfulness / LAS / judge ceiling entries (None without a judge or explanations)."""
    keys = ("faithfulness", "las", "judge_ceiling", "human_faithfulness", "las_detail")
    if judge is None:
        protocol["faithfulness"] = {"skipped": "no simulatability judge (or no explanations)"}
        return dict.fromkeys(keys)
    preds = [record["pred_label"] for record in records]
    golds = [record["gold_label"] for record in records]
    detail = las(preds, judge["input_explanation"], judge["input"], judge["explanation"])
    protocol["faithfulness"] = judge["protocol"]
    return {
        "faithfulness": faithfulness(judge["explanation"], preds),
        "las": detail.pop("las"),
        "judge_ceiling": judge["ceiling"],
        # Human explanations "predict" the gold label: near the ceiling if the judge can tell.
        "human_faithfulness": faithfulness(judge["human_explanation"], golds)
        if any(label is not None for label in judge["human_explanation"]) else None,
        "las_detail": detail,
    }


def evaluate_predictions(
    records: Sequence[dict],
    labels: Sequence[str],
    *,
    bertscore: bool = True,
    bertscore_model: str | None = None,
    bertscore_layer: int | None = None,
    ece_bins: int = 15,
    explanation_labels: Sequence[str | None] | None = None,
    error_examples: int = 5,
    judge: dict | None = None,
    input_keys: Sequence[str] = ("premise", "hypothesis"),
) -> dict:
    """Label and explanation metrics for one set of predictions.

    Each record holds ``uid``, ``gold_label``, ``pred_label`` (None when the
    output could not be parsed), ``pred_explanation`` (str or None, optional),
    ``references`` (human explanations) and optionally ``label_probs``,
    ``teacher_label`` and ``teacher_rationale`` (str or None).

    Returns the keys of ``classification_metrics`` plus ``rouge_l``,
    ``bertscore_f1``, ``bleu`` and ``lexical_consistency`` / ``lexical_coverage``
    (None for label-only models, i.e. when no record has a ``pred_explanation``,
    or when the metric is switched off or, for the lexical baseline, when the
    labels are not the NLI ones); ``ece`` and ``calibration`` (None without
    ``label_probs``); ``teacher_label_agreement``, ``teacher_rouge_l`` and
    ``teacher_bertscore_f1`` (None without teacher data); ``error_categories``
    and ``error_analysis``; ``protocol``; and ``per_example`` (lists aligned
    with ``records``: ``rouge_l``, ``bertscore_f1``, ``teacher_rouge_l``,
    ``teacher_bertscore_f1``, ``lexical_cue_label``, ``error_category``;
    ``write_evaluation`` moves them into the predictions file).

    ``ece_bins``: equal-width calibration bins. ``explanation_labels``: the
    label each explanation supports according to a judge (None = cannot tell),
    used by the error analysis; default: the lexical cue baseline for NLI
    labels, no judge otherwise. ``error_examples``: records kept per error category.

    ``judge``: the simulatability judge's labels (``judge_labels`` in
    ``simulatability.py``: lists ``explanation``, ``input_explanation``,
    ``input``, ``human_explanation`` aligned with ``records``, ``ceiling`` and
    ``protocol``). With it the result gains ``faithfulness``, ``las``,
    ``judge_ceiling`` and ``human_faithfulness`` (else None), the error
    analysis judges explanations with it, and ``difficulty`` gains the
    input-judge split. ``input_keys``: the record keys holding the task input.
    """
    _check_records(records)
    metrics = classification_metrics(
        [record["gold_label"] for record in records],
        [record["pred_label"] for record in records],
        labels,
    )
    n = len(records)
    per_example: dict[str, list] = {
        "rouge_l": [None] * n,
        "bertscore_f1": [None] * n,
        "teacher_rouge_l": [None] * n,
        "teacher_bertscore_f1": [None] * n,
        "lexical_cue_label": [None] * n,
        "error_category": [None] * n,
    }
    protocol: dict = {
        "labels": list(labels),
        "invalid_prediction": "pred_label null or outside labels; counts as wrong",
        "zero_division": 0.0,
    }

    has_explanations = any(record.get("pred_explanation") is not None for record in records)
    if has_explanations:
        # A missing explanation next to others is a failed generation: it scores
        # as empty text (0) instead of silently leaving the example out.
        predictions = [record.get("pred_explanation") or "" for record in records]
        references = [record["references"] for record in records]
        rouge = rouge_l(predictions, references)
        metrics["rouge_l"] = rouge["rouge_l"]
        per_example["rouge_l"] = rouge["per_example"]
        protocol["rouge_l"] = rouge["protocol"]
        if bertscore:
            bert = bertscore_f1(
                predictions, references, model=bertscore_model, num_layers=bertscore_layer
            )
            metrics["bertscore_f1"] = bert["bertscore_f1"]
            per_example["bertscore_f1"] = bert["per_example"]
            protocol["bertscore"] = bert["protocol"]
        else:
            metrics["bertscore_f1"] = None
            protocol["bertscore"] = {"skipped": "bertscore=False"}
        bleu = corpus_bleu(predictions, references)
        metrics["bleu"] = bleu["bleu"]
        protocol["bleu"] = bleu["protocol"]
    else:
        metrics["rouge_l"] = None
        metrics["bertscore_f1"] = None
        metrics["bleu"] = None
        protocol["rouge_l"] = protocol["bertscore"] = protocol["bleu"] = {
            "skipped": "no record has a pred_explanation (label-only model)"
        }

    calibration_metrics, protocol["calibration"] = _calibration(records, ece_bins)
    metrics.update(calibration_metrics)

    # The cue rules only know the three NLI labels.
    if not has_explanations:
        metrics["lexical_consistency"] = metrics["lexical_coverage"] = None
        protocol["lexical_consistency"] = {"skipped": "no record has a pred_explanation"}
    elif set(labels) != set(NLI_LABELS):
        metrics["lexical_consistency"] = metrics["lexical_coverage"] = None
        protocol["lexical_consistency"] = {"skipped": f"labels are not {list(NLI_LABELS)}"}
    else:
        lexical = lexical_consistency(predictions, [r["pred_label"] for r in records])
        metrics["lexical_consistency"] = lexical["lexical_consistency"]
        metrics["lexical_coverage"] = lexical["coverage"]
        per_example["lexical_cue_label"] = lexical["per_example"]["cue_label"]
        protocol["lexical_consistency"] = {
            **lexical["protocol"],
            **{key: lexical[key] for key in ("n", "n_with_cue", "n_consistent")},
        }

    teacher = teacher_agreement(
        [record["pred_label"] for record in records],
        [record.get("teacher_label") for record in records],
        [record.get("pred_explanation") for record in records] if has_explanations else None,
        [record.get("teacher_rationale") for record in records],
        bertscore=bertscore,
        bertscore_model=bertscore_model,
        bertscore_layer=bertscore_layer,
    )
    for key in ("teacher_label_agreement", "teacher_rouge_l", "teacher_bertscore_f1"):
        metrics[key] = teacher[key]
    per_example.update(teacher["per_example"])
    counts = ("n_teacher_label", "n_teacher_rationale", "n_label_agree")
    protocol["teacher_agreement"] = {
        **teacher["protocol"], **{key: teacher[key] for key in counts}
    }

    metrics.update(_judge_metrics(records, judge if has_explanations else None, protocol))
    input_keys = [key for key in input_keys if any(key in r for r in records)]
    metrics["difficulty"], protocol["difficulty"] = difficulty(
        records, input_keys, judge["input"] if judge is not None else None)

    if judge is not None and has_explanations:
        per_example["judge_label"] = judge["explanation"]
    if explanation_labels is not None:
        judge_name = "explanation_labels passed to evaluate_predictions"
    elif judge is not None and has_explanations:
        explanation_labels = judge["explanation"]
        judge_name = "simulatability judge (explanation view)"
    elif has_explanations and set(labels) == set(NLI_LABELS):
        explanation_labels, judge_name = per_example["lexical_cue_label"], "lexical cue baseline"
    else:
        judge_name = "none (label-only model or non-NLI labels): explanations unjudged"
    errors = error_analysis(records, explanation_labels, labels=labels,
                            explanations_expected=has_explanations, k=error_examples)
    metrics["error_categories"] = errors["error_categories"]
    metrics["error_analysis"] = {
        key: errors[key] for key in ("explanation_unjudged", "top_confusions", "examples")
    }
    per_example["error_category"] = errors["per_example"]
    protocol["error_analysis"] = {
        "judge": judge_name,
        "categories": "invalid (no label, or no explanation when expected); else correct, "
        "label_error, explanation_error, both by label vs gold and judged explanation "
        "label vs gold; unjudged explanations count as consistent",
    }

    metrics["protocol"] = protocol
    metrics["per_example"] = per_example
    return metrics


def write_evaluation(metrics: dict, records: Sequence[dict], output: Path) -> tuple[Path, Path]:
    """Write ``output`` (metrics JSON) and ``output.with_suffix(".predictions.jsonl")``.

    The metrics file holds everything but ``per_example``; its entries are
    added to each record (keys ``rouge_l``, ``bertscore_f1`` always, and any other
    ``per_example`` key) in the JSONL file.
    Every record whose error category is not ``correct`` also goes to
    ``output.with_suffix(".errors.jsonl")``. All are written atomically (temp
    file in the same folder + os.replace), so a crash never leaves a
    half-written result. Returns (metrics, predictions) paths.
    """
    output = Path(output)
    per_example = metrics.get("per_example") or {}
    for key, scores in per_example.items():
        if len(scores) != len(records):
            raise ValueError(
                f"metrics['per_example'][{key!r}] has {len(scores)} scores "
                f"for {len(records)} records"
            )
    summary = {key: value for key, value in metrics.items() if key != "per_example"}
    # allow_nan=False: no metric can be NaN (0/0 is 0.0), so one would be a bug;
    # strict JSON also keeps the file readable by any reporting tool.
    write_text_atomic(output, json.dumps(summary, indent=2, allow_nan=False) + "\n")

    lines = []
    for position, record in enumerate(records):
        row = dict(record)
        for key in ("rouge_l", "bertscore_f1", *per_example):
            row[key] = per_example[key][position] if key in per_example else None
        # Records are passed through as given (a NaN label prob from a broken
        # model is worth keeping for debugging, so no allow_nan=False here).
        lines.append(json.dumps(row, ensure_ascii=False))
    predictions_path = output.with_suffix(".predictions.jsonl")
    write_text_atomic(predictions_path, "".join(line + "\n" for line in lines))
    if per_example.get("error_category") and all(c is not None for c in per_example["error_category"]):
        write_errors(output.with_suffix(".errors.jsonl"), records, per_example["error_category"])
    return output, predictions_path
