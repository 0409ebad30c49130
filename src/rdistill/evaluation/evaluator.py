"""Run every metric over a list of per-example predictions and write the result files."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from rdistill.errors import DataError
from rdistill.evaluation.bertscore import bertscore_f1
from rdistill.evaluation.classification import classification_metrics
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
        explanation = record.get("pred_explanation")
        if explanation is not None and not isinstance(explanation, str):
            problems.append(f"{where}: pred_explanation must be a string or null")
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


def evaluate_predictions(
    records: Sequence[dict],
    labels: Sequence[str],
    *,
    bertscore: bool = True,
    bertscore_model: str | None = None,
    bertscore_layer: int | None = None,
) -> dict:
    """Label and explanation metrics for one set of predictions.

    Each record holds ``uid``, ``gold_label``, ``pred_label`` (None when the
    output could not be parsed), ``pred_explanation`` (str or None, optional),
    ``references`` (human explanations) and optionally ``label_probs``.

    Returns the keys of ``classification_metrics`` plus ``rouge_l`` and
    ``bertscore_f1`` (None for label-only models, i.e. when no record has a
    ``pred_explanation``, or when the metric is switched off), ``protocol``
    and ``per_example`` ({"rouge_l": [...], "bertscore_f1": [...]}, aligned
    with ``records``; ``write_evaluation`` moves it into the predictions file).
    """
    _check_records(records)
    metrics = classification_metrics(
        [record["gold_label"] for record in records],
        [record["pred_label"] for record in records],
        labels,
    )
    per_example: dict[str, list[float | None]] = {
        "rouge_l": [None] * len(records),
        "bertscore_f1": [None] * len(records),
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
    else:
        metrics["rouge_l"] = None
        metrics["bertscore_f1"] = None
        protocol["rouge_l"] = protocol["bertscore"] = {
            "skipped": "no record has a pred_explanation (label-only model)"
        }

    metrics["protocol"] = protocol
    metrics["per_example"] = per_example
    return metrics


def write_evaluation(metrics: dict, records: Sequence[dict], output: Path) -> tuple[Path, Path]:
    """Write ``output`` (metrics JSON) and ``output.with_suffix(".predictions.jsonl")``.

    The metrics file holds everything but ``per_example``; those scores are
    added to each record (keys ``rouge_l``, ``bertscore_f1``) in the JSONL file.
    Both are written atomically (temp file in the same folder + os.replace), so
    a crash never leaves a half-written result. Returns (metrics, predictions) paths.
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
        row["rouge_l"] = per_example.get("rouge_l", [None] * len(records))[position]
        row["bertscore_f1"] = per_example.get("bertscore_f1", [None] * len(records))[position]
        # Records are passed through as given (a NaN label prob from a broken
        # model is worth keeping for debugging, so no allow_nan=False here).
        lines.append(json.dumps(row, ensure_ascii=False))
    predictions_path = output.with_suffix(".predictions.jsonl")
    write_text_atomic(predictions_path, "".join(line + "\n" for line in lines))
    return output, predictions_path
