"""Stage-by-stage training: fresh optimizer per stage, stage markers, resume after a crash."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file
from transformers import TrainerCallback, TrainingArguments

from rdistill.methods.coconut.config import CoconutConfig
from rdistill.methods.coconut.stages import DONE_FILE, WEIGHTS_FILE, train_curriculum, trainable_state
from rdistill.methods.coconut.tokens import add_coconut_tokens, make_token_rows_trainable
from rdistill.models import apply_finetuning


def _lora_student(model_dir):
    from transformers import AutoTokenizer, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = LlamaForCausalLM.from_pretrained(model_dir)
    tokens = add_coconut_tokens(tokenizer, model)
    model, _ = apply_finetuning(model, "causal", "lora", r=4, alpha=8, dropout=0.0)
    return make_token_rows_trainable(model, tokens.ids), tokenizer


def _args(out, save_steps=100):
    return TrainingArguments(output_dir=str(out), per_device_train_batch_size=3, learning_rate=1e-2,
                             logging_steps=1, save_strategy="steps", save_steps=save_steps, report_to=[],
                             use_cpu=True, seed=0, disable_tqdm=True, warmup_steps=0)


class Crash(TrainerCallback):
    def __init__(self, stage: int, at_step: int = 0):
        self.stage, self.at_step = f"stage-{stage}", at_step

    def on_train_begin(self, args, state, control, **kwargs):
        if args.output_dir.endswith(self.stage) and self.at_step == 0:
            raise RuntimeError("simulated crash")

    def on_step_end(self, args, state, control, **kwargs):
        if args.output_dir.endswith(self.stage) and state.global_step == self.at_step:
            raise RuntimeError("simulated crash")


class Record(TrainerCallback):
    """Per stage: trainable weights and optimizer-state size when training begins, steps run."""

    def __init__(self):
        self.begin, self.steps = {}, {}

    def on_train_begin(self, args, state, control, model=None, optimizer=None, **kwargs):
        stage = args.output_dir.rsplit("-", 1)[-1]
        self.begin[stage] = (trainable_state(model), len(optimizer.state) if optimizer is not None else 0)

    def on_step_end(self, args, state, control, **kwargs):
        self.steps.setdefault(args.output_dir.rsplit("-", 1)[-1], []).append(state.global_step)


def test_crash_after_stage_1_resumes_at_stage_2_with_stage_1_weights(tiny_causal_dir, examples, tmp_path):
    config = CoconutConfig(c_thoughts=1, max_stage=2, steps_per_stage=2)
    model, tokenizer = _lora_student(tiny_causal_dir)
    with pytest.raises(RuntimeError, match="simulated crash"):
        train_curriculum(model, tokenizer, examples, config, _args(tmp_path), tmp_path,
                         trainer_kwargs={"callbacks": [Crash(stage=2)]})
    assert [(tmp_path / f"stage-{k}" / DONE_FILE).exists() for k in range(3)] == [True, True, False]
    stage1 = load_file(str(tmp_path / "stage-1" / WEIGHTS_FILE))

    model, tokenizer = _lora_student(tiny_causal_dir)  # a new process: fresh student
    record = Record()
    summaries = train_curriculum(model, tokenizer, examples, config, _args(tmp_path), tmp_path,
                                 trainer_kwargs={"callbacks": [record]})
    assert list(record.steps) == ["2"] and record.steps["2"] == [1, 2]  # stages 0 and 1 not rerun
    weights, _ = record.begin["2"]
    assert set(weights) == set(stage1)
    assert [n for n in stage1 if not torch.equal(weights[n], stage1[n])] == []
    assert [s["stage"] for s in summaries] == [0, 1, 2]
    # rows of 1, 2, 3 steps, c=1: stage 1 -> 1 thought each; stage 2 (all latent) -> min(steps, 2)
    assert [s["thoughts_per_row"] for s in summaries] == pytest.approx([0, 1, 5 / 3])
    assert (tmp_path / "final" / "adapter_model.safetensors").exists()
    assert json.loads((tmp_path / "stage-2" / DONE_FILE).read_text())["global_step"] == 2


def test_crash_mid_stage_resumes_from_the_stage_checkpoint(tiny_causal_dir, examples, tmp_path):
    config = CoconutConfig(c_thoughts=1, max_stage=1, steps_per_stage=4)
    model, tokenizer = _lora_student(tiny_causal_dir)
    with pytest.raises(RuntimeError):
        train_curriculum(model, tokenizer, examples, config, _args(tmp_path, save_steps=2), tmp_path,
                         trainer_kwargs={"callbacks": [Crash(stage=1, at_step=3)]})
    assert (tmp_path / "stage-1" / "checkpoint-2").is_dir() and not (tmp_path / "stage-1" / DONE_FILE).exists()
    model, tokenizer = _lora_student(tiny_causal_dir)
    record = Record()
    train_curriculum(model, tokenizer, examples, config, _args(tmp_path, save_steps=2), tmp_path,
                     trainer_kwargs={"callbacks": [record]})
    assert record.steps == {"1": [3, 4]}


@pytest.mark.parametrize("reset", [True, False])
def test_optimizer_is_fresh_at_each_stage_unless_asked_not_to(tiny_causal_dir, examples, tmp_path, reset):
    config = CoconutConfig(c_thoughts=1, max_stage=1, steps_per_stage=2, reset_optimizer=reset)
    model, tokenizer = _lora_student(tiny_causal_dir)
    record = Record()
    train_curriculum(model, tokenizer, examples, config, _args(tmp_path), tmp_path,
                     trainer_kwargs={"callbacks": [record]})
    _, moments_at_stage_1 = record.begin["1"]
    assert (moments_at_stage_1 == 0) == reset
