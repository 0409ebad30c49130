"""Latent runs from a COCONUT teacher (``latent.teacher_kind: coconut``), phase 3: train the
student on the cached thought states (``thought_extract``), save it merged, evaluate its answers.

The student gets the COCONUT tokens (before LoRA; their rows train), reasons in
``latent.thoughts`` thoughts or answers directly (``latent.student_reasoning``), and is
saved merged like a COCONUT run's, so ``eval`` / ``predict`` read it with
``CoconutPredictor`` (question, ``<bot>``, its thoughts, ``<eot>``, decoding; the answer after
``###``) and ``RUN/eval/metrics.json`` holds ``answer_accuracy``.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path

import torch

from rdistill.config import RunConfig, config_hash
from rdistill.data.example import Example
from rdistill.errors import ConfigError
from rdistill.io import write_json_atomic
from rdistill.methods.base import EvalRequest, evaluation_rows, start_run
from rdistill.methods.coconut.run import CoconutPredictor, evaluate_coconut
from rdistill.methods.coconut.tokens import add_coconut_tokens, make_token_rows_trainable
from rdistill.methods.latent.cache import LatentCache
from rdistill.methods.latent.dataset import LatentRows
from rdistill.methods.latent.layers import layer_pairs, parse_layers
from rdistill.methods.latent.manifest import check_cache_matches, data_fingerprint
from rdistill.methods.latent.projection import make_projection
from rdistill.methods.latent.run import cache_folder
from rdistill.methods.latent.thought_extract import coconut_teacher_dir, row_length, teacher_thoughts
from rdistill.methods.latent.thought_rows import ThoughtCollator, encode_thought_rows
from rdistill.methods.latent.thought_trainer import ThoughtTrainer
from rdistill.models import apply_finetuning, cache_dir, load_model, load_tokenizer
from rdistill.models.layer_subset import build_layer_subset
from rdistill.tasks.recipe_data import prepare_splits
from rdistill.training.arguments import training_arguments
from rdistill.training.attention import resolve_attention, use_attention
from rdistill.training.distributed import is_main_process
from rdistill.training.precision import inference_dtype
from rdistill.training.run_folder import RunFolder, load_student, save_student
from rdistill.training.tracking import tracking_session

log = logging.getLogger("rdistill.methods.latent.thoughts")


def student_thoughts(cfg: RunConfig) -> int:
    """Thoughts the student reasons in: the teacher's, or 0 when it answers directly."""
    lat = cfg.latent
    return teacher_thoughts(lat) if lat.student_reasoning == "thoughts" else 0


def student_base(cfg: RunConfig) -> str:
    """``model.name``, or a layer subset of the COCONUT teacher (which brings its tokens along)."""
    lat = cfg.latent
    if not lat.student_from_teacher:
        return cfg.model.name
    import hashlib

    teacher_dir = coconut_teacher_dir(lat.teacher)
    key = hashlib.sha256(f"{teacher_dir.resolve()}|{lat.student_from_teacher}".encode()).hexdigest()[:12]
    return str(build_layer_subset(str(teacher_dir), lat.student_from_teacher,
                                  cache_dir() / "models" / f"layer-subset-{key}"))


def thought_predictor(model, tokenizer, cfg: RunConfig, *, show_progress: bool = False) -> CoconutPredictor:
    return CoconutPredictor(model, tokenizer, cfg.data.dataset, n_thoughts=student_thoughts(cfg),
                            max_new_tokens=cfg.generation.max_new_tokens, generation=cfg.generation,
                            show_progress=show_progress)


def build_thought_trainer(cfg: RunConfig, output_dir: str | Path, examples: list[Example], *,
                          callbacks: list | None = None, show_progress: bool = True) -> ThoughtTrainer:
    """Student (+ COCONUT tokens, + LoRA), its rows, the cache (checked: teacher, layers, data,
    thoughts per row) and the projection."""
    lat = cfg.latent
    trust = cfg.model.trust_remote_code
    name = student_base(cfg)
    tokenizer = load_tokenizer(name, trust_remote_code=trust)
    model, kind = load_model(name, kind="causal", dtype=torch.float32, trust_remote_code=trust)
    tokens = add_coconut_tokens(tokenizer, model)  # before LoRA: the embedding grows
    student_depth, student_size = model.config.num_hidden_layers, model.config.hidden_size
    use_attention(model, resolve_attention(cfg))  # system.json says which, and why
    model, _ = apply_finetuning(model, kind, cfg.finetune.mode, r=cfg.finetune.r, alpha=cfg.finetune.alpha,
                                dropout=cfg.finetune.dropout, target_modules=cfg.finetune.target_modules)
    if cfg.finetune.mode == "lora":
        model = make_token_rows_trainable(model, tokens.ids)
    cache = LatentCache(cache_folder(cfg), verify=lat.verify_checksums)
    manifest = cache.manifest
    teacher_depth, teacher_size = manifest["teacher"]["num_layers"], manifest["teacher"]["hidden_size"]
    stored = parse_layers(lat.layers, teacher_depth)
    check_cache_matches(manifest, str(cache.folder), teacher=lat.teacher, layers=stored,
                        data=data_fingerprint(examples), positions="thoughts", thoughts=teacher_thoughts(lat))
    pairs = layer_pairs(lat.layer_map, stored, teacher_depth, student_depth)
    log.info("layer pairs (teacher, student): %s; student thoughts: %d", pairs, student_thoughts(cfg))
    rows = encode_thought_rows(examples, tokenizer, tokens, student_thoughts(cfg), row_length(lat))
    folder = RunFolder(Path(output_dir))
    args = training_arguments(cfg, folder.checkpoints, has_dev=False, group_by_length=False,
                              disable_tqdm=not show_progress)
    args = dataclasses.replace(args, remove_unused_columns=False)
    trainer = ThoughtTrainer(model=model, args=args, train_dataset=LatentRows(rows, cache, [t for t, _ in pairs]),
                             data_collator=ThoughtCollator(tokenizer.pad_token_id,
                                                           direct=lat.student_reasoning == "direct"),
                             processing_class=tokenizer, callbacks=callbacks, mode="latent", alpha=lat.alpha,
                             layer_pairs=pairs, hidden_loss=lat.loss, positions="thoughts",
                             projection=make_projection(len(pairs), student_size, teacher_size))
    trainer.log_compactly(folder.metrics_log, show_progress=show_progress)
    return trainer


