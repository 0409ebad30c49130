"""A few real training steps per student kind with tiny random models."""

import json

import pytest

from rdistill.methods.registry import load_recipe
from rdistill.errors import ConfigError
from rdistill.training.run_folder import RunFolder, load_student
from rdistill.prediction.labels import PredictionSettings, Predictor
from rdistill.methods.rationale.pipeline import train
from rdistill.tasks.recipe_data import prepare_splits
from rdistill.tasks.registry import get_task



def _losses(run_dir):
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [r for r in rows if "loss" in r]


@pytest.mark.parametrize("model_fixture", ["tiny_causal_dir", "tiny_seq2seq_dir"])
def test_train_loss_falls_saves_and_evaluates(model_fixture, request, esnli_file, tmp_path, toy_config):
    model_dir = request.getfixturevalue(model_fixture)
    cfg = load_recipe(None, raw=toy_config(model_dir, esnli_file))
    out = tmp_path / "run"
    metrics = train(cfg, out, show_progress=False)
    logged = _losses(out)
    assert logged[-1]["loss"] < 0.7 * logged[0]["loss"]
    assert {"loss_label", "loss_expl"} <= set(logged[0])
    paths = RunFolder(out)
    for f in (paths.config, paths.system, paths.data_summary, paths.eval_metrics, paths.summary,
              paths.student / "rdistill.json"):
        assert f.is_file(), f
    assert metrics["n"] == 9
    assert 0.0 <= metrics["label_accuracy"] <= 1.0
    preds = [json.loads(x) for x in paths.eval_metrics.with_suffix(".predictions.jsonl").read_text().splitlines()]
    assert len(preds) == 9 and all(isinstance(p["pred_explanation"], str) for p in preds)
    assert all(abs(sum(p["label_probs"].values()) - 1) < 1e-4 for p in preds)
    model, tok, kind, _ = load_student(out)
    assert kind == ("seq2seq" if "seq2seq" in model_fixture else "causal")


def test_lora_label_only_saves_adapter_that_reloads_to_same_predictions(tiny_causal_dir, esnli_file,
                                                                        tmp_path, toy_config):
    raw = toy_config(tiny_causal_dir, esnli_file, epochs=4, lr=2e-2)
    raw["finetune"] = {"mode": "lora", "r": 8, "alpha": 16, "target_modules": "all-linear"}
    raw["loss"] = {"alpha": 1.0, "beta": 0.0}
    out = tmp_path / "run"
    metrics = train(load_recipe(None, raw=raw), out, show_progress=False)
    assert metrics["rouge_l"] is None  # label-only student writes no explanation
    logged = _losses(out)
    assert logged[-1]["loss"] < logged[0]["loss"]
    student = RunFolder(out).student
    assert (student / "adapter_model.safetensors").is_file()
    assert not (student / "model.safetensors").exists()  # LoRA saves the adapter only
    saved = [json.loads(x) for x in RunFolder(out).eval_metrics.with_suffix(".predictions.jsonl")
             .read_text().splitlines()]
    model, tok, kind, _ = load_student(out)
    cfg = load_recipe(RunFolder(out).config)
    predictor = Predictor(model, tok, get_task(cfg.data.dataset), is_seq2seq=False, show_progress=False,
                          settings=PredictionSettings(explain=False), generation=cfg.generation)
    splits = prepare_splits(cfg, None)
    again = predictor.predict(splits.test)
    for a, b in zip(saved, again):
        assert a["uid"] == b["uid"] and a["pred_label"] == b["pred_label"]
        for lab in a["label_probs"]:
            assert abs(a["label_probs"][lab] - b["label_probs"][lab]) < 1e-4


def test_resume_continues_from_checkpoint(tiny_causal_dir, esnli_file, tmp_path, toy_config):
    out = tmp_path / "run"
    raw = toy_config(tiny_causal_dir, esnli_file, max_steps=4, save_steps=2)
    raw["data"]["dev_size"] = 0
    train(load_recipe(None, raw=raw), out, show_progress=False)
    assert (out / "checkpoints" / "checkpoint-4").is_dir()
    with pytest.raises(ConfigError, match="--resume"):
        train(load_recipe(None, raw=raw), out, show_progress=False)
    raw["training"]["max_steps"] = 6
    train(load_recipe(None, raw=raw), out, resume=True, show_progress=False)
    steps = [r["step"] for r in _losses(out)]
    # the resumed run starts after step 4 instead of from scratch
    assert steps[-1] == 6 and steps.count(2) == 1


