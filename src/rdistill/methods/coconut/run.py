"""COCONUT runs end to end: the curriculum (stages 0..max_stage) -> the merged student ->
its answers on held-out rows, written into the run folder like every method's.

Row layout (``curriculum.encode_row``): ``question\\n <bot> <latent>*n <eot> steps\\n ### answer <eos>``.
The student is saved merged (LoRA and the new token rows folded into full weights, with the
grown vocabulary), so it reloads without rebuilding the COCONUT tokens first.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

import torch

from rdistill.config import GenerationConfig, RunConfig, config_hash
from rdistill.data.answers import answers_match, normalize_answer
from rdistill.data.example import Example
from rdistill.errors import ConfigError, DataError
from rdistill.evaluation.answer_eval import evaluate_answer_predictions
from rdistill.evaluation.evaluator import write_evaluation
from rdistill.evaluation.student_eval import predict_dtype
from rdistill.io import write_json_atomic
from rdistill.methods.base import EvalRequest, TrainRequest, evaluation_rows, start_run
from rdistill.methods.coconut.config import CoconutConfig
from rdistill.methods.coconut.curriculum import answer_from_text, question_ids
from rdistill.methods.coconut.generate import generate_with_thoughts
from rdistill.methods.coconut.stages import default_question, train_curriculum
from rdistill.methods.coconut.tokens import add_coconut_tokens, make_token_rows_trainable
from rdistill.models import apply_finetuning, load_model, load_tokenizer
from rdistill.tasks.recipe_data import prepare_splits
from rdistill.tasks.registry import get_task
from rdistill.training.arguments import training_arguments
from rdistill.training.attention import resolve_attention, use_attention
from rdistill.training.callbacks import MetricsLogCallback
from rdistill.training.distributed import is_main_process
from rdistill.training.precision import inference_dtype
from rdistill.training.run_folder import RunFolder, inference_model, load_student, save_student
from rdistill.training.tracking import tracking_session

log = logging.getLogger("rdistill.coconut")


def _coconut(cfg: RunConfig) -> CoconutConfig:
    section = getattr(cfg, "coconut", None)
    return section if section is not None else CoconutConfig()


def check_steps(examples: Sequence[Example], task: str) -> int:
    """The curriculum replaces reasoning *steps* (``Example.steps``): a task whose rows have none
    is refused. Rows without steps in a task that has them (a GSM8K answer with no calculator
    annotation) stay, as question -> answer at every stage; their count is returned (and logged)."""
    missing = [ex for ex in examples if not ex.steps]
    if missing and len(missing) == len(examples):
        first = missing[0]
        raise DataError(f"method coconut needs reasoning steps, but none of the {len(examples)} training "
                        f"rows of task '{task}' has any (first: {first.source or first.uid}); use a task "
                        "with steps: gsm8k, gsm8k_aug, prosqa, multiplication")
    if missing:
        log.warning("%d of %d training rows have no reasoning steps (first: %s): they train as question "
                    "-> answer at every stage", len(missing), len(examples), missing[0].source or missing[0].uid)
    return len(missing)


class CoconutPredictor:
    """Question, ``<bot>``, ``n_thoughts`` continuous thoughts, ``<eot>``, then the written rest;
    the answer is read after the last ``###`` and compared by the task's answer kind."""

    def __init__(self, model, tokenizer, task: str, *, n_thoughts: int, max_new_tokens: int,
                 generation: GenerationConfig, show_progress: bool = False):
        self.model, self.tok, self.task = model, tokenizer, task
        self.kind = get_task(task).answer_kind or "text"
        # ``gen`` as on every predictor: its batch_size is what ``profile`` varies.
        self.n_thoughts, self.max_new_tokens, self.gen = n_thoughts, max_new_tokens, generation
        self.show_progress = show_progress

    def predict(self, examples: Sequence[Example]) -> list[dict]:
        out = generate_with_thoughts(self.model, self.tok, [default_question(ex) for ex in examples],
                                     self.n_thoughts, max_new_tokens=self.max_new_tokens,
                                     batch_size=self.gen.batch_size)
        records = []
        for ex, text, n_tokens in zip(examples, out.texts, out.n_generated):
            answer = answer_from_text(text)
            pred = normalize_answer(answer, self.kind)  # type: ignore[arg-type]
            head = text.rsplit("###", 1)[0].strip() if answer is not None else text.strip()
            records.append({"uid": ex.uid, "question": ex.fields.get("question"), "gold_label": ex.label,
                            "pred_label": pred, "correct": answers_match(pred, ex.label, self.kind),  # type: ignore[arg-type]
                            "answer_text": answer, "pred_explanation": head or None, "generated": text,
                            "generated_tokens": n_tokens, "thoughts": self.n_thoughts,
                            "references": list(ex.explanations)})
        return records

    @torch.no_grad()
    def prompt_forward(self, examples: Sequence[Example]) -> torch.Tensor:
        """One forward pass over the questions (what ``profile`` counts as the forward FLOPs)."""
        ids = [question_ids(self.tok, default_question(ex)) for ex in examples]
        width = max(len(i) for i in ids)
        pad = self.tok.pad_token_id if self.tok.pad_token_id is not None else self.tok.eos_token_id
        input_ids = torch.tensor([[pad] * (width - len(i)) + i for i in ids], device=self.model.device)
        mask = (torch.arange(width)[None] >= torch.tensor([width - len(i) for i in ids])[:, None]).long()
        return self.model(input_ids=input_ids, attention_mask=mask.to(self.model.device)).logits[:, -1]



def coconut_predictor(model, tokenizer, cfg: RunConfig, *, show_progress: bool = False) -> CoconutPredictor:
    co = _coconut(cfg)
    return CoconutPredictor(model, tokenizer, cfg.data.dataset, n_thoughts=co.inference_thoughts(),
                            max_new_tokens=co.max_new_tokens, generation=cfg.generation,
                            show_progress=show_progress)


