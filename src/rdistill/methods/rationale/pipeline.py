"""Rationale distillation, end to end: splits -> student (+ LoRA) -> ``RationaleTrainer`` ->
saved student -> held-out evaluation -> ``summary.json`` (written last: a finished run)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import torch
from transformers import EarlyStoppingCallback

from rdistill.config import RunConfig, config_hash
from rdistill.errors import ConfigError
from rdistill.evaluation import write_evaluation
from rdistill.evaluation.student_eval import evaluate_student
from rdistill.io import write_json_atomic
from rdistill.methods.base import TrainRequest, start_run
from rdistill.methods.rationale.collator import RationaleCollator
from rdistill.methods.rationale.dataset import encode_examples
from rdistill.methods.rationale.predictor import rationale_predictor
from rdistill.methods.rationale.trainer import RationaleTrainer
from rdistill.models import apply_finetuning, load_model, load_tokenizer
from rdistill.models.label_head import attach_label_head
from rdistill.tasks.recipe_data import prepare_splits
from rdistill.tasks.registry import get_task
from rdistill.training.arguments import check_precision, training_arguments
from rdistill.training.attention import resolve_attention, use_attention
from rdistill.training.distributed import is_main_process
from rdistill.training.precision import inference_dtype
from rdistill.training.run_folder import RunFolder, inference_model, save_student
from rdistill.training.tracking import tracking_session

log = logging.getLogger("rdistill.train")

# The eval metrics copied into summary.json (and into a sweep's results).
HEADLINE_METRICS = ("label_accuracy", "answer_accuracy", "macro_f1", "rouge_l", "bertscore_f1", "bleu", "ece",
                    "teacher_label_agreement", "faithfulness", "las", "invalid_rate", "n")


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def student_meta(cfg: RunConfig, kind: str) -> dict:
    """``student/rdistill.json`` of a rationale run: how to rebuild and prompt its student."""
    return {"method": "rationale", "base_model": cfg.model.name, "format": "sequence", "kind": kind,
            "finetune": cfg.finetune.mode, "task": cfg.data.dataset, "output_order": cfg.loss.output_order,
            "task_prefix": cfg.loss.task_prefix, "explains": cfg.loss.beta > 0,
            "label_head": cfg.model.label_head}


def label_softmax_ids(cfg: RunConfig, predictor) -> list[int] | None:
    """The label words' first-token ids for ``loss.label_softmax: labels`` and ``model.label_head:
    encoder`` (whose classes they name; None otherwise); refused when two labels start with the
    same token (prediction then scores whole words, and a row's class is not its first token)."""
    key, fix = (("loss.label_softmax: 'labels'", "set loss.label_softmax=vocab")
                if cfg.loss.label_softmax != "vocab" else ("model.label_head: 'encoder'", "remove it"))
    if cfg.loss.label_softmax == "vocab" and cfg.model.label_head == "none":
        return None
    if not predictor.first_token_scoring:
        raise ConfigError(f"{key} needs label words that start with distinct tokens, but with "
                          f"{cfg.model.name} the labels {list(predictor.fmt.labels)} share a first "
                          f"token: {fix}")
    return [ids[0] for ids in predictor.label_ids]


def train(cfg: RunConfig, output_dir: str | Path, *, data_dir: str | None = None, resume: bool = False,
          show_progress: bool = True) -> dict:
    """Train a rationale student into ``output_dir`` (Python entry; ``rdistill train`` goes through
    the method's phases); returns the held-out metrics."""
    return train_rationale(cfg, RunFolder(Path(output_dir)),
                           TrainRequest(data_dir=data_dir, resume=resume, show_progress=show_progress))


def train_rationale(cfg: RunConfig, folder: RunFolder, request: TrainRequest) -> dict:
    """Train a student as ``cfg`` says into ``folder``; returns the held-out metrics."""
    t0 = time.perf_counter()
    data_dir, resume, show_progress = request.data_dir, request.resume, request.show_progress
    # The data first: a bad row is reported before the run folder exists (no half folder).
    splits = prepare_splits(cfg, data_dir)
    info = start_run(cfg, folder, resume=resume)
    paths = folder
    if splits.teachers is not None and is_main_process():
        write_json_atomic(paths.teachers, splits.teachers)
        for name, t in splits.teachers["teachers"].items():
            log.info("teacher %s: %d/%d rows, parse rate %s, accuracy %s", name, t["rows_covered"],
                     splits.teachers["rows"], _pct(t["parse_rate"]), _pct(t["accuracy"]))
    fmt = get_task(cfg.data.dataset)
    tokenizer = load_tokenizer(cfg.model.name, trust_remote_code=cfg.model.trust_remote_code)
    model, kind = load_model(cfg.model.name, kind=cfg.model.kind, dtype=torch.float32,
                             trust_remote_code=cfg.model.trust_remote_code)
    check_precision(cfg, model)
    is_seq2seq = kind == "seq2seq"
    use_attention(model, resolve_attention(cfg))  # system.json says which, and why
    model, params = apply_finetuning(model, kind, cfg.finetune.mode, r=cfg.finetune.r,
                                     alpha=cfg.finetune.alpha, dropout=cfg.finetune.dropout,
                                     target_modules=cfg.finetune.target_modules)
    label_head = cfg.model.label_head == "encoder"
    if label_head:  # after LoRA, so that the new head stays trainable
        if not is_seq2seq:
            raise ConfigError(f"model.label_head: 'encoder' needs an encoder-decoder student; "
                              f"{cfg.model.name} is {kind}: remove it")
        head = attach_label_head(model, len(fmt.labels), seed=cfg.seed)
        n_head = sum(p.numel() for p in head.parameters())
        params = {**params, "params_trainable": params["params_trainable"] + n_head,
                  "params_total": params["params_total"] + n_head}
    train_rows = encode_examples(splits.train, cfg, fmt, tokenizer, is_seq2seq=is_seq2seq, seed=cfg.seed)
    dev_rows = encode_examples(splits.dev, cfg, fmt, tokenizer, is_seq2seq=is_seq2seq, seed=cfg.seed)
    splits.summary["train_rows"] = dict(train_rows.counts)
    splits.summary["params"] = params
    if is_main_process():
        write_json_atomic(paths.data_summary, splits.summary)
    log.info("data: %s | rows: %d train, %d dev | params: %s trainable of %s",
             splits.summary["splits"], len(train_rows), len(dev_rows),
             f"{params['params_trainable']:,}", f"{params['params_total']:,}")

    predictor = rationale_predictor(model, tokenizer, kind, cfg, show_progress=show_progress)
    label_ids = label_softmax_ids(cfg, predictor)

    def dev_label_accuracy(_model) -> dict[str, float]:
        settings = predictor.s
        if fmt.answer_kind is not None:  # math: the share of generated answers that are right
            correct = sum(r["correct"] for r in predictor.predict(splits.dev))
            return {"label_accuracy": correct / max(1, len(splits.dev))}
        records = predictor.predict(splits.dev) if (
            cfg.loss.output_order == "explain_predict" and settings.explain and not settings.task_prefix
        ) else [{"gold_label": ex.label, "pred_label": max(p, key=p.get)}
                for ex, p in zip(splits.dev, predictor.label_probabilities(splits.dev))]
        return {"label_accuracy": sum(r["gold_label"] == r["pred_label"] for r in records) / max(1, len(records))}

    decoder_start = getattr(model.config, "decoder_start_token_id", None) if is_seq2seq else None
    collator = RationaleCollator(tokenizer.pad_token_id, is_seq2seq, decoder_start)
    callbacks = []
    if cfg.training.early_stopping_patience and splits.dev:
        callbacks.append(EarlyStoppingCallback(cfg.training.early_stopping_patience))
    with tracking_session(cfg, paths, quiet=not show_progress, git_commit=info["git_commit"]) as trackers:
        trainer = RationaleTrainer(
            model=model, args=training_arguments(cfg, paths.checkpoints, has_dev=bool(splits.dev),
                                                 group_by_length=cfg.training.group_by_length),
            train_dataset=train_rows,
            eval_dataset=dev_rows if splits.dev else None, data_collator=collator,
            processing_class=tokenizer, callbacks=callbacks + trackers.callbacks, alpha=cfg.loss.alpha,
            beta=cfg.loss.beta, is_seq2seq=is_seq2seq, sparse_lm_head=cfg.training.sparse_lm_head,
            dev_metrics=dev_label_accuracy if splits.dev else None, label_ids=label_ids,
            label_head=label_head,
        )
        trainer.log_compactly(paths.metrics_log, show_progress=show_progress)
        train_out = trainer.train(resume_from_checkpoint=paths.resume_checkpoint() if resume else None)
        train_s = time.perf_counter() - t0
        save_student(trainer.model, tokenizer, paths, student_meta(cfg, kind))
        if not is_main_process():  # the held-out evaluation and summary.json are the main process's
            paths.write_summary(None)
            return {}

        test = splits.test[: cfg.evaluation.limit] if cfg.evaluation.limit else splits.test
        # The held-out rows are scored as `rdistill eval` scores the saved student: merged, in
        # the prediction precision (generation.precision).
        predictor = rationale_predictor(inference_model(trainer.model, inference_dtype(cfg)), tokenizer,
                                        kind, cfg, show_progress=show_progress)
        metrics, records = evaluate_student(predictor, test, cfg, fmt.labels,
                                            train_examples=splits.train, show_progress=show_progress)
        write_evaluation(metrics, records, paths.eval_metrics)
        summary = {
            "name": cfg.name, "train_seconds": round(train_s, 1), "global_step": train_out.global_step,
            "train_loss": train_out.training_loss, "best_checkpoint": trainer.state.best_model_checkpoint,
            "best_metric": trainer.state.best_metric, "eval": {k: metrics.get(k) for k in HEADLINE_METRICS},
            # Which config made these numbers, and what the whole run (train + eval) cost.
            "config_hash": config_hash(cfg), "wall_seconds": round(time.perf_counter() - t0, 1),
        }
        trackers.log_final(summary["eval"])
    # Written last: a complete summary.json marks a finished run (sweeps skip those).
    paths.write_summary(summary)
    return metrics
