"""``rdistill eval`` of a rationale run: its own held-out split or a data file, with teachers."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from rdistill.config import RunConfig
from rdistill.data.example import Example
from rdistill.data.teacher_file import attach_teacher_jsonl
from rdistill.errors import DataError
from rdistill.evaluation.evaluator import write_evaluation
from rdistill.evaluation.student_eval import evaluate_student
from rdistill.methods.base import EvalRequest
from rdistill.tasks.palm import attach_palm_rationales
from rdistill.tasks.recipe_data import prepare_splits
from rdistill.tasks.registry import get_task, load_dataset_file
from rdistill.training.run_folder import RunFolder

log = logging.getLogger(__name__)


def _with_teachers(examples: list[Example], teacher_files: Sequence[str], n_rows: int,
                   task: str) -> list[Example]:
    """Attach teacher rationales: PaLM arrays (``.json``, row-aligned, in order) or one JSON-lines file."""
    palm = [f for f in teacher_files if not str(f).endswith(".jsonl")]
    jsonl = [f for f in teacher_files if str(f).endswith(".jsonl")]
    if palm and jsonl:
        raise DataError("--teacher-file: give either PaLM .json files or JSON-lines teacher "
                        "files, not both (the first teacher is the one compared against)")
    if palm:
        examples = attach_palm_rationales(examples, palm, task=task, n_rows=n_rows).examples
    for file in jsonl:
        examples = attach_teacher_jsonl(examples, file, labels=get_task(task).labels).examples
    return examples


def evaluate_rationale_run(predictor, cfg: RunConfig, run_dir: str | Path, request: EvalRequest) -> dict:
    """Evaluate a rationale student (``predictor``, built from the run's saved student); write
    ``request.output`` (default ``RUN/eval/metrics.json``) + per-example files.

    Rows: ``request.data_file``, or with None the run's own held-out split (rebuilt from
    its config and seed, with the teacher files the config names).
    """
    data_file, limit, data_dir = request.data_file, request.limit, request.data_dir
    teacher_files, show_progress = request.teacher_files, request.show_progress
    output = request.output or RunFolder(Path(run_dir)).eval_metrics
    if not request.judge:
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
        result = load_dataset_file(cfg.data.dataset, Path(data_file), skip_invalid=request.skip_invalid)
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
    metrics["overrides"] = list(request.overrides)  # scoring settings that differ from the run's recipe
    write_evaluation(metrics, records, Path(output))
    return metrics
