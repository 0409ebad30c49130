"""Distilling a COCONUT teacher's thoughts (``latent.teacher_kind: coconut``): the cache holds n
thought states + the answer's per row and equals a recomputation; the loss is zero for a student
equal to its teacher and falls otherwise; both student variants train and evaluate; a cache
made with another thought count is refused."""

from __future__ import annotations

import json

import pytest
import torch
import yaml

from rdistill.errors import ConfigError, DataError
from rdistill.methods.latent.cache import LatentCache
from rdistill.methods.latent.run import extract_cache
from rdistill.methods.latent.thought_rows import encode_thought_rows
from rdistill.methods.latent.thought_run import build_thought_trainer, train_thought_latent
from rdistill.methods.registry import load_recipe

N_THOUGHTS = 2


@pytest.fixture(scope="module")
def coconut_run(tmp_path_factory, tiny_causal_dir):
    """A stand-in for a finished COCONUT run: ``RUN/student`` (merged model with <bot> <eot> <latent>)
    and its ``rdistill.json`` saying it answers after 2 thoughts."""
    from transformers import AutoTokenizer, LlamaForCausalLM

    from rdistill.methods.coconut.tokens import add_coconut_tokens

    run = tmp_path_factory.mktemp("coconut-run")
    tokenizer = AutoTokenizer.from_pretrained(tiny_causal_dir)
    torch.manual_seed(3)
    model = LlamaForCausalLM(LlamaForCausalLM.from_pretrained(tiny_causal_dir).config)  # fresh random weights
    add_coconut_tokens(tokenizer, model)
    model.save_pretrained(run / "student")
    tokenizer.save_pretrained(run / "student")
    (run / "student" / "rdistill.json").write_text(json.dumps({"method": "coconut", "thoughts": N_THOUGHTS}))
    return run


def _cfg(latent_config, teacher, student, cache, overrides=(), **latent):
    raw = latent_config(teacher, student, cache, teacher_kind="coconut", positions="thoughts", **latent)
    return load_recipe(None, raw=raw, overrides=list(overrides))


def _recompute(model, row, layers):
    """The teacher's states by hand: no KV cache, no batch, no padding; each thought's input is
    the last hidden state of a full forward over everything before it."""
    ids = torch.tensor([row["input_ids"]])
    embeds = model.get_input_embeddings()(ids)
    with torch.no_grad():
        for p in row["thought_positions"]:
            last = model.model(inputs_embeds=embeds[:, :p]).last_hidden_state[:, -1]
            embeds = torch.cat([embeds[:, :p], last[:, None], embeds[:, p + 1:]], dim=1)
        states = model.model(inputs_embeds=embeds, output_hidden_states=True).hidden_states
    positions = row["thought_positions"] + row["answer_positions"]
    return torch.stack([states[layer][0, positions] for layer in layers], dim=1)  # (n + a, L, H)


def test_extraction_stores_thoughts_and_answer_equal_to_a_recomputation(tmp_path, coconut_run, tiny_causal_dir,
                                                                       examples, latent_config):
    from transformers import AutoTokenizer, LlamaForCausalLM

    from rdistill.methods.coconut.tokens import CoconutTokens

    cfg = _cfg(latent_config, coconut_run, tiny_causal_dir, tmp_path / "cache", layers="0-2")
    manifest = extract_cache(cfg, examples=examples)
    assert manifest["positions"] == "thoughts" and manifest["coconut"]["thoughts"] == N_THOUGHTS
    teacher = LlamaForCausalLM.from_pretrained(coconut_run / "student").eval()
    tokenizer = AutoTokenizer.from_pretrained(coconut_run / "student")
    rows = encode_thought_rows(examples, tokenizer, CoconutTokens.from_tokenizer(tokenizer), N_THOUGHTS)
    cache = LatentCache(tmp_path / "cache", verify="open")
    for row in rows:
        item = cache.get(row["uid"])
        assert item["n_thoughts"] == N_THOUGHTS and len(row["answer_positions"]) >= 2
        assert item["hidden"].shape == (N_THOUGHTS + len(row["answer_positions"]), 3, 32)
        torch.testing.assert_close(item["hidden"], _recompute(teacher, row, [0, 1, 2]), atol=1e-4, rtol=1e-4)
    # a different thought count into the same folder is another extraction: refused
    with pytest.raises(DataError, match="different extraction"):
        extract_cache(_cfg(latent_config, coconut_run, tiny_causal_dir, tmp_path / "cache", layers="0-2",
                           thoughts=3), examples=examples)


def _distill(trainer):
    batch = trainer._prepare_inputs(trainer.data_collator([trainer.train_dataset[i] for i in range(4)]))
    trainer.model.train()
    with torch.no_grad():
        return trainer.compute_loss(trainer.model, batch, return_outputs=True)[1]["distill_loss"].item()