def evaluate_thought_run(folder: RunFolder, cfg: RunConfig, request: EvalRequest, *,
                         test: list[Example] | None = None) -> dict:
    """Answers on held-out rows -> ``RUN/eval/metrics.json`` (+ predictions): ``test``, else the
    first ``request.limit`` rows of ``request.data_file``, else the run's test split."""
    if request.teacher_files:
        raise ConfigError("--teacher-file is for rationale runs: a latent run is compared with its own teacher")
    test = evaluation_rows(cfg, request) if test is None else test
    model, tokenizer, _, _ = load_student(folder, trust_remote_code=cfg.model.trust_remote_code,
                                          dtype=inference_dtype(cfg))
    predictor = thought_predictor(model, tokenizer, cfg, show_progress=request.show_progress)
    return evaluate_coconut(predictor, test, Path(request.output) if request.output else folder.eval_metrics,
                            request.overrides)


def student_meta(cfg: RunConfig, folder: RunFolder) -> dict:
    lat = cfg.latent
    return {"method": "latent", "base_model": str(folder.student), "format": "coconut", "kind": "causal",
            "finetune": "full", "trained_with": cfg.finetune.mode, "task": cfg.data.dataset,
            "teacher_kind": "coconut", "student_reasoning": lat.student_reasoning,
            "thoughts": student_thoughts(cfg), "explains": False}


def train_thought_latent(cfg: RunConfig, output_dir: str | Path, *, data_dir: str | None = None,
                         examples: list[Example] | None = None, test_examples: list[Example] | None = None,
                         resume: bool = False, show_progress: bool = False) -> dict:
    """Train into ``output_dir`` (a run folder), save the student merged (+ projection), evaluate
    it and write ``summary.json`` last. ``examples`` / ``test_examples`` replace the data file's
    splits (tests, in memory); training rows given without test rows leave the run unevaluated."""
    t0 = time.perf_counter()
    folder = RunFolder(Path(output_dir))
    examples_given = examples is not None
    splits = prepare_splits(cfg, data_dir) if examples is None else None  # before the folder exists
    info = start_run(cfg, folder, resume=resume)
    if splits is not None:
        examples, test_examples = splits.train, splits.test[: cfg.evaluation.limit or None]
        if is_main_process():
            write_json_atomic(folder.data_summary, splits.summary)
        if splits.dev:
            log.warning("dev rows are not evaluated when distilling COCONUT thoughts (%d rows unused)", len(splits.dev))
    with tracking_session(cfg, folder, quiet=not show_progress, git_commit=info["git_commit"]) as trackers:
        trainer = build_thought_trainer(cfg, folder.root, examples, callbacks=trackers.callbacks,
                                        show_progress=show_progress)
        result = trainer.train(resume_from_checkpoint=folder.resume_checkpoint() if resume else None)
        train_s = time.perf_counter() - t0
        student = trainer.model.merge_and_unload() if hasattr(trainer.model, "merge_and_unload") else trainer.model
        save_student(student, trainer.processing_class, folder, student_meta(cfg, folder))
        if not is_main_process():  # the held-out evaluation and summary.json are the main process's
            folder.write_summary(None)
            return {}
        if trainer.projection is not None:  # the learned student->teacher maps travel with the student
            trainer.projection.save(folder.student)
        del trainer, student
        metrics = None
        if not examples_given or test_examples is not None:
            metrics = evaluate_thought_run(folder, cfg, EvalRequest(data_dir=data_dir, show_progress=show_progress),
                                           test=test_examples)
            trackers.log_final({k: v for k, v in metrics.items() if isinstance(v, (int, float))})
    summary = {"name": cfg.name, "mode": "latent", "teacher_kind": "coconut",
               "student_reasoning": cfg.latent.student_reasoning, "thoughts": student_thoughts(cfg),
               "global_step": result.global_step, "train_loss": result.training_loss,
               "train_seconds": round(train_s, 1),
               "eval": {k: metrics.get(k) for k in ("answer_accuracy", "invalid_rate", "generated_tokens_mean",
                                                    "n")} if metrics else None,
               "config_hash": config_hash(cfg), "wall_seconds": round(time.perf_counter() - t0, 1)}
    folder.write_summary(summary)
    return summary
