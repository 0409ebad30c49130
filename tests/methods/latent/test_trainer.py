"""Latent trainer: cached and online teachers give the same losses; each mode trains."""

import json
import pytest
import torch

from rdistill.methods.registry import load_recipe
from rdistill.errors import ConfigError
from rdistill.methods.latent.projection import PROJECTION_FILE
from rdistill.methods.latent.run import build_trainer, extract_cache, train_latent


def _losses(trainer):
    trainer.train()
    return [(h["loss_task"], h["loss_distill"]) for h in trainer.state.log_history if "loss_distill" in h]


def _flat(pairs):
    return [x for pair in pairs for x in pair]


def _first_batch_loss(trainer):
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(4)])
    with torch.no_grad():
        return trainer.compute_loss(trainer.model, trainer._prepare_inputs(batch)).item()


@pytest.mark.parametrize("student_kind", ["layer_subset", "other_tokenizer"])
def test_cached_and_online_give_the_same_losses(tmp_path, tiny_causal_dir, tiny_other_dir, examples,
                                                latent_config, student_kind):
    extra = ({"student_from_teacher": [1]} if student_kind == "layer_subset" else {})
    student = tiny_causal_dir if student_kind == "layer_subset" else tiny_other_dir
    raw = latent_config(tiny_causal_dir, student, tmp_path / "cache", alpha=0.7, **extra)
    cached_cfg = load_recipe(None, raw=raw)
    online_cfg = load_recipe(None, raw=raw, overrides=["latent.teacher_source=online"])
    extract_cache(cached_cfg, examples=examples)
    torch.manual_seed(0)
    cached = build_trainer(cached_cfg, tmp_path / "run-cached", examples)
    torch.manual_seed(0)
    online = build_trainer(online_cfg, tmp_path / "run-online", examples)
    assert (cached.projection is None) == (student_kind == "layer_subset")  # hidden 32 -> 48 needs one
    assert _first_batch_loss(cached) == pytest.approx(_first_batch_loss(online), rel=1e-5)
    a, b = _losses(cached), _losses(online)
    assert len(a) == 3 and _flat(a) == pytest.approx(_flat(b), rel=1e-4)
    assert all(d > 0 for _, d in a)


def test_train_latent_writes_adapter_projection_and_terms(tmp_path, tiny_causal_dir, tiny_other_dir,
                                                         examples, latent_config):
    cfg = load_recipe(None, raw=latent_config(tiny_causal_dir, tiny_other_dir, tmp_path / "cache",
                                              token_alignment="mean", loss="cosine"))
    extract_cache(cfg, examples=examples)
    summary = train_latent(cfg, tmp_path / "run", examples=examples)
    assert summary["global_step"] == 3
    student = tmp_path / "run" / "student"
    assert (student / "adapter_model.safetensors").is_file() and (student / PROJECTION_FILE).is_file()
    logged = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    steps = [x for x in logged if "loss" in x]  # the last line is the Trainer's run summary
    assert len(steps) == 3 and all("loss_task" in x and "loss_distill" in x for x in steps)


def test_distillation_pulls_the_student_towards_the_teacher(tmp_path, tiny_causal_dir, examples, latent_config):
    raw = latent_config(tiny_causal_dir, tiny_causal_dir, tmp_path / "cache", alpha=1.0,
                        student_from_teacher=[0], layer_map=[[2, 1]])
    raw["training"].update(max_steps=12, lr=1e-2)
    cfg = load_recipe(None, raw=raw)
    extract_cache(cfg, examples=examples)
    trainer = build_trainer(cfg, tmp_path / "run", examples)
    distill = [d for _, d in _losses(trainer)]
    assert sum(distill[-3:]) < sum(distill[:3])


def test_logit_kd_cached_topk_and_online_full(tmp_path, tiny_causal_dir, examples, latent_config):
    raw = latent_config(tiny_causal_dir, tiny_causal_dir, tmp_path / "cache", mode="logit_kd", top_k=8,
                        temperature=2.0, student_from_teacher=[1])
    cfg = load_recipe(None, raw=raw)
    extract_cache(cfg, examples=examples)
    cached = _losses(build_trainer(cfg, tmp_path / "a", examples))
    online = _losses(build_trainer(load_recipe(None, raw=raw, overrides=["latent.teacher_source=online",
                                                                           "latent.kd_direction=reverse"]),
                                   tmp_path / "b", examples))
    assert len(cached) == 3 and len(online) == 3
    assert all(d >= 0 and t > 0 for t, d in cached + online)