def test_loss_is_zero_for_the_teacher_itself_and_falls_for_a_student(tmp_path, coconut_run, examples,
                                                                     latent_config):
    student = coconut_run / "student"  # LoRA starts as the identity: the student *is* the teacher
    cfg = _cfg(latent_config, coconut_run, student, tmp_path / "cache", alpha=1.0, layers="1-2",
               layer_map=[[1, 1], [2, 2]])
    extract_cache(cfg, examples=examples)
    same = build_thought_trainer(cfg, tmp_path / "same", examples, show_progress=False)
    assert same.projection is None and _distill(same) == pytest.approx(0.0, abs=1e-8)

    cfg = _cfg(latent_config, coconut_run, student, tmp_path / "cache", alpha=1.0, layers="1-2",
               layer_map=[[2, 1]], student_from_teacher=[0])
    cfg.training.max_steps, cfg.training.lr = 12, 1e-2
    trainer = build_thought_trainer(cfg, tmp_path / "run", examples, show_progress=False)
    assert _distill(trainer) > 1e-3
    trainer.train()
    distill = [h["loss_distill"] for h in trainer.state.log_history if "loss_distill" in h]
    assert len(distill) == 12 and sum(distill[-3:]) < sum(distill[:3])


@pytest.mark.parametrize("reasoning", ["thoughts", "direct"])
def test_both_student_variants_train_and_evaluate(tmp_path, coconut_run, tiny_other_dir, examples,
                                                  latent_config, reasoning):
    # another tokenizer and width (48 vs 32): the answer is pooled, the states projected
    cfg = _cfg(latent_config, coconut_run, tiny_other_dir, tmp_path / "cache", student_reasoning=reasoning)
    cfg.generation.max_new_tokens = 4
    extract_cache(cfg, examples=examples[:8])
    summary = train_thought_latent(cfg, tmp_path / "run", examples=examples[:8], test_examples=examples[8:])
    assert summary["global_step"] == 3 and summary["thoughts"] == (N_THOUGHTS if reasoning == "thoughts" else 0)
    metrics = json.loads((tmp_path / "run" / "eval" / "metrics.json").read_text())
    assert metrics["n"] == 2 and 0.0 <= metrics["answer_accuracy"] <= 1.0
    assert metrics["thoughts"] == summary["thoughts"]
    assert (tmp_path / "run" / "student" / "latent_projection.safetensors").is_file()
    logged = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert sum("loss_distill" in x and x["loss_distill"] > 0 for x in logged) == 3


def test_a_cache_with_another_thought_count_is_refused(tmp_path, coconut_run, tiny_causal_dir, examples,
                                                       latent_config):
    cfg = _cfg(latent_config, coconut_run, tiny_causal_dir, tmp_path / "cache")
    extract_cache(cfg, examples=examples)
    other = _cfg(latent_config, coconut_run, tiny_causal_dir, tmp_path / "cache", thoughts=3)
    with pytest.raises(DataError, match=r"thoughts per row: cache 2, run 3 \(latent.thoughts"):
        build_thought_trainer(other, tmp_path / "run", examples, show_progress=False)


def test_settings_a_coconut_teacher_needs_are_named(tmp_path, latent_config):
    raw = latent_config(tmp_path, tmp_path, tmp_path / "cache", teacher_kind="coconut", mode="logit_kd", top_k=4)
    with pytest.raises(ConfigError) as e:
        load_recipe(None, raw=raw)
    assert "latent.mode=latent" in str(e.value) and "latent.positions=thoughts" in str(e.value)
    with pytest.raises(ConfigError, match="set latent.teacher_kind=coconut"):
        load_recipe(None, raw=latent_config(tmp_path, tmp_path, tmp_path / "cache", student_reasoning="direct"))


def test_the_recipe_runs_through_the_command_line(tmp_path, coconut_run, tiny_causal_dir, capsys):
    from rdistill.cli import main
    from rdistill.data.prosqa import generate_prosqa, write_prosqa

    data = tmp_path / "prosqa.json"
    write_prosqa(generate_prosqa(12, seed=0), data)
    raw = {"name": "thoughts-toy", "method": "latent", "seed": 0,
           "data": {"dataset": "prosqa", "train_file": str(data), "split_by": "row", "dev_size": 0, "test_size": 2},
           "model": {"name": str(tiny_causal_dir)},
           "finetune": {"mode": "lora", "r": 4, "alpha": 8, "dropout": 0.0},
           "training": {"max_steps": 2, "batch_size": 4, "lr": 1e-3, "logging_steps": 1, "save_steps": 100,
                        "warmup_ratio": 0.0},
           "generation": {"batch_size": 2, "max_new_tokens": 4},
           "latent": {"teacher": str(coconut_run), "teacher_kind": "coconut", "positions": "thoughts",
                      "cache_dir": str(tmp_path / "cache"), "layers": "last:1", "dtype": "fp32",
                      "max_prompt_tokens": 900}}
    config = tmp_path / "recipe.yaml"
    config.write_text(yaml.safe_dump(raw))
    run = tmp_path / "run"
    assert main(["--quiet", "train", str(config), "--output-dir", str(run)]) == 0
    assert json.loads((run / "eval" / "metrics.json").read_text())["n"] == 2
    assert json.loads((tmp_path / "cache" / "manifest.json").read_text())["data"]["n_examples"] == 10
    assert main(["--quiet", "eval", str(run), "--output", str(tmp_path / "again.json")]) == 0
    capsys.readouterr()
    assert main(["--quiet", "predict", str(run), "--question", "Tom is a wumpus. Is Tom a wumpus or a rempus?",
                 "--json"]) == 0
    assert "pred_label" in json.loads(capsys.readouterr().out.splitlines()[-1])