def student_meta(cfg: RunConfig, folder: RunFolder) -> dict:
    return {"method": "coconut", "base_model": str(folder.student), "format": "coconut", "kind": "causal",
            "finetune": "full", "trained_with": cfg.finetune.mode, "task": cfg.data.dataset,
            "thoughts": _coconut(cfg).inference_thoughts(), "explains": True}


def answer_metrics(records: list[dict], task: str, seconds: float) -> dict:
    """The math-answer metrics plus what latent reasoning claims: tokens written per answer, time."""
    metrics = evaluate_answer_predictions(records, get_task(task).answer_kind or "text")  # type: ignore[arg-type]
    n = max(len(records), 1)
    metrics["generated_tokens_mean"] = sum(r["generated_tokens"] for r in records) / n
    metrics["thoughts"] = records[0]["thoughts"] if records else None
    metrics["predict_seconds"] = round(seconds, 2)
    metrics["latency_ms_per_row"] = 1000 * seconds / n
    return metrics


def evaluate_coconut(predictor: CoconutPredictor, test: Sequence[Example], output: Path,
                     overrides: Sequence[str] = ()) -> dict:
    t0 = time.perf_counter()
    records = predictor.predict(list(test))
    metrics = answer_metrics(records, predictor.task, time.perf_counter() - t0)
    metrics["predict_dtype"] = predict_dtype(predictor)
    metrics["overrides"] = list(overrides)  # scoring settings that differ from the run's recipe
    write_evaluation(metrics, records, output)
    return metrics


def train_coconut(cfg: RunConfig, folder: RunFolder, request: TrainRequest) -> dict:
    """The curriculum into ``folder/checkpoints/stage-k``, the merged student, its held-out answers."""
    t0 = time.perf_counter()
    co = _coconut(cfg)
    splits = prepare_splits(cfg, request.data_dir)  # checked before the run folder exists
    splits.summary["train_rows_without_steps"] = check_steps(splits.train, cfg.data.dataset)
    info = start_run(cfg, folder, resume=request.resume)
    if is_main_process():
        write_json_atomic(folder.data_summary, splits.summary)
    tokenizer = load_tokenizer(cfg.model.name, trust_remote_code=cfg.model.trust_remote_code)
    model, kind = load_model(cfg.model.name, kind="causal", dtype=torch.float32,
                             trust_remote_code=cfg.model.trust_remote_code)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokens = add_coconut_tokens(tokenizer, model)  # before LoRA: the embedding grows
    use_attention(model, resolve_attention(cfg))  # system.json says which, and why
    model, params = apply_finetuning(model, kind, cfg.finetune.mode, r=cfg.finetune.r, alpha=cfg.finetune.alpha,
                                     dropout=cfg.finetune.dropout, target_modules=cfg.finetune.target_modules)
    if cfg.finetune.mode == "lora":
        model = make_token_rows_trainable(model, [tokens.bot_id, tokens.eot_id, tokens.latent_id])
    args = training_arguments(cfg, folder.checkpoints, has_dev=False, group_by_length=False,
                              disable_tqdm=not request.show_progress)
    with tracking_session(cfg, folder, quiet=not request.show_progress, git_commit=info["git_commit"]) as trackers:
        callbacks = [MetricsLogCallback(folder.metrics_log), *trackers.callbacks]
        stages = train_curriculum(model, tokenizer, splits.train, co, args, folder.checkpoints,
                                  max_length=cfg.training.max_source_tokens + cfg.training.max_target_tokens,
                                  trainer_kwargs={"callbacks": callbacks})
        train_s = time.perf_counter() - t0
        student = model.merge_and_unload() if hasattr(model, "merge_and_unload") else model
        save_student(student, tokenizer, folder, student_meta(cfg, folder))
        if not is_main_process():  # the held-out evaluation and summary.json are the main process's
            folder.write_summary(None)
            return {}
        test = splits.test[: cfg.evaluation.limit] if cfg.evaluation.limit else splits.test
        predictor = coconut_predictor(inference_model(student, inference_dtype(cfg)), tokenizer, cfg,
                                      show_progress=request.show_progress)
        metrics = evaluate_coconut(predictor, test, folder.eval_metrics)
        trackers.log_final({k: v for k, v in metrics.items() if isinstance(v, (int, float))})
    summary = {"name": cfg.name, "global_step": sum(s["global_step"] for s in stages),
               "train_loss": stages[-1]["train_loss"], "stages": stages, "train_seconds": round(train_s, 1),
               "params": params,
               "eval": {k: metrics.get(k) for k in ("answer_accuracy", "invalid_rate", "generated_tokens_mean",
                                                    "latency_ms_per_row", "n")},
               "config_hash": config_hash(cfg), "wall_seconds": round(time.perf_counter() - t0, 1)}
    folder.write_summary(summary)
    return summary


def evaluate_coconut_run(folder: RunFolder, cfg: RunConfig, request: EvalRequest) -> dict:
    """``rdistill eval`` of a COCONUT run: its own held-out split, or the first rows of a data file."""
    if request.teacher_files:
        raise ConfigError("--teacher-file is for rationale runs: a COCONUT run has no teacher rationales")
    test = evaluation_rows(cfg, request)
    model, tokenizer, _, _ = load_student(folder, trust_remote_code=cfg.model.trust_remote_code,
                                          dtype=inference_dtype(cfg))
    predictor = coconut_predictor(model, tokenizer, cfg, show_progress=request.show_progress)
    return evaluate_coconut(predictor, test, Path(request.output) if request.output else folder.eval_metrics,
                            request.overrides)
