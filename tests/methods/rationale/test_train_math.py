"""Math tasks through the sequence pipeline with tiny random models: train, predict, evaluate."""

import json
import random

import pytest

from rdistill.methods.registry import load_recipe
from rdistill.cli import main
from rdistill.errors import ConfigError
from rdistill.methods.base import EvalRequest
from rdistill.methods.registry import evaluate_run, run_predictor
from rdistill.training.run_folder import RunFolder
from rdistill.methods.rationale.pipeline import train
from rdistill.tasks.recipe_data import prepare_splits


@pytest.fixture
def gsm8k_toy_file(tmp_path):
    """40 rows in the GSM8K layout: a + b word problems with annotated steps."""
    rng = random.Random(0)
    lines = []
    for _ in range(40):
        a, b = rng.randint(1, 9), rng.randint(1, 9)
        lines.append(json.dumps({
            "question": f"the man has {a} dogs and {b} cats. how many animals?",
            "answer": f"the man has {a} + {b} = <<{a}+{b}={a + b}>>{a + b} animals.\n#### {a + b}",
        }))
    path = tmp_path / "gsm8k_toy.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def _math_config(model_dir, train_file, **overrides):
    raw = {
        "name": "toy-math", "seed": 3,
        "data": {"dataset": "gsm8k", "train_file": str(train_file), "dev_size": 4, "test_size": 6,
                 "split_by": "row"},
        "model": {"name": str(model_dir)},
        "finetune": {"mode": "full"},
        "loss": {"alpha": 1.0, "beta": 1.0},
        "training": {"max_steps": 6, "batch_size": 8, "lr": 5e-3, "logging_steps": 2, "save_steps": 10,
                     "warmup_ratio": 0.0, "eval_steps": 3, "tensorboard": False,
                     "max_target_tokens": 40},
        "generation": {"max_new_tokens": 24, "batch_size": 4},
        "evaluation": {"bertscore": False, "judge": True},
    }
    for section, values in overrides.items():
        raw[section] = {**raw.get(section, {}), **values}
    return raw


def _losses(run):
    return [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]


def test_chain_of_thought_run_trains_predicts_and_scores_answers(tiny_causal_dir, gsm8k_toy_file, tmp_path):
    out = tmp_path / "run"
    metrics = train(load_recipe(None, raw=_math_config(tiny_causal_dir, gsm8k_toy_file)), out,
                    show_progress=False)
    logged = _losses(out)
    train_rows = [r for r in logged if "loss" in r]
    assert train_rows[-1]["loss"] < train_rows[0]["loss"]
    assert {"loss_label", "loss_expl"} <= set(train_rows[0])
    # dev answer accuracy by generation, logged where e-SNLI logs its dev label accuracy
    evals = [r for r in logged if "eval_loss" in r]
    assert evals and all(0.0 <= r["eval_label_accuracy"] <= 1.0 for r in evals)

    assert metrics["n"] == 6 and 0.0 <= metrics["answer_accuracy"] <= 1.0
    assert 0.0 <= metrics["invalid_rate"] <= 1.0
    assert metrics["label_accuracy"] is None and metrics["ece"] is None
    assert "open-answer" in metrics["protocol"]["calibration"]["skipped"]
    assert "closed label set" in metrics["protocol"]["faithfulness"]["skipped"]  # judge on, skipped
    preds = [json.loads(x) for x in RunFolder(out).eval_metrics.with_suffix(".predictions.jsonl")
             .read_text().splitlines()]
    assert len(preds) == 6
    for p in preds:
        assert isinstance(p["generated"], str) and isinstance(p["pred_explanation"], str)
        assert p["correct"] == (p["pred_label"] == p["gold_label"])  # integer golds: exact
    assert metrics["answer_accuracy"] == sum(p["correct"] for p in preds) / 6
    assert metrics["invalid_rate"] == sum(p["pred_label"] is None for p in preds) / 6
    summary = json.loads((out / "summary.json").read_text())
    assert summary["eval"]["answer_accuracy"] == metrics["answer_accuracy"]


def test_answer_only_lora_run_and_reloaded_predictor(tiny_causal_dir, gsm8k_toy_file, tmp_path, capsys):
    raw = _math_config(tiny_causal_dir, gsm8k_toy_file, loss={"beta": 0.0},
                       finetune={"mode": "lora", "r": 4, "alpha": 8},
                       generation={"max_new_tokens": 6})
    out = tmp_path / "run"
    metrics = train(load_recipe(None, raw=raw), out, show_progress=False)
    assert metrics["rouge_l"] is None and metrics["n"] == 6
    saved = [json.loads(x) for x in RunFolder(out).eval_metrics.with_suffix(".predictions.jsonl")
             .read_text().splitlines()]
    assert all(p["pred_explanation"] is None for p in saved)
    predictor, cfg = run_predictor(out)
    again = predictor.predict(prepare_splits(cfg, None).test)
    # merged LoRA weights generate the same greedy answers as the trained adapter did
    assert [p["generated"] for p in again] == [p["generated"] for p in saved]
    # `rdistill eval` path: the run's own held-out split
    evaluated = evaluate_run(out, EvalRequest(output=str(tmp_path / "eval.json")))
    assert evaluated["answer_accuracy"] == metrics["answer_accuracy"]
    # `rdistill predict --question`: one JSON line with the generated answer
    capsys.readouterr()
    assert main(["--quiet", "predict", str(out), "--question", "the man has 2 dogs and 3 cats.", "--json"]) == 0
    (line,) = capsys.readouterr().out.strip().splitlines()
    record = json.loads(line)
    assert record["uid"] == "1" and isinstance(record["generated"], str) and record["pred_explanation"] is None


def test_seq2seq_student_trains_on_math(tiny_seq2seq_dir, gsm8k_toy_file, tmp_path):
    raw = _math_config(tiny_seq2seq_dir, gsm8k_toy_file, training={"max_steps": 2, "eval_steps": None},
                       data={"dev_size": 0})
    metrics = train(load_recipe(None, raw=raw), tmp_path / "run", show_progress=False)
    assert metrics["n"] == 6 and metrics["answer_accuracy"] is not None


def test_config_refuses_premise_split_and_task_prefix_for_math(tiny_causal_dir, gsm8k_toy_file):
    raw = _math_config(tiny_causal_dir, gsm8k_toy_file, data={"split_by": "premise"})
    with pytest.raises(ConfigError, match="set data.split_by: row"):
        load_recipe(None, raw=raw)
    raw = _math_config(tiny_causal_dir, gsm8k_toy_file, loss={"task_prefix": True})
    with pytest.raises(ConfigError, match="task_prefix"):
        load_recipe(None, raw=raw)
