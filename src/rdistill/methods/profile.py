"""``rdistill profile``: a trained run (prompted as its method trained it) or a bare model as an
e-SNLI student, measured by :mod:`rdistill.evaluation.efficiency`; writes nothing itself."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import torch

from rdistill.data.example import Example
from rdistill.errors import ConfigError, DataError
from rdistill.evaluation.efficiency import peak_memory_mb, profile_predictor, teacher_params, weights_mb
from rdistill.methods.registry import load_recipe, method_of, run_predictor
from rdistill.models import load_model, load_tokenizer, resolve_model
from rdistill.models.lora import count_parameters
from rdistill.tasks.recipe_data import prepare_splits
from rdistill.tasks.registry import load_dataset_file
from rdistill.training.run_folder import RunFolder


def _profile_examples(cfg, data_file: str | None, data_dir: str | None, n: int) -> list[Example]:
    if data_file:
        return load_dataset_file(cfg.data.dataset, Path(data_file)).examples[:n]
    return prepare_splits(cfg, data_dir).test[:n]


def check_profile_target(target: str, is_run: bool, device: str) -> None:
    """Before anything loads: the device names a torch device, a model target exists."""
    try:
        torch.device(device)
    except RuntimeError:
        raise ConfigError(f"--device {device!r} is not a torch device; use cpu, cuda, cuda:1 ...") from None
    if not is_run:
        resolve_model(target)  # a folder that is not there is named, not looked up on the Hub


def profile_target(target: str, *, data_file: str | None = None, data_dir: str | None = None,
                   teacher: str | None = None, teacher_param_count: int | None = None,
                   n_examples: int = 64, latency_examples: int = 20,
                   batch_sizes: Sequence[int] = (8, 32), device: str = "cpu") -> dict:
    """Profile a trained run folder, or a bare model (alias, folder, Hub id) as an e-SNLI student.

    Examples come from ``data_file``, else the run's held-out split. The
    compression ratio is teacher parameters / student parameters, the teacher
    given by name (counted from its config) or by ``teacher_param_count``.
    """
    paths = RunFolder(Path(target))
    if paths.student_meta.is_file():
        predictor, cfg = run_predictor(target)  # prompted as the run's method trained it
        meta = paths.read_meta()
        summary = paths.data_summary
        trained = (json.loads(summary.read_text()).get("params", {}).get("params_trainable")
                   if summary.is_file() else None)
        disk = weights_mb(paths.student)
        if meta["finetune"] == "lora":
            disk += weights_mb(resolve_model(meta["base_model"]))
        student_folder_mb = weights_mb(paths.student)
        source = "run"
    else:
        if not data_file:
            raise DataError("profiling a bare model needs --data-file (e-SNLI rows to run it on)")
        cfg = load_recipe(None, raw={"data": {"train_file": str(data_file)}, "model": {"name": target}})
        model, kind = load_model(target, dtype=torch.float32)
        predictor = method_of(cfg).predictor(model.eval(), load_tokenizer(target), kind, cfg)
        trained, source = None, "model"
        disk = student_folder_mb = weights_mb(resolve_model(target))
    predictor.model.to(device)
    counts = count_parameters(predictor.model)
    total, trainable_now = counts["params_total"], counts["params_trainable"]
    examples = _profile_examples(cfg, data_file, data_dir, n_examples)
    timings = profile_predictor(predictor, examples, latency_examples=latency_examples,
                                batch_sizes=batch_sizes)
    if teacher and teacher_param_count is None:
        teacher_param_count = teacher_params(teacher)
    return {
        "target": str(target),
        "source": source,
        "params_total": total,
        "params_trainable": trained if trained is not None else trainable_now,
        "teacher": teacher,
        "teacher_params": teacher_param_count,
        "compression_ratio": teacher_param_count / total if teacher_param_count else None,
        "disk_mb": disk,
        "disk_mb_student_folder": student_folder_mb,
        "peak_memory_mb": peak_memory_mb(predictor.model.device),
        **timings,
        "n_examples": len(examples),
        "device": str(predictor.model.device),
        "threads": torch.get_num_threads(),
        "generation": {"max_new_tokens": cfg.generation.max_new_tokens,
                       "num_beams": cfg.generation.num_beams},
    }
