"""Evaluate a student on examples: predict, judge, score. Shared by ``train`` and ``rdistill eval``."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import torch

from rdistill.config import RunConfig
from rdistill.data.example import Example
from rdistill.evaluation.answer_eval import evaluate_answer_predictions
from rdistill.evaluation.evaluator import evaluate_predictions
from rdistill.evaluation.simulatability import JudgeSettings, judge_labels

log = logging.getLogger(__name__)


def judge_settings(cfg: RunConfig) -> JudgeSettings:
    ev = cfg.evaluation
    return JudgeSettings(model=ev.judge_model, epochs=ev.judge_epochs,
                         max_train_rows=ev.judge_max_train_rows, seed=cfg.seed)


def predict_dtype(predictor) -> str | None:
    """The dtype of the weights a predictor ran (``float32``, ``bfloat16``); None for an export."""
    model = getattr(predictor, "model", None)
    if not isinstance(model, torch.nn.Module):
        return None
    return str(next(model.parameters()).dtype).removeprefix("torch.")


def evaluate_student(predictor, examples: Sequence[Example], cfg: RunConfig, labels: Sequence[str], *,
                     train_examples: Sequence[Example] | None, show_progress: bool = False
                     ) -> tuple[dict, list[dict]]:
    """(metrics, prediction records) for ``examples``.

    The judge is trained on ``train_examples`` (the run's training rows); with
    None, or with ``evaluation.judge`` off, or for a label-only student, the
    judge keys are null and the protocol says why.
    """
    t0 = time.perf_counter()
    records = predictor.predict(examples)
    predict_s = time.perf_counter() - t0
    explains = predictor.s.explain
    answer_kind = getattr(predictor.fmt, "answer_kind", None)  # set for open-answer (math) tasks
    judge, skipped, judge_s = None, None, None
    if answer_kind is not None:
        skipped = "open-answer task: the judge needs a closed label set"
    elif not cfg.evaluation.judge:
        skipped = "evaluation.judge is false"
    elif not explains:
        skipped = "label-only student: no explanations to judge"
    elif not train_examples:
        skipped = "the run's training rows are not available (set --data-dir)"
    else:
        t_judge = time.perf_counter()
        judge = judge_labels(records, examples, train_examples, labels, judge_settings(cfg),
                             show_progress=show_progress)
        judge_s = time.perf_counter() - t_judge
    if skipped and explains and cfg.evaluation.judge and answer_kind is None:
        log.warning("simulatability judge skipped: %s", skipped)
    if answer_kind is not None:
        metrics = evaluate_answer_predictions(
            records, answer_kind, bertscore=cfg.evaluation.bertscore and explains,
            bertscore_model=cfg.evaluation.bertscore_model, bertscore_layer=cfg.evaluation.bertscore_layer)
    else:
        metrics = evaluate_predictions(
            records, labels, bertscore=cfg.evaluation.bertscore and explains,
            bertscore_model=cfg.evaluation.bertscore_model, bertscore_layer=cfg.evaluation.bertscore_layer,
            ece_bins=cfg.evaluation.ece_bins, judge=judge)
    if skipped:
        metrics["protocol"]["faithfulness"] = {"skipped": skipped}
    metrics["predict_seconds"] = round(predict_s, 1)
    metrics["predict_dtype"] = predict_dtype(predictor)
    # Includes training the judges when they are not cached yet.
    metrics["judge_seconds"] = round(judge_s, 1) if judge_s is not None else None
    metrics["eval_seconds"] = round(time.perf_counter() - t0, 1)
    return metrics, records
