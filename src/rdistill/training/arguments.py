"""``TrainingArguments`` from a recipe, for every method: one mapping from ``training:`` keys."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import TrainingArguments

from rdistill.config import RunConfig
from rdistill.errors import ConfigError
from rdistill.training.precision import resolve_precision


def training_arguments(cfg: RunConfig, checkpoints: Path, *, has_dev: bool, group_by_length: bool,
                       disable_tqdm: bool = False) -> TrainingArguments:
    """The Trainer's arguments. With dev rows, the run evaluates at ``training.eval_steps`` (or each
    epoch), checkpoints at the same cadence and keeps the best by ``training.metric_for_best``."""
    t = cfg.training
    # auto: the choice the run's start recorded in system.json (the probe runs once per process).
    precision = resolve_precision(cfg).choice
    strategy = "steps" if t.eval_steps else "epoch"
    return TrainingArguments(
        output_dir=str(checkpoints),
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
        # Log a NaN loss as NaN (the default filter would average it away): it stops the run.
        logging_nan_inf_filter=False,
        report_to=[],  # trackers come as callbacks from rdistill.training.tracking, writing into RUN/
        eval_strategy=strategy if has_dev else "no",
        eval_steps=t.eval_steps,
        # Checkpoints at the eval cadence so the best one can be kept; steps otherwise.
        save_strategy=strategy if has_dev else "steps",
        save_steps=t.eval_steps if (has_dev and t.eval_steps) else t.save_steps,
        save_total_limit=t.save_total_limit,
        load_best_model_at_end=has_dev,
        metric_for_best_model=t.metric_for_best if has_dev else None,
        greater_is_better=(t.metric_for_best != "eval_loss") if has_dev else None,
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        use_cpu=not torch.cuda.is_available(),
        train_sampling_strategy="group_by_length" if group_by_length else "random",
        remove_unused_columns=False,
        dataloader_num_workers=0,
        seed=cfg.seed,
        data_seed=cfg.seed,
        disable_tqdm=disable_tqdm,
        save_only_model=False,
    )


def cpu_has_fast_bf16() -> bool:
    """CPUs with AVX512-BF16 or AMX run bf16 matmuls natively; others (AVX2) emulate them slowly."""
    cpuinfo = Path("/proc/cpuinfo")
    flags = cpuinfo.read_text() if cpuinfo.exists() else ""
    return ("avx512_bf16" in flags or "amx_bf16" in flags
            or torch.backends.cpu.get_cpu_capability() in ("AVX512_BF16", "AMX"))


def check_precision(cfg: RunConfig, model) -> None:
    """Refuse precisions that would be slow or wrong on this machine and model, before training
    (``auto`` picks only what its probe measured to be fast, and never fp16 on a CPU)."""
    if cfg.training.precision == "bf16" and not torch.cuda.is_available() and not cpu_has_fast_bf16():
        raise ConfigError(
            f"training.precision=bf16: this CPU ({torch.backends.cpu.get_cpu_capability()}) has no native "
            "bf16 arithmetic, so bf16 runs many times slower than fp32; use --set training.precision=fp32"
        )
    if cfg.training.precision == "fp16" and getattr(model.config, "model_type", "") in ("t5", "mt5", "umt5"):
        raise ConfigError("training.precision=fp16 with a T5 model overflows (NaN losses): use bf16 or fp32")
    if cfg.training.precision == "fp16" and not torch.cuda.is_available():
        raise ConfigError("training.precision=fp16 needs a GPU; on CPU use bf16 or fp32")