def test_hub_data_source_goes_through_the_hub_loader(tiny_causal_dir, esnli_file, monkeypatch, toy_config):
    import dataclasses

    from rdistill.data.esnli import load_esnli
    from rdistill.tasks.registry import TASKS

    calls = []

    def fake_hub(split, *, name, skip_invalid):
        calls.append((name, split))
        return load_esnli(esnli_file)

    monkeypatch.setitem(TASKS, "esnli", dataclasses.replace(TASKS["esnli"], load_hub=fake_hub))
    raw = toy_config(tiny_causal_dir, "hub:esnli:validation")
    splits = prepare_splits(load_recipe(None, raw=raw), data_dir=None)
    assert calls == [("esnli", "validation")]
    assert len(splits.train) + len(splits.dev) + len(splits.test) == 60


def test_resume_refuses_a_changed_config(tiny_causal_dir, esnli_file, tmp_path, toy_config):
    out = tmp_path / "run"
    raw = toy_config(tiny_causal_dir, esnli_file, max_steps=2, save_steps=2)
    raw["data"]["dev_size"] = 0
    train(load_recipe(None, raw=raw), out, show_progress=False)
    raw["training"]["lr"] = 0.5
    with pytest.raises(ConfigError, match=r"training.lr: 0.005 -> 0.5"):
        train(load_recipe(None, raw=raw), out, resume=True, show_progress=False)


def test_tensorboard_events_and_early_stopping_best_checkpoint(tiny_causal_dir, esnli_file, tmp_path,
                                                               toy_config):
    raw = toy_config(tiny_causal_dir, esnli_file, max_steps=6, eval_steps=2, tensorboard=True,
                     early_stopping_patience=1, metric_for_best="eval_loss")
    raw["loss"] = {"alpha": 1.0, "beta": 0.0}
    out = tmp_path / "run"
    train(load_recipe(None, raw=raw), out, show_progress=False)
    assert list((out / "tensorboard").glob("events.out.tfevents.*"))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["best_checkpoint"] and "checkpoint-" in summary["best_checkpoint"]
    evals = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in evals if "eval_loss" in r]
    assert evals and all("eval_label_accuracy" in r and "eval_loss_label" in r for r in evals)


@pytest.mark.parametrize("task_prefix", [False, True], ids=["predict_explain", "step_by_step"])
def test_labels_only_evaluation_scores_the_same_labels_without_explanations(
        tiny_causal_dir, esnli_file, tmp_path, toy_config, task_prefix):
    raw = toy_config(tiny_causal_dir, esnli_file, max_steps=3)
    raw["loss"] = {"alpha": 1.0, "beta": 0.5, "task_prefix": task_prefix}
    raw["evaluation"] = {**raw.get("evaluation", {}), "explanations": False, "judge": True}
    out = tmp_path / "run"
    metrics = train(load_recipe(None, raw=raw), out, show_progress=False)
    # Absent, not zero: no explanation was generated, so nothing was scored or judged.
    assert metrics["rouge_l"] is None and metrics["bertscore_f1"] is None
    assert metrics["faithfulness"] is None
    saved = [json.loads(x) for x in RunFolder(out).eval_metrics.with_suffix(".predictions.jsonl")
             .read_text().splitlines()]
    assert saved and all(p["pred_explanation"] is None for p in saved)
    # The labels are those of a full evaluation (which also generates the explanations).
    model, tok, _, _ = load_student(out)
    cfg = load_recipe(RunFolder(out).config)
    full = Predictor(model, tok, get_task(cfg.data.dataset), is_seq2seq=False, show_progress=False,
                     settings=PredictionSettings(task_prefix=task_prefix), generation=cfg.generation)
    again = full.predict(prepare_splits(cfg, None).test)
    assert all(isinstance(b["pred_explanation"], str) for b in again)
    assert [a["pred_label"] for a in saved] == [b["pred_label"] for b in again]
    for a, b in zip(saved, again):
        for lab in a["label_probs"]:
            assert abs(a["label_probs"][lab] - b["label_probs"][lab]) < 1e-4