def test_logit_kd_with_different_vocabularies_is_refused(tmp_path, tiny_causal_dir, tiny_other_dir, examples,
                                                         latent_config):
    raw = latent_config(tiny_causal_dir, tiny_other_dir, tmp_path / "cache", mode="logit_kd",
                        teacher_source="online")
    with pytest.raises(ConfigError, match="share a vocabulary.*use latent.mode=latent"):
        build_trainer(load_recipe(None, raw=raw), tmp_path / "run", examples)


def test_sft_baseline_needs_no_teacher(tmp_path, tiny_causal_dir, examples, latent_config):
    raw = latent_config(tiny_causal_dir, tiny_causal_dir, tmp_path / "cache", mode="sft")
    raw["latent"].pop("teacher")
    trainer = build_trainer(load_recipe(None, raw=raw), tmp_path / "run", examples)
    trainer.train()
    logged = [h for h in trainer.state.log_history if "loss_task" in h]
    assert len(logged) == 3 and all("loss_distill" not in h for h in logged)
    assert logged[0]["loss"] == pytest.approx(logged[0]["loss_task"], rel=1e-4)


def test_cache_for_other_data_is_refused(tmp_path, tiny_causal_dir, examples, latent_config):
    cfg = load_recipe(None, raw=latent_config(tiny_causal_dir, tiny_causal_dir, tmp_path / "cache"))
    extract_cache(cfg, examples=examples[:5])
    from rdistill.errors import DataError

    with pytest.raises(DataError, match="data fingerprint differs"):
        build_trainer(cfg, tmp_path / "run", examples)


def test_gradient_clipping_covers_the_projection(tmp_path, tiny_causal_dir, tiny_other_dir, examples,
                                                 latent_config):
    cfg = load_recipe(None, raw=latent_config(tiny_causal_dir, tiny_other_dir, tmp_path / "cache",
                                              teacher_source="online"))
    trainer = build_trainer(cfg, tmp_path / "run", examples)
    assert trainer.projection is not None
    trainer.args.max_grad_norm = 1e-3
    batch = trainer._prepare_inputs(trainer.data_collator([trainer.train_dataset[i] for i in range(4)]))
    trainer.compute_loss(trainer.model, batch).backward()
    grads = [p.grad for p in [*trainer.model.parameters(), *trainer.projection.parameters()] if p.grad is not None]
    before = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
    assert before > 1e-2
    trainer._clip_grad_norm(trainer.model)
    after = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
    assert after == pytest.approx(1e-3, rel=1e-2)



def test_interrupted_latent_training_resumes_from_its_last_checkpoint(tmp_path, tiny_causal_dir, tiny_other_dir,
                                                                      examples, latent_config, monkeypatch):
    from rdistill.methods.latent.trainer import LatentTrainer

    raw = latent_config(tiny_causal_dir, tiny_other_dir, tmp_path / "cache")
    raw["training"].update(max_steps=4, save_steps=2)
    cfg = load_recipe(None, raw=raw)
    extract_cache(cfg, examples=examples)
    calls = []
    real_step = LatentTrainer.training_step

    def crash_at_third(self, *args, **kwargs):
        calls.append(self.state.global_step)
        if len(calls) == 3:
            raise KeyboardInterrupt  # the machine going down after checkpoint-2
        return real_step(self, *args, **kwargs)

    monkeypatch.setattr(LatentTrainer, "training_step", crash_at_third)
    with pytest.raises(KeyboardInterrupt):
        train_latent(cfg, tmp_path / "run", examples=examples)
    checkpoint = tmp_path / "run" / "checkpoints" / "checkpoint-2"
    assert (checkpoint / PROJECTION_FILE).is_file() and not (tmp_path / "run" / "summary.json").exists()
    steps_after = []

    def count(self, *args, **kwargs):
        steps_after.append(self.state.global_step)
        return real_step(self, *args, **kwargs)

    monkeypatch.setattr(LatentTrainer, "training_step", count)
    resumed_from = []
    real_load = LatentTrainer._load_from_checkpoint
    monkeypatch.setattr(LatentTrainer, "_load_from_checkpoint",
                        lambda self, path, model=None: (resumed_from.append(path), real_load(self, path, model)))
    summary = train_latent(cfg, tmp_path / "run", examples=examples, resume=True)
    assert summary["global_step"] == 4 and resumed_from and resumed_from[0].endswith("checkpoint-2")
    assert steps_after == [2, 3]  # only the two steps not yet done
