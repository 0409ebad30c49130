"""Evaluate a student on examples: predict, judge, score. Shared by ``train`` and ``rdistill eval``."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

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
    # Includes training the judges when they are not cached yet.
    metrics["judge_seconds"] = round(judge_s, 1) if judge_s is not None else None
    metrics["eval_seconds"] = round(time.perf_counter() - t0, 1)
    return metrics, records


def _with_teachers(examples: list[Example], teacher_files: Sequence[str], n_rows: int,
                   task: str) -> list[Example]:
    """Attach teacher rationales: PaLM arrays (``.json``, row-aligned, in order) or one JSON-lines file."""
    from rdistill.data.palm import attach_palm_rationales
    from rdistill.data.teacher_file import attach_teacher_jsonl
    from rdistill.errors import DataError

    palm = [f for f in teacher_files if not str(f).endswith(".jsonl")]
    jsonl = [f for f in teacher_files if str(f).endswith(".jsonl")]
    if palm and jsonl:
        raise DataError("--teacher-file: give either PaLM .json files or JSON-lines teacher "
                        "files, not both (the first teacher is the one compared against)")
    if palm:
        examples = attach_palm_rationales(examples, palm, task=task, n_rows=n_rows).examples
    for file in jsonl:
        examples = attach_teacher_jsonl(examples, file).examples
    return examples


def evaluate_run_dir(run_dir: str, data_file: str | None, output: str, *, limit: int | None = None,
                     skip_invalid: bool = False, teacher_files: Sequence[str] = (),
                     data_dir: str | None = None, judge: bool = True,
                     show_progress: bool = False) -> dict:
    """Evaluate the student of ``run_dir``; write ``output`` + per-example files.

    Rows: ``data_file``, or with None the run's own held-out split (rebuilt from
    its config and seed, with the teacher files the config names).
    """
    from pathlib import Path

    from rdistill.data.registry import load_dataset_file
    from rdistill.errors import DataError
    from rdistill.evaluation.evaluator import write_evaluation
    from rdistill.prediction import load_predictor
    from rdistill.training.run import prepare_splits

    predictor, cfg = load_predictor(run_dir, show_progress=show_progress)
    if not judge:
        cfg = cfg.model_copy(update={"evaluation": cfg.evaluation.model_copy(update={"judge": False})})
    wants_judge = cfg.evaluation.judge and predictor.s.explain
    skipped_rows: dict = {}
    train_examples = None
    if data_file is None:
        splits = prepare_splits(cfg, data_dir)
        examples, train_examples = splits.test, splits.train
        if teacher_files:
            raise DataError("--teacher-file goes with --data-file; the held-out split gets the "
                            "teacher files of the run's config")
    else:
        result = load_dataset_file(cfg.data.dataset, Path(data_file), skip_invalid=skip_invalid)
        examples, skipped_rows = result.examples, dict(result.skipped)
        if teacher_files:
            examples = _with_teachers(examples, teacher_files, result.n_read, cfg.data.dataset)
        if wants_judge:
            try:
                train_examples = prepare_splits(cfg, data_dir).train
            except DataError as err:
                log.warning("the judge needs the run's training rows, which could not be loaded: %s", err)
    examples = examples[:limit] if limit else examples
    metrics, records = evaluate_student(predictor, examples, cfg, predictor.fmt.labels,
                                        train_examples=train_examples, show_progress=show_progress)
    metrics["run_dir"] = str(run_dir)
    metrics["data_file"] = str(data_file) if data_file else "held-out split of the run's config"
    metrics["teacher_files"] = [str(f) for f in teacher_files]
    metrics["skipped_rows"] = skipped_rows
    write_evaluation(metrics, records, Path(output))
    return metrics
