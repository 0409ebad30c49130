"""``train(cfg)``: data -> student -> Trainer -> saved student -> held-out evaluation."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import EarlyStoppingCallback, TrainingArguments, set_seed
from transformers.trainer_callback import ProgressCallback

from rdistill.config import RunConfig, config_diff, config_hash, dump_config, load_config
from rdistill.data.example import Example
from rdistill.data.registry import load_dataset_file, resolve_data_path
from rdistill.data.splits import split_examples
from rdistill.data.tasks import TASKS, get_task
from rdistill.data.teacher_report import teacher_report
from rdistill.data.teacher_sources import attach_teachers, teacher_specs
from rdistill.errors import ConfigError, DataError
from rdistill.evaluation import write_evaluation
from rdistill.evaluation.student_eval import evaluate_student
from rdistill.formatting import TaskFormat
from rdistill.answer_prediction import AnswerPredictor
from rdistill.io import write_json_atomic, write_text_atomic
from rdistill.models import apply_finetuning, load_model, load_tokenizer
from rdistill.prediction import Predictor, settings_for
from rdistill.runinfo import system_info
from rdistill.runs import RunPaths, save_student
from rdistill.tracking import check_tracking, tracking_session
from rdistill.training.callbacks import MetricsLogCallback, QuietProgressCallback
from rdistill.training.collator import RationaleCollator
from rdistill.training.dataset import encode_examples
from rdistill.training.trainer import RationaleTrainer

log = logging.getLogger("rdistill.train")

# Views of the task registry (rdistill.data.tasks), kept for callers and tests that use them.
TASK_LABELS = {name: task.labels for name, task in TASKS.items()}
# The eval metrics copied into summary.json (and into a sweep's results).
HEADLINE_METRICS = ("label_accuracy", "answer_accuracy", "macro_f1", "rouge_l", "bertscore_f1", "bleu", "ece",
                    "teacher_label_agreement", "faithfulness", "las", "invalid_rate", "n")
HUB_PREFIX = "hub:"
HUB_LOADERS = {name: task.load_hub for name, task in TASKS.items()}


@dataclass
class Splits:
    train: list[Example]
    dev: list[Example]
    test: list[Example]
    summary: dict
    teachers: dict | None = None  # the per-teacher report (RUN/teachers.json), when there are teachers


def task_format(cfg: RunConfig) -> TaskFormat:
    return TaskFormat.for_task(cfg.data.dataset)


def _load(cfg: RunConfig, rel: str, teacher_files: list, data_dir: str | None,
          summary: dict) -> tuple[list[Example], dict | None]:
    """Examples of one data file with its teachers attached, and the per-teacher report."""
    if rel.startswith(HUB_PREFIX):  # hub:esnli:train -> the Hub data set, when online
        hub_name, _, split = rel[len(HUB_PREFIX):].partition(":")
        result = HUB_LOADERS[cfg.data.dataset](split or "train", name=hub_name,
                                               skip_invalid=cfg.data.skip_invalid)
        path = rel
    else:
        path = resolve_data_path(rel, data_dir)
        result = load_dataset_file(cfg.data.dataset, path, skip_invalid=cfg.data.skip_invalid)
    summary[str(path)] = {"rows_read": result.n_read, "skipped": dict(result.skipped)}
    examples = result.examples
    if teacher_files:
        specs = teacher_specs(teacher_files, lambda f: resolve_data_path(f, data_dir))
        # Alignment is by original row index, so rows skipped above do not shift the teacher file.
        examples, loaded, usage = attach_teachers(examples, specs, task=cfg.data.dataset,
                                                  n_rows=result.n_read, skip_invalid=cfg.data.skip_invalid)
        summary[str(path)]["teachers"] = loaded
        return examples, teacher_report(examples, [s.name for s in specs], usage)
    return examples, None


def prepare_splits(cfg: RunConfig, data_dir: str | None) -> Splits:
    """Load, attach teacher rationales, and split deterministically (seeded)."""
    summary: dict = {}
    examples, teachers = _load(cfg, cfg.data.train_file, cfg.data.teacher_files, data_dir, summary)
    # e-SNLI has ~3 hypotheses per premise: splitting by premise keeps test premises unseen.
    group_field = get_task(cfg.data.dataset).group_field
    if cfg.data.split_by == "premise" and group_field is None:
        raise ConfigError(f"data.split_by=premise but task '{cfg.data.dataset}' has no premise "
                          "(its rows are independent): set data.split_by=row")
    group = (lambda ex: ex.fields[group_field]) if cfg.data.split_by == "premise" else None
    if cfg.data.eval_file:
        train, dev, _ = split_examples(examples, dev_size=cfg.data.dev_size, test_size=0,
                                       seed=cfg.seed, group_key=group)
        test = _load(cfg, cfg.data.eval_file, [], data_dir, summary)[0][: cfg.data.test_size]
    else:
        train, dev, test = split_examples(examples, dev_size=cfg.data.dev_size,
                                          test_size=cfg.data.test_size, seed=cfg.seed, group_key=group)
    if cfg.data.train_size:
        train = train[: cfg.data.train_size]
    if not train:
        raise DataError("no training rows left after splitting: lower data.dev_size/data.test_size")
    summary["splits"] = {"train": len(train), "dev": len(dev), "test": len(test)}
    return Splits(train, dev, test, summary, teachers)


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _training_args(cfg: RunConfig, paths: RunPaths, has_dev: bool) -> TrainingArguments:
    t = cfg.training
    strategy = "steps" if t.eval_steps else "epoch"
    evaluate = has_dev
    return TrainingArguments(
        output_dir=str(paths.checkpoints),
        per_device_train_batch_size=t.batch_size,
        per_device_eval_batch_size=t.eval_batch_size,
        gradient_accumulation_steps=t.grad_accum,
        learning_rate=t.lr,
        weight_decay=t.weight_decay,
        warmup_steps=t.warmup_ratio,  # a float in [0, 1) is a ratio of the total steps
        max_grad_norm=t.max_grad_norm,
        lr_scheduler_type=t.lr_scheduler,
        num_train_epochs=t.epochs,
        max_steps=t.max_steps,
        logging_steps=t.logging_steps,
        report_to=[],  # trackers come as callbacks from rdistill.tracking, writing into RUN/
        eval_strategy=strategy if evaluate else "no",
        eval_steps=t.eval_steps,
        # Checkpoints at the eval cadence so the best one can be kept; steps otherwise.
        save_strategy=strategy if evaluate else "steps",
        save_steps=t.eval_steps if (evaluate and t.eval_steps) else t.save_steps,
        save_total_limit=t.save_total_limit,
        load_best_model_at_end=evaluate,
        metric_for_best_model=t.metric_for_best if evaluate else None,
        greater_is_better=(t.metric_for_best != "eval_loss") if evaluate else None,
        bf16=t.precision == "bf16",
        fp16=t.precision == "fp16",
        use_cpu=not torch.cuda.is_available(),
        train_sampling_strategy="group_by_length" if t.group_by_length else "random",
        remove_unused_columns=False,
        dataloader_num_workers=0,
        seed=cfg.seed,
        data_seed=cfg.seed,
        disable_tqdm=False,
        save_only_model=False,
    )


def _check_precision(cfg: RunConfig, model) -> None:
    if cfg.training.precision == "bf16" and not torch.cuda.is_available() and not cpu_has_fast_bf16():
        raise ConfigError(
            f"training.precision=bf16: this CPU ({torch.backends.cpu.get_cpu_capability()}) has no native "
            "bf16 arithmetic, so bf16 runs many times slower than fp32; use --set training.precision=fp32"
        )
    if cfg.training.precision == "fp16" and getattr(model.config, "model_type", "") in ("t5", "mt5", "umt5"):
        raise ConfigError("training.precision=fp16 with a T5 model overflows (NaN losses): use bf16 or fp32")
    if cfg.training.precision == "fp16" and not torch.cuda.is_available():
        raise ConfigError("training.precision=fp16 needs a GPU; on CPU use bf16 or fp32")


# A resumed run may get a longer budget, another name, other evaluation settings or
# trackers, nothing that changes what the saved checkpoints mean.
RESUME_MAY_CHANGE = {"name", "training.max_steps", "training.epochs", "training.num_threads"}
RESUME_MAY_CHANGE_SECTIONS = ("generation.", "evaluation.", "tracking.")


def resume_conflicts(saved: RunConfig, new: RunConfig) -> dict:
    """Settings that differ between a run folder's config and ``new`` and forbid resuming."""
    return {k: v for k, v in config_diff(saved, new).items()
            if k not in RESUME_MAY_CHANGE and not k.startswith(RESUME_MAY_CHANGE_SECTIONS)}


