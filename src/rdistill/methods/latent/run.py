"""Latent runs end to end: ``extract_cache`` (phase 2) and ``train_latent`` (phase 3, with its evaluation).

Both take the training split exactly as rationale runs make it
(``tasks.recipe_data.prepare_splits``), so the data fingerprint of the cache and of the
run agree whenever the data settings do. The cache lives in ``latent.cache_dir`` (default
``latent_cache/<name>``): the one name for it, from ``rdistill extract`` to training.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from pathlib import Path

from transformers import EarlyStoppingCallback

from rdistill.config import RunConfig, config_hash
from rdistill.data.example import Example
from rdistill.errors import ConfigError
from rdistill.evaluation.evaluator import write_evaluation
from rdistill.evaluation.student_eval import predict_dtype
from rdistill.io import check_writable, write_json_atomic
from rdistill.methods.base import EvalRequest, evaluation_rows, start_run
from rdistill.methods.latent.cache import LatentCache
from rdistill.methods.latent.compat import check_pair, same_vocabulary
from rdistill.methods.latent.dataset import LatentCollator, LatentRows, encode_examples
from rdistill.methods.latent.evaluate import answer_metrics, layer_similarity
from rdistill.methods.latent.extract import extract
from rdistill.methods.latent.layers import layer_pairs, parse_layers
from rdistill.methods.latent.manifest import check_cache_matches, data_fingerprint, model_config_hash, vocab_hash
from rdistill.methods.latent.projection import PROJECTION_FILE, LayerProjection, make_projection
from rdistill.methods.latent.thought_extract import coconut_record, extract_thought_cache
from rdistill.methods.latent.trainer import LatentTrainer
from rdistill.models import apply_finetuning, cache_dir, load_model, load_tokenizer, resolve_model
from rdistill.models.layer_subset import build_layer_subset
from rdistill.prediction.latent import LatentPredictor
from rdistill.tasks.recipe_data import prepare_splits
from rdistill.training.arguments import training_arguments
from rdistill.training.attention import resolve_attention, use_attention
from rdistill.training.distributed import is_main_process, quiet_other_ranks
from rdistill.training.precision import inference_dtype
from rdistill.training.run_folder import RunFolder, inference_model, load_student, save_student
from rdistill.training.tracking import tracking_session

log = logging.getLogger("rdistill.methods.latent")


def _latent(cfg: RunConfig):
    if cfg.latent is None:
        raise ConfigError("this command needs a `latent:` section in the config (see configs/latent/)")
    return cfg.latent


def cache_folder(cfg: RunConfig) -> Path:
    return Path(_latent(cfg).cache_dir or Path("latent_cache") / cfg.name)


def student_model_name(cfg: RunConfig) -> str:
    """``model.name``, or a layer-subset copy of the teacher (built once under the model cache)."""
    lat = _latent(cfg)
    if not lat.student_from_teacher:
        return cfg.model.name
    teacher_dir = resolve_model(lat.teacher)
    key = hashlib.sha256(f"{teacher_dir}|{lat.student_from_teacher}".encode()).hexdigest()[:12]
    return str(build_layer_subset(teacher_dir, lat.student_from_teacher,
                                  cache_dir() / "models" / f"layer-subset-{key}"))


def needs_cache(cfg: RunConfig) -> bool:
    lat = _latent(cfg)
    return lat.mode != "sft" and lat.teacher_source == "cache"


def cache_complete(cfg: RunConfig, examples: list[Example]) -> bool:
    """The cache folder holds a finished extraction of these examples with this recipe's settings
    (the teacher's weights are checked against it when training opens the cache)."""
    lat = _latent(cfg)
    try:
        manifest = json.loads((cache_folder(cfg) / "manifest.json").read_text())
        layers = parse_layers(lat.layers, manifest["teacher"]["num_layers"])
        wanted = {"layers": layers, "positions": lat.positions, "dtype": lat.dtype, "top_k": lat.top_k,
                  "temperature": lat.temperature}
        return (manifest.get("complete") is True and manifest["teacher"]["name"] == lat.teacher
                and all(manifest.get(k) == v for k, v in wanted.items())
                and manifest["data"]["fingerprint"] == data_fingerprint(examples)
                and (lat.teacher_kind != "coconut" or manifest.get("coconut") == coconut_record(lat)))
    except (OSError, ValueError, KeyError, TypeError, ConfigError):
        return False


def extract_cache(cfg: RunConfig, *, examples: list[Example] | None = None, data_dir: str | None = None,
                  show_progress: bool = False, after_shard=None) -> dict:
    """Run ``latent.teacher`` over the training examples into ``latent.cache_dir``; the manifest.
    Under N processes every rank calls this and extracts its share of the shards (``extract``)."""
    quiet_other_ranks()
    lat = _latent(cfg)
    if not lat.teacher:
        raise ConfigError("rdistill extract needs latent.teacher")
    check_writable(cache_folder(cfg), "latent.cache_dir")
    examples = prepare_splits(cfg, data_dir).train if examples is None else examples
    if lat.teacher_kind == "coconut":
        return extract_thought_cache(lat, examples, cache_folder(cfg), trust_remote_code=cfg.model.trust_remote_code,
                                     after_shard=after_shard, show_progress=show_progress)
    tokenizer = load_tokenizer(lat.teacher, trust_remote_code=cfg.model.trust_remote_code)
    teacher, _ = load_model(lat.teacher, kind="causal", trust_remote_code=cfg.model.trust_remote_code)
    layers = parse_layers(lat.layers, teacher.config.num_hidden_layers)
    return extract(teacher, tokenizer, examples, cache_folder(cfg), teacher_name=lat.teacher,
                   layers=layers, positions=lat.positions, dtype=lat.dtype, top_k=lat.top_k,
                   temperature=lat.temperature, examples_per_shard=lat.examples_per_shard,
                   batch_size=lat.extract_batch_size, max_prompt_tokens=lat.max_prompt_tokens,
                   max_target_tokens=lat.max_target_tokens, after_shard=after_shard,
                   show_progress=show_progress)


def latent_predictor(model, tokenizer, cfg: RunConfig, *, show_progress: bool = False) -> LatentPredictor:
    return LatentPredictor(model, tokenizer, cfg.data.dataset, max_prompt_tokens=_latent(cfg).max_prompt_tokens,
                           generation=cfg.generation, show_progress=show_progress)


def _dev_accuracy(predictor: LatentPredictor, dev: list[Example]):
    """The dev hook of the trainer: the share of right answers (``eval_label_accuracy``)."""
    return lambda _model: {"label_accuracy": answer_metrics(predictor.predict(dev), predictor.task)["answer_accuracy"]}


def build_trainer(cfg: RunConfig, output_dir: str | Path, examples: list[Example], *,
                  dev_examples: list[Example] | None = None, callbacks: list | None = None,
                  show_progress: bool = True) -> LatentTrainer:
    """Student (+ LoRA), rows, teacher signal source and projection, checked against each other.

    With ``dev_examples`` the run evaluates on them as rationale runs do (``training.eval_steps``
    or each epoch): dev loss = the task loss (teacher signals are cached for training rows
    only) and ``eval_label_accuracy`` = the share of right answers, which picks the best
    checkpoint and drives early stopping.
    """
    lat = _latent(cfg)
    student_name = student_model_name(cfg)
    tokenizer = load_tokenizer(student_name, trust_remote_code=cfg.model.trust_remote_code)
    model, kind = load_model(student_name, kind="causal", trust_remote_code=cfg.model.trust_remote_code)
    student_depth, student_size = model.config.num_hidden_layers, model.config.hidden_size
    use_attention(model, resolve_attention(cfg))  # system.json says which, and why
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
            folder = cache_folder(cfg)
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
    folder = RunFolder(Path(output_dir))
    # Random order, as every latent run so far was measured with (rows pair with cached states by uid).
    args = training_arguments(cfg, folder.checkpoints, has_dev=bool(dev_examples), group_by_length=False,
                              disable_tqdm=not show_progress)
    dev_dataset = LatentRows(encode_examples(dev_examples, tokenizer, **encode)) if dev_examples else None
    dev_metrics = _dev_accuracy(latent_predictor(model, tokenizer, cfg), dev_examples) if dev_examples else None

    trainer = LatentTrainer(model=model, args=args, train_dataset=dataset, eval_dataset=dev_dataset,
                            data_collator=collator, processing_class=tokenizer, callbacks=callbacks,
                            dev_metrics=dev_metrics, mode=lat.mode, alpha=lat.alpha, layer_pairs=pairs,
                            hidden_loss=lat.loss, positions=lat.positions, token_alignment=lat.token_alignment,
                            temperature=lat.temperature, kd_direction=lat.kd_direction, **extra)
    trainer.log_compactly(folder.metrics_log, show_progress=show_progress)
    return trainer




def evaluate_latent_run(folder: RunFolder, cfg: RunConfig, request: EvalRequest, *,
                        test: list[Example] | None = None) -> dict:
    """Answers on the held-out rows -> ``RUN/eval/metrics.json`` (+ predictions); with a teacher,
    layer similarity -> ``RUN/layer_similarity.json`` (see :mod:`rdistill.methods.latent.evaluate`).

    Rows: ``test``, else :func:`rdistill.methods.base.evaluation_rows`.
    ``request.output``: the metrics file (default ``RUN/eval/metrics.json``); layer similarity
    goes next to it as ``<stem>.layer_similarity.json`` when an output is given.
    """
    lat = _latent(cfg)
    if request.teacher_files:
        raise ConfigError("--teacher-file is for rationale runs: a latent run is compared with its own teacher")
    test = evaluation_rows(cfg, request) if test is None else test
    model, tokenizer, _kind, _meta = load_student(folder, trust_remote_code=cfg.model.trust_remote_code)
    output = Path(request.output) if request.output else None
    similarity = None
    if lat.teacher:  # in fp32, before the student is cast for prediction: the teacher's own precision
        trust = cfg.model.trust_remote_code
        teacher, _ = load_model(lat.teacher, kind="causal", trust_remote_code=trust)
        t_depth, s_depth = teacher.config.num_hidden_layers, model.config.num_hidden_layers
        pairs = layer_pairs(lat.layer_map, parse_layers(lat.layers, t_depth), t_depth, s_depth)
        projection = None
        if (folder.student / PROJECTION_FILE).is_file():
            projection = LayerProjection(len(pairs), model.config.hidden_size, teacher.config.hidden_size)
            projection.load(folder.student)
        similarity = layer_similarity(model, tokenizer, teacher, load_tokenizer(lat.teacher, trust_remote_code=trust),
                                      test, pairs=pairs, projection=projection,
                                      max_prompt_tokens=lat.max_prompt_tokens,
                                      max_target_tokens=lat.max_target_tokens)
        del teacher
    predictor = latent_predictor(inference_model(model, inference_dtype(cfg)), tokenizer, cfg,
                                 show_progress=request.show_progress)
    records = predictor.predict(test)
    metrics = answer_metrics(records, cfg.data.dataset)
    metrics["predict_dtype"] = predict_dtype(predictor)
    metrics["overrides"] = list(request.overrides)  # scoring settings that differ from the run's recipe
    if similarity is not None:
        where = (output.with_name(f"{output.stem}.layer_similarity.json") if output else folder.layer_similarity)
        write_json_atomic(where, similarity)
        metrics["layer_pairs"] = similarity["pairs"]
    write_evaluation(metrics, records, output or folder.eval_metrics)
    return metrics


def student_meta(cfg: RunConfig) -> dict:
    """``student/rdistill.json`` of a latent run (its base may be a layer subset of the teacher)."""
    return {"method": "latent", "base_model": student_model_name(cfg), "format": "latent", "kind": "causal",
            "finetune": cfg.finetune.mode, "task": cfg.data.dataset, "explains": _latent(cfg).target != "answer"}


def train_latent(cfg: RunConfig, output_dir: str | Path, *, data_dir: str | None = None,
                 examples: list[Example] | None = None, test_examples: list[Example] | None = None,
                 resume: bool = False, show_progress: bool = False) -> dict:
    """Train into ``output_dir`` (a run folder: config, system.json, metrics.jsonl, trackers,
    checkpoints, ``student/`` with adapter + projection + tokenizer), then evaluate
    (:func:`evaluate_latent_run`) and write ``summary.json`` last (a finished run).

    ``examples`` / ``test_examples`` replace the data file's splits (tests, in memory; no dev
    rows then); training rows given without test rows leave the run unevaluated
    (``summary["eval"]`` is None).
    """
    t0 = time.perf_counter()
    folder = RunFolder(Path(output_dir))
    examples_given = examples is not None
    splits = prepare_splits(cfg, data_dir) if examples is None else None  # before the folder exists
    info = start_run(cfg, folder, resume=resume)
    dev: list[Example] = []
    if splits is not None:
        examples, dev = splits.train, splits.dev
        if is_main_process():
            write_json_atomic(folder.data_summary, splits.summary)
    callbacks = []
    if cfg.training.early_stopping_patience and dev:
        callbacks.append(EarlyStoppingCallback(cfg.training.early_stopping_patience))
    with tracking_session(cfg, folder, quiet=not show_progress, git_commit=info["git_commit"]) as trackers:
        trainer = build_trainer(cfg, folder.root, examples, dev_examples=dev or None,
                                callbacks=callbacks + trackers.callbacks, show_progress=show_progress)
        result = trainer.train(resume_from_checkpoint=folder.resume_checkpoint() if resume else None)
        save_student(trainer.model, trainer.processing_class, folder, student_meta(cfg))
        if not is_main_process():  # the held-out evaluation and summary.json are the main process's
            folder.write_summary(None)
            return {}
        if trainer.projection is not None:  # the learned student->teacher maps travel with the adapter
            trainer.projection.save(folder.student)
        train_s = time.perf_counter() - t0
        best = (trainer.state.best_model_checkpoint, trainer.state.best_metric)
        student_hash = model_config_hash(trainer.model.get_base_model() if hasattr(trainer.model, "get_base_model")
                                         else trainer.model)
        del trainer  # the evaluation reloads the saved student (merged) and, for similarity, the teacher
        metrics = None
        if not examples_given or test_examples is not None:
            metrics = evaluate_latent_run(folder, cfg, EvalRequest(data_dir=data_dir, show_progress=show_progress),
                                          test=test_examples)
            trackers.log_final({k: v for k, v in metrics.items() if isinstance(v, (int, float))})
    summary = {"name": cfg.name, "mode": cfg.latent.mode, "global_step": result.global_step,
               "train_loss": result.training_loss, "train_seconds": round(train_s, 1),
               "best_checkpoint": best[0], "best_metric": best[1],
               "eval": {k: metrics.get(k) for k in ("answer_accuracy", "invalid_rate", "rouge_l", "n")} if metrics else None,
               "config_hash": config_hash(cfg), "wall_seconds": round(time.perf_counter() - t0, 1),
               "student_config_hash": student_hash}
    folder.write_summary(summary)
    return summary
