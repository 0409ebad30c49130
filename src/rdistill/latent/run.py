"""Latent runs end to end: ``extract_cache`` (phase 2) and ``train_latent`` (phase 3).

Both take the training split exactly as ``rdistill train`` makes it
(``training.run.prepare_splits``), so the data fingerprint of the cache and of the
run agree whenever the data settings do.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from pathlib import Path

import torch
from transformers import TrainingArguments, set_seed
from transformers.trainer_callback import ProgressCallback

from rdistill.config import RunConfig, config_hash, dump_config
from rdistill.data.example import Example
from rdistill.data.registry import load_dataset_file
from rdistill.errors import ConfigError
from rdistill.io import write_json_atomic, write_text_atomic
from rdistill.evaluation.evaluator import write_evaluation
from rdistill.latent.cache import LatentCache
from rdistill.latent.compat import check_pair, same_vocabulary
from rdistill.latent.dataset import LatentCollator, LatentRows, encode_examples
from rdistill.latent.evaluate import answer_metrics, layer_similarity, predict_answers
from rdistill.latent.extract import extract
from rdistill.latent.layers import layer_pairs, parse_layers
from rdistill.latent.manifest import check_cache_matches, data_fingerprint, model_config_hash, vocab_hash
from rdistill.latent.projection import PROJECTION_FILE, LayerProjection, make_projection
from rdistill.latent.trainer import LatentTrainer
from rdistill.models import apply_finetuning, cache_dir, load_model, load_tokenizer, resolve_model
from rdistill.models.layer_subset import build_layer_subset
from rdistill.runs import RunPaths, load_student, save_student
from rdistill.training.callbacks import MetricsLogCallback, QuietProgressCallback

log = logging.getLogger("rdistill.latent")


def _latent(cfg: RunConfig):
    if cfg.latent is None:
        raise ConfigError("this command needs a `latent:` section in the config (see configs/latent/)")
    return cfg.latent


def cache_folder(cfg: RunConfig, override: str | Path | None = None) -> Path:
    return Path(override or _latent(cfg).cache_dir or Path("latent_cache") / cfg.name)


def student_model_name(cfg: RunConfig) -> str:
    """``model.name``, or a layer-subset copy of the teacher (built once under the model cache)."""
    lat = _latent(cfg)
    if not lat.student_from_teacher:
        return cfg.model.name
    teacher_dir = resolve_model(lat.teacher)
    key = hashlib.sha256(f"{teacher_dir}|{lat.student_from_teacher}".encode()).hexdigest()[:12]
    return str(build_layer_subset(teacher_dir, lat.student_from_teacher,
                                  cache_dir() / "models" / f"layer-subset-{key}"))


def train_examples(cfg: RunConfig, data_dir: str | None) -> list[Example]:
    from rdistill.training.run import prepare_splits

    return prepare_splits(cfg, data_dir).train


def extract_cache(cfg: RunConfig, folder: str | Path | None = None, *, examples: list[Example] | None = None,
                  data_dir: str | None = None, show_progress: bool = False, after_shard=None) -> dict:
    """Run ``latent.teacher`` over the training examples into the cache folder; the manifest."""
    lat = _latent(cfg)
    if not lat.teacher:
        raise ConfigError("rdistill extract needs latent.teacher")
    examples = train_examples(cfg, data_dir) if examples is None else examples
    tokenizer = load_tokenizer(lat.teacher, trust_remote_code=cfg.model.trust_remote_code)
    teacher, _ = load_model(lat.teacher, kind="causal", trust_remote_code=cfg.model.trust_remote_code)
    layers = parse_layers(lat.layers, teacher.config.num_hidden_layers)
    return extract(teacher, tokenizer, examples, cache_folder(cfg, folder), teacher_name=lat.teacher,
                   layers=layers, positions=lat.positions, dtype=lat.dtype, top_k=lat.top_k,
                   temperature=lat.temperature, examples_per_shard=lat.examples_per_shard,
                   batch_size=lat.extract_batch_size, max_prompt_tokens=lat.max_prompt_tokens,
                   max_target_tokens=lat.max_target_tokens, after_shard=after_shard,
                   show_progress=show_progress)


def build_trainer(cfg: RunConfig, output_dir: str | Path, examples: list[Example], *,
                  cache_dir_override: str | Path | None = None, show_progress: bool = True) -> LatentTrainer:
    """Student (+ LoRA), rows, teacher signal source and projection, checked against each other."""
    lat = _latent(cfg)
    student_name = student_model_name(cfg)
    tokenizer = load_tokenizer(student_name, trust_remote_code=cfg.model.trust_remote_code)
    model, kind = load_model(student_name, kind="causal", trust_remote_code=cfg.model.trust_remote_code)
    student_depth, student_size = model.config.num_hidden_layers, model.config.hidden_size
    model, _ = apply_finetuning(model, kind, cfg.finetune.mode, r=cfg.finetune.r, alpha=cfg.finetune.alpha,
                                dropout=cfg.finetune.dropout, target_modules=cfg.finetune.target_modules)
    encode = {"max_prompt_tokens": lat.max_prompt_tokens, "max_target_tokens": lat.max_target_tokens,
              "with_reasoning": lat.target == "reasoning_answer"}
    rows = encode_examples(examples, tokenizer, **encode)
    extra: dict = {}
    cache = teacher_rows = None
    pairs: list[tuple[int, int]] = []
    if lat.mode != "sft":
        teacher_tokenizer = load_tokenizer(lat.teacher, trust_remote_code=cfg.model.trust_remote_code)
        check_pair(lat.mode, shared_vocab=same_vocabulary(teacher_tokenizer, tokenizer))
        if lat.teacher_source == "cache":
            folder = cache_folder(cfg, cache_dir_override)
            cache = LatentCache(folder, verify=lat.verify_checksums)
            t = cache.manifest["teacher"]
            teacher_depth, teacher_size, stored = t["num_layers"], t["hidden_size"], cache.layers
            check_cache_matches(cache.manifest, str(folder), teacher=lat.teacher,
                                tokenizer_vocab_hash=vocab_hash(teacher_tokenizer),
                                data=data_fingerprint(examples),
                                positions=lat.positions if lat.mode == "latent" else None,
                                needs_top_k=lat.mode == "logit_kd", temperature=lat.temperature)
        else:
            teacher, _ = load_model(lat.teacher, kind="causal", trust_remote_code=cfg.model.trust_remote_code)
            teacher.requires_grad_(False)
            teacher_depth, teacher_size = teacher.config.num_hidden_layers, teacher.config.hidden_size
            stored = parse_layers(lat.layers, teacher_depth)
            teacher_rows = encode_examples(examples, teacher_tokenizer, **encode)
            extra.update(teacher=teacher, teacher_pad_token_id=teacher_tokenizer.pad_token_id)
        if lat.mode == "latent":
            pairs = layer_pairs(lat.layer_map, stored, teacher_depth, student_depth)
            extra["projection"] = make_projection(len(pairs), student_size, teacher_size)
            log.info("layer pairs (teacher, student): %s", pairs)
    dataset = LatentRows(rows, cache, [t for t, _ in pairs] or None, teacher_rows)
    collator = LatentCollator(tokenizer.pad_token_id, positions=lat.positions,
                              token_alignment=lat.token_alignment, hidden=lat.mode == "latent",
                              top_k=lat.mode == "logit_kd" and cache is not None)
    t = cfg.training
    args = TrainingArguments(
        output_dir=str(Path(output_dir) / "checkpoints"), per_device_train_batch_size=t.batch_size,
        gradient_accumulation_steps=t.grad_accum, learning_rate=t.lr, weight_decay=t.weight_decay,
        warmup_steps=t.warmup_ratio, max_grad_norm=t.max_grad_norm, lr_scheduler_type=t.lr_scheduler,
        num_train_epochs=t.epochs, max_steps=t.max_steps, logging_steps=t.logging_steps,
        save_steps=t.save_steps, save_total_limit=t.save_total_limit, report_to=[],
        bf16=t.precision == "bf16", use_cpu=not torch.cuda.is_available(), remove_unused_columns=False,
        dataloader_num_workers=0, seed=cfg.seed, data_seed=cfg.seed, disable_tqdm=not show_progress)
    trainer = LatentTrainer(model=model, args=args, train_dataset=dataset, data_collator=collator,
                         processing_class=tokenizer, mode=lat.mode, alpha=lat.alpha, layer_pairs=pairs,
                         hidden_loss=lat.loss, positions=lat.positions, token_alignment=lat.token_alignment,
                         temperature=lat.temperature, kd_direction=lat.kd_direction, **extra)
    # A progress bar with rate and ETA, and one compact log line per logging step instead of
    # the Trainer's raw dicts (as rationale training does).
    trainer.remove_callback(ProgressCallback)
    if show_progress:
        trainer.add_callback(QuietProgressCallback)
    trainer.add_callback(MetricsLogCallback(Path(output_dir) / "metrics.jsonl"))
    return trainer


def evaluate_latent_run(run_dir: str | Path, *, data_dir: str | None = None, test: list[Example] | None = None,
                        data_file: str | Path | None = None, limit: int | None = None, skip_invalid: bool = False,
                        output: str | Path | None = None, show_progress: bool = False) -> dict:
    """Answers on the held-out rows -> ``RUN/eval/metrics.json`` (+ predictions); with a teacher,
    layer similarity -> ``RUN/layer_similarity.json`` (see :mod:`rdistill.latent.evaluate`).

    Rows: ``test``, else the first ``limit`` rows of ``data_file`` (read by the run's loader),
    else the run's test split (``evaluation.limit`` rows).
    ``output``: the metrics file (default ``RUN/eval/metrics.json``); layer similarity goes next
    to it as ``<stem>.layer_similarity.json`` when ``output`` is given.
    """
    from rdistill.training.run import prepare_splits

    paths = RunPaths(Path(run_dir))
    model, tokenizer, _kind, cfg = load_student(run_dir)
    lat = _latent(cfg)
    if test is None and data_file is not None:
        test = load_dataset_file(cfg.data.dataset, Path(data_file), skip_invalid=skip_invalid).examples[:limit]
    elif test is None:
        if limit is not None:
            raise ConfigError("a row limit goes with a data file; the run's own split uses evaluation.limit")
        test = prepare_splits(cfg, data_dir).test[: cfg.evaluation.limit]
    records = predict_answers(model, tokenizer, test, cfg.data.dataset, max_prompt_tokens=lat.max_prompt_tokens,
                              max_new_tokens=cfg.generation.max_new_tokens,
                              batch_size=cfg.generation.batch_size, show_progress=show_progress)
    metrics = answer_metrics(records, cfg.data.dataset)
    if lat.teacher:
        trust = cfg.model.trust_remote_code
        teacher, _ = load_model(lat.teacher, kind="causal", trust_remote_code=trust)
        t_depth, s_depth = teacher.config.num_hidden_layers, model.config.num_hidden_layers
        pairs = layer_pairs(lat.layer_map, parse_layers(lat.layers, t_depth), t_depth, s_depth)
        projection = None
        if (paths.student / PROJECTION_FILE).is_file():
            projection = LayerProjection(len(pairs), model.config.hidden_size, teacher.config.hidden_size)
            projection.load(paths.student)
        similarity = layer_similarity(model, tokenizer, teacher, load_tokenizer(lat.teacher, trust_remote_code=trust),
                                      test, pairs=pairs, projection=projection,
                                      max_prompt_tokens=lat.max_prompt_tokens,
                                      max_target_tokens=lat.max_target_tokens)
        where = (Path(output).with_name(f"{Path(output).stem}.layer_similarity.json") if output
                 else paths.root / "layer_similarity.json")
        write_json_atomic(where, similarity)
        metrics["layer_pairs"] = similarity["pairs"]
    write_evaluation(metrics, records, Path(output) if output else paths.eval_metrics)
    return metrics


def train_latent(cfg: RunConfig, output_dir: str | Path, *, data_dir: str | None = None,
                 examples: list[Example] | None = None, test_examples: list[Example] | None = None,
                 resume: bool = False, show_progress: bool = False) -> dict:
    """Train into ``output_dir``: ``student/`` (adapter + projection + tokenizer, ``rdistill.json``),
    ``config.yaml``, ``metrics.jsonl`` (one line per log step, each loss term on its own), then
    evaluate (:func:`evaluate_latent_run`) and write ``summary.json`` last (a finished run).

    ``examples`` / ``test_examples`` replace the data file's splits (tests, in memory); training
    rows given without test rows leave the run unevaluated (``summary["eval"]`` is None).
    """
    t0 = time.perf_counter()
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    set_seed(cfg.seed)
    write_text_atomic(out / "config.yaml", dump_config(cfg))
    examples_given = examples is not None
    examples = train_examples(cfg, data_dir) if examples is None else examples
    trainer = build_trainer(cfg, out, examples, show_progress=show_progress)
    has_ckpt = any((out / "checkpoints").glob("checkpoint-*"))
    result = trainer.train(resume_from_checkpoint=True if (resume and has_ckpt) else None)
    save_student(trainer.model, trainer.processing_class, RunPaths(out), cfg, "causal",
                 base_model=student_model_name(cfg))
    if trainer.projection is not None:  # the learned student->teacher maps travel with the adapter
        trainer.projection.save(out / "student")
    train_s = time.perf_counter() - t0
    history = [h for h in trainer.state.log_history if "loss" in h or "loss_task" in h]
    write_text_atomic(out / "metrics.jsonl", "".join(f"{json.dumps(h)}\n" for h in history))
    student_hash = model_config_hash(trainer.model.get_base_model() if hasattr(trainer.model, "get_base_model")
                                     else trainer.model)
    del trainer  # the evaluation reloads the saved student (merged) and, for similarity, the teacher
    metrics = None
    if not examples_given or test_examples is not None:
        metrics = evaluate_latent_run(out, data_dir=data_dir, test=test_examples, show_progress=show_progress)
    summary = {"name": cfg.name, "mode": cfg.latent.mode, "global_step": result.global_step,
               "train_loss": result.training_loss, "train_seconds": round(train_s, 1),
               "eval": {k: metrics.get(k) for k in ("answer_accuracy", "invalid_rate", "rouge_l", "n")} if metrics else None,
               "config_hash": config_hash(cfg), "wall_seconds": round(time.perf_counter() - t0, 1),
               "student_config_hash": student_hash}
    write_json_atomic(out / "summary.json", summary)
    return summary
