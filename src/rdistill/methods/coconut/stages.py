"""``train_curriculum``: COCONUT stage by stage, resumable after a crash.

Layout of ``output_dir``::

    stage-0/checkpoint-*/        the stage's Trainer checkpoints (mid-stage resume)
    stage-0/trainable.safetensors  trainable weights at the end of the stage
    stage-0/optimizer.pt           only with reset_optimizer=False
    stage-0/stage_done.json        written last, atomically: the stage is complete
    ...
    final/                         the model after the last stage (save_pretrained) + tokenizer

Each stage gets a fresh ``CoconutTrainer`` and hence a fresh optimizer and LR schedule:
the paper resets the optimizer when the stage changes, because the thoughts of the new
stage make the old moments stale. A rerun skips every stage with ``stage_done.json``,
loads the last completed stage's weights, and resumes the first incomplete stage from
its last Trainer checkpoint if it has one.
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
from safetensors.torch import load_file, save
from torch import nn
from transformers import TrainingArguments

from rdistill.data.example import Example
from rdistill.errors import DataError, RdistillError
from rdistill.io import write_bytes_atomic, write_json_atomic
from rdistill.training.distributed import is_main_process, wait_for_everyone
from rdistill.methods.coconut.collator import CoconutCollator, RowDataset
from rdistill.methods.coconut.config import CoconutConfig
from rdistill.methods.coconut.curriculum import Curriculum, encode_row
from rdistill.methods.coconut.tokens import CoconutTokens
from rdistill.methods.coconut.trainer import CoconutTrainer
from rdistill.training.run_folder import last_complete_checkpoint

logger = logging.getLogger(__name__)

DONE_FILE = "stage_done.json"
WEIGHTS_FILE = "trainable.safetensors"
OPTIMIZER_FILE = "optimizer.pt"


def default_question(example: Example) -> str:
    """``fields["question"]``; tasks with other input fields pass their own ``question_of``."""
    try:
        return example.fields["question"]
    except KeyError:
        raise DataError(f"{example.source or example.uid}: no 'question' field (fields: "
                        f"{sorted(example.fields)}); pass question_of= to train_curriculum") from None


def stage_features(examples: Sequence[Example], tokenizer, tokens: CoconutTokens, curriculum: Curriculum,
                   stage: int, question_of: Callable[[Example], str] = default_question,
                   max_length: int | None = None) -> list[dict[str, Any]]:
    """Encoded rows of ``examples`` at ``stage`` (answer = ``example.label``)."""
    return [encode_row(tokenizer, question_of(ex), ex.steps, ex.label, stage, curriculum.c_thoughts,
                       tokens=tokens, max_stage=curriculum.max_stage,
                       pad_thoughts_to_max=curriculum.pad_thoughts_to_max,
                       max_length=max_length).as_features()
            for ex in examples]


def stage_dir(output_dir: str | Path, stage: int) -> Path:
    return Path(output_dir) / f"stage-{stage}"


def completed_stages(output_dir: str | Path, max_stage: int) -> list[int]:
    """Stages whose ``stage_done.json`` exists, in order, stopping at the first gap."""
    done = []
    for stage in range(max_stage + 1):
        if not (stage_dir(output_dir, stage) / DONE_FILE).exists():
            break
        done.append(stage)
    return done


def trainable_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """Copies (not views) of the parameters that train (LoRA adapters, token rows, or every weight)."""
    return {n: p.detach().to("cpu", copy=True).contiguous() for n, p in model.named_parameters() if p.requires_grad}


def load_trainable_state(model: nn.Module, path: Path) -> None:
    """Load ``trainable_state`` written by an earlier run; the trainable sets must match."""
    state = load_file(str(path))
    expected = {n for n, p in model.named_parameters() if p.requires_grad}
    if set(state) != expected:
        missing, extra = sorted(expected - set(state))[:3], sorted(set(state) - expected)[:3]
        raise RdistillError(f"{path} does not fit this model (missing {missing}, unexpected {extra}); "
                            "resume with the finetune settings of the run that wrote it, or a new output dir")
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, tensor in state.items():
            params[name].copy_(tensor.to(params[name].device, params[name].dtype))


def _save_stage(trainer: CoconutTrainer, folder: Path, stage: int, n_rows: int, thoughts: float,
                reset_optimizer: bool) -> dict[str, Any]:
    losses = [h["train_loss"] for h in trainer.state.log_history if "train_loss" in h]
    summary = {"stage": stage, "global_step": trainer.state.global_step, "rows": n_rows,
               "thoughts_per_row": thoughts, "train_loss": losses[-1] if losses else None}
    if is_main_process():  # ranks hold the same weights and optimizer state (DDP): one writes them
        write_bytes_atomic(folder / WEIGHTS_FILE, save(trainable_state(trainer.model)))
        if not reset_optimizer:
            buffer = io.BytesIO()
            torch.save(trainer.optimizer.state_dict(), buffer)
            write_bytes_atomic(folder / OPTIMIZER_FILE, buffer.getvalue())
        write_json_atomic(folder / DONE_FILE, summary)  # last: its presence means the stage is complete
    wait_for_everyone()
    return summary


def train_curriculum(model: nn.Module, tokenizer, train_examples: Sequence[Example], coconut: CoconutConfig,
                     training_args: TrainingArguments, output_dir: str | Path, *,
                     eval_examples: Sequence[Example] | None = None,
                     question_of: Callable[[Example], str] = default_question,
                     max_length: int | None = None, trainer_kwargs: dict[str, Any] | None = None,
                     ) -> list[dict[str, Any]]:
    """Train stages 0..max_stage; returns one summary dict per stage (``stage_done.json``'s content).

    ``model`` must already hold the COCONUT tokens and have their rows trainable
    (``add_coconut_tokens`` before LoRA, then ``make_token_rows_trainable``).
    ``training_args`` is a template: each stage gets a copy with its own ``output_dir``
    and its length from ``coconut`` (``num_train_epochs`` or ``max_steps``).
    """
    tokens = CoconutTokens.from_tokenizer(tokenizer)
    curriculum = coconut.curriculum()
    output_dir = Path(output_dir)
    done = completed_stages(output_dir, curriculum.max_stage)
    summaries = [json.loads((stage_dir(output_dir, s) / DONE_FILE).read_text()) for s in done]
    if done:
        load_trainable_state(model, stage_dir(output_dir, done[-1]) / WEIGHTS_FILE)
        logger.info("stages %s already complete; continuing at stage %d", done, done[-1] + 1)
    collator = CoconutCollator(pad_token_id=tokenizer.pad_token_id)
    for stage in curriculum.stages[len(done):]:
        folder = stage_dir(output_dir, stage)
        rows = stage_features(train_examples, tokenizer, tokens, curriculum, stage, question_of, max_length)
        eval_rows = (None if eval_examples is None else
                     RowDataset(stage_features(eval_examples, tokenizer, tokens, curriculum, stage,
                                               question_of, max_length)))
        # remove_unused_columns would drop bot_index/thought_positions (not forward() arguments).
        args = dataclasses.replace(training_args, output_dir=str(folder), remove_unused_columns=False,
                                   **curriculum.stage_length(stage))
        trainer = CoconutTrainer(model=model, args=args, train_dataset=RowDataset(rows), eval_dataset=eval_rows,
                                 data_collator=collator, **(trainer_kwargs or {}))
        previous_optimizer = stage_dir(output_dir, stage - 1) / OPTIMIZER_FILE
        if not coconut.reset_optimizer and stage > 0 and previous_optimizer.exists():
            trainer.create_optimizer()
            trainer.optimizer.load_state_dict(torch.load(previous_optimizer, weights_only=True))
        checkpoint = last_complete_checkpoint(folder) if folder.is_dir() else None
        thoughts = sum(len(r["thought_positions"]) for r in rows) / max(len(rows), 1)
        logger.info("COCONUT stage %d/%d: %d rows, %.2f thoughts per row%s", stage, curriculum.max_stage,
                    len(rows), thoughts, f", resuming from {checkpoint}" if checkpoint else "")
        trainer.train(resume_from_checkpoint=checkpoint)
        summaries.append(_save_stage(trainer, folder, stage, len(rows), thoughts, coconut.reset_optimizer))
    # Redone on every call: a crash during the final save leaves all stages done and no final/.
    final = output_dir / "final"
    if is_main_process():
        model.save_pretrained(str(final))
        tokenizer.save_pretrained(str(final))
    wait_for_everyone()
    return summaries