def _check_resumable(saved: RunConfig, new: RunConfig, where: Path) -> None:
    changed = resume_conflicts(saved, new)
    if changed:
        diffs = ", ".join(f"{k}: {was!r} -> {now!r}" for k, (was, now) in changed.items())
        raise ConfigError(f"--resume with a config that differs from {where} ({diffs}); "
                          "resume with the same settings, or start a new --output-dir")


def cpu_has_fast_bf16() -> bool:
    """CPUs with AVX512-BF16 or AMX run bf16 matmuls natively; others (AVX2) emulate them slowly."""
    cpuinfo = Path("/proc/cpuinfo")
    flags = cpuinfo.read_text() if cpuinfo.exists() else ""
    return ("avx512_bf16" in flags or "amx_bf16" in flags
            or torch.backends.cpu.get_cpu_capability() in ("AVX512_BF16", "AMX"))


def train(cfg: RunConfig, output_dir: str | Path, *, data_dir: str | None = None,
          resume: bool = False, show_progress: bool = True) -> dict:
    """Train a student as ``cfg`` says into ``output_dir``; returns the held-out metrics."""
    t0 = time.perf_counter()
    check_tracking(cfg.tracking)
    paths = RunPaths(Path(output_dir))
    if paths.root.exists() and any(paths.checkpoints.glob("checkpoint-*")) and not resume:
        raise ConfigError(f"'{paths.root}' already holds checkpoints: pass --resume to continue "
                          "that run, or choose another --output-dir")
    paths.root.mkdir(parents=True, exist_ok=True)
    if resume and paths.config.is_file():
        _check_resumable(load_config(paths.config), cfg, paths.config)
    if cfg.training.num_threads:
        torch.set_num_threads(cfg.training.num_threads)
    set_seed(cfg.seed)
    write_text_atomic(paths.config, dump_config(cfg))
    info = system_info(cfg.seed)
    write_json_atomic(paths.system, info)

    splits = prepare_splits(cfg, data_dir)
    if splits.teachers is not None:
        write_json_atomic(paths.root / "teachers.json", splits.teachers)
        for name, t in splits.teachers["teachers"].items():
            log.info("teacher %s: %d/%d rows, parse rate %s, accuracy %s", name, t["rows_covered"],
                     splits.teachers["rows"], _pct(t["parse_rate"]), _pct(t["accuracy"]))
    fmt = task_format(cfg)
    tokenizer = load_tokenizer(cfg.model.name, trust_remote_code=cfg.model.trust_remote_code)
    model, kind = load_model(cfg.model.name, kind=cfg.model.kind, dtype=torch.float32,
                             trust_remote_code=cfg.model.trust_remote_code)
    _check_precision(cfg, model)
    is_seq2seq = kind == "seq2seq"
    model, params = apply_finetuning(model, kind, cfg.finetune.mode, r=cfg.finetune.r,
                                     alpha=cfg.finetune.alpha, dropout=cfg.finetune.dropout,
                                     target_modules=cfg.finetune.target_modules)
    train_rows = encode_examples(splits.train, cfg, fmt, tokenizer, is_seq2seq=is_seq2seq, seed=cfg.seed)
    dev_rows = encode_examples(splits.dev, cfg, fmt, tokenizer, is_seq2seq=is_seq2seq, seed=cfg.seed)
    splits.summary["train_rows"] = dict(train_rows.counts)
    splits.summary["params"] = params
    write_json_atomic(paths.data_summary, splits.summary)
    log.info("data: %s | rows: %d train, %d dev | params: %s trainable of %s",
             splits.summary["splits"], len(train_rows), len(dev_rows),
             f"{params['params_trainable']:,}", f"{params['params_total']:,}")

    settings = settings_for(cfg)
    predictor_class = AnswerPredictor if fmt.answer_kind is not None else Predictor
    predictor = predictor_class(model, tokenizer, fmt, is_seq2seq=is_seq2seq, settings=settings,
                                generation=cfg.generation, show_progress=show_progress)

    def dev_label_accuracy(_model) -> float:
        if fmt.answer_kind is not None:  # math: the share of generated answers that are right
            return sum(r["correct"] for r in predictor.predict(splits.dev)) / max(1, len(splits.dev))
        records = predictor.predict(splits.dev) if (
            cfg.loss.output_order == "explain_predict" and settings.explain and not settings.task_prefix
        ) else [{"gold_label": ex.label, "pred_label": max(p, key=p.get)}
                for ex, p in zip(splits.dev, predictor.label_probabilities(splits.dev))]
        return sum(r["gold_label"] == r["pred_label"] for r in records) / max(1, len(records))

    decoder_start = getattr(model.config, "decoder_start_token_id", None) if is_seq2seq else None
    collator = RationaleCollator(tokenizer.pad_token_id, is_seq2seq, decoder_start)
    callbacks = [MetricsLogCallback(paths.metrics_log)]
    if cfg.training.early_stopping_patience and splits.dev:
        callbacks.append(EarlyStoppingCallback(cfg.training.early_stopping_patience))
    with tracking_session(cfg, paths, quiet=not show_progress, git_commit=info["git_commit"]) as trackers:
        trainer = RationaleTrainer(
            model=model, args=_training_args(cfg, paths, bool(splits.dev)), train_dataset=train_rows,
            eval_dataset=dev_rows if splits.dev else None, data_collator=collator,
            processing_class=tokenizer, callbacks=callbacks + trackers.callbacks, alpha=cfg.loss.alpha,
            beta=cfg.loss.beta, is_seq2seq=is_seq2seq, sparse_lm_head=cfg.training.sparse_lm_head,
            dev_label_accuracy=dev_label_accuracy if splits.dev else None,
        )
        # Our MetricsLogCallback logs one compact line per step; the default one would print raw dicts.
        trainer.remove_callback(ProgressCallback)
        if show_progress:  # --quiet: no bar at all
            trainer.add_callback(QuietProgressCallback)
        has_ckpt = any(paths.checkpoints.glob("checkpoint-*"))
        train_out = trainer.train(resume_from_checkpoint=True if (resume and has_ckpt) else None)
        train_s = time.perf_counter() - t0
        save_student(trainer.model, tokenizer, paths, cfg, kind)

        test = splits.test[: cfg.evaluation.limit] if cfg.evaluation.limit else splits.test
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
    write_json_atomic(paths.summary, summary)
    return metrics
