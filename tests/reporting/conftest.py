"""Tiny fake run and sweep folders, written the way training, evaluation and sweeps write them.

``write_run(root, ...)`` makes one run folder; the ``run_dir`` fixture is a complete
run (explanations, teacher, calibration, profile, layer similarity); ``sweep_dir`` is
an alpha x LoRA-rank grid plus two smaller students, with one failed variant.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

LABELS = ["entailment", "neutral", "contradiction"]

TRAIN_LOG = [
    {"step": 2, "epoch": 0.1, "elapsed_s": 3.0, "loss": 8.0, "loss_label": 5.0, "loss_expl": 6.0,
     "learning_rate": 1e-4, "grad_norm": 3.0},
    {"step": 4, "epoch": 0.2, "elapsed_s": 6.0, "loss": 3.0, "loss_label": 1.5, "loss_expl": 3.0,
     "learning_rate": 2e-4, "grad_norm": 2.0},
    {"step": 4, "epoch": 0.2, "elapsed_s": 7.0, "eval_loss": 2.5, "eval_label_accuracy": 0.5,
     "eval_loss_label": 1.0, "eval_loss_expl": 3.0},
    {"step": 6, "epoch": 0.3, "elapsed_s": 9.0, "loss": 1.0, "loss_label": 0.4, "loss_expl": 1.2,
     "learning_rate": 1e-4, "grad_norm": 1.0},
    {"step": 6, "epoch": 0.3, "elapsed_s": 10.0, "eval_loss": 1.5, "eval_label_accuracy": 0.6,
     "eval_loss_label": 0.6, "eval_loss_expl": 1.8},
    # The Trainer's closing line holds run averages, not a point on the curve.
    {"step": 6, "epoch": 0.3, "elapsed_s": 10.5, "train_runtime": 10.0, "train_loss": 4.0,
     "loss_label": 2.3, "loss_expl": 3.4},
]

RELIABILITY = [
    {"lower": 0.0, "upper": 0.25, "count": 0, "accuracy": None, "mean_confidence": None},
    {"lower": 0.25, "upper": 0.5, "count": 2, "accuracy": 0.5, "mean_confidence": 0.4},
    {"lower": 0.5, "upper": 0.75, "count": 3, "accuracy": 0.33, "mean_confidence": 0.6},
    {"lower": 0.75, "upper": 1.0, "count": 1, "accuracy": 1.0, "mean_confidence": 0.9},
]


def eval_metrics(accuracy: float = 0.5, explanations: bool = True) -> dict:
    return {
        "label_accuracy": accuracy,
        "macro_f1": accuracy - 0.05,
        "per_label": {
            "entailment": {"precision": 0.6, "recall": 0.7, "f1": 0.65, "support": 2},
            "neutral": {"precision": 0.3, "recall": 0.4, "f1": 0.35, "support": 2},
            "contradiction": {"precision": 0.8, "recall": 0.5, "f1": 0.62, "support": 2},
        },
        "confusion_matrix": {"labels": LABELS + ["invalid"],
                             "matrix": [[2, 0, 0, 0], [1, 1, 0, 0], [0, 1, 0, 1]]},
        "invalid_rate": 1 / 6,
        "n": 6,
        "rouge_l": 0.4 if explanations else None,
        "bertscore_f1": 0.6 if explanations else None,
        "bleu": 0.2 if explanations else None,
        "ece": 0.12,
        "calibration": {"reliability": RELIABILITY, "n": 6, "accuracy_by_confidence": [
            {"bucket": 1, "range": [0.3, 0.5], "count": 3, "accuracy": 0.33},
            {"bucket": 2, "range": [0.55, 0.9], "count": 3, "accuracy": 0.67}]},
        "teacher_label_agreement": 0.5,
        "teacher_rouge_l": None,
        "error_categories": {"correct": 3, "label_error": 1, "explanation_error": 0, "both": 1,
                             "invalid": 1},
    }


def predictions(explanation: str = "a dog is an animal") -> list[dict]:
    rows = []
    golds = ["entailment", "entailment", "neutral", "neutral", "contradiction", "contradiction"]
    preds = ["entailment", "entailment", "entailment", "neutral", "neutral", None]
    categories = ["correct", "correct", "label_error", "correct", "both", "invalid"]
    for i, (gold, pred, category) in enumerate(zip(golds, preds, categories)):
        rows.append({
            "uid": f"toy:{i}", "premise": f"the dog number {i} runs",
            "hypothesis": "an animal runs",
            "gold_label": gold, "pred_label": pred,
            "label_probs": {label: (0.8 if label == pred else 0.1) for label in LABELS},
            "pred_explanation": explanation if i == 0 else f"explanation {i}",
            "references": [f"human reason {i}", "second reason"],
            "teacher_label": "entailment", "teacher_rationale": f"teacher thinks {i}",
            "rouge_l": 0.1 * i, "bertscore_f1": 0.5, "error_category": category,
        })
    return rows


def config(name: str = "toy", alpha: float = 1.0, rank: int = 16,
           model: str = "smollm2-135m-instruct") -> dict:
    return {"name": name, "seed": 3, "data": {"dataset": "esnli", "train_size": 100},
            "model": {"name": model}, "finetune": {"mode": "lora", "r": rank, "alpha": 2 * rank},
            "loss": {"alpha": alpha, "beta": 0.5}, "training": {"epochs": 1.0, "lr": 3e-4}}


def write_run(root: Path, name: str = "toy", *, metrics: dict | None = None,
              train_log: list[dict] | None = None, preds: list[dict] | None = None,
              cfg: dict | None = None, profile: dict | None = None,
              layer_similarity: dict | None = None, train_seconds: float = 120.0) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    metrics = eval_metrics() if metrics is None else metrics
    (root / "config.yaml").write_text(yaml.safe_dump(cfg or config(name), sort_keys=False))
    system = {"seed": 3, "cpu_count": 2, "gpus": [], "git_commit": "abc123",
              "packages": {"torch": "2.0", "transformers": "5.0"}}
    (root / "system.json").write_text(json.dumps(system))
    headline = {k: metrics.get(k) for k in ("label_accuracy", "macro_f1", "rouge_l", "n")}
    (root / "summary.json").write_text(json.dumps({"name": name, "train_seconds": train_seconds,
                                                   "global_step": 6, "eval": headline}))
    (root / "metrics.jsonl").write_text(
        "".join(json.dumps(row) + "\n" for row in (TRAIN_LOG if train_log is None else train_log)))
    (root / "eval").mkdir(exist_ok=True)
    (root / "eval" / "metrics.json").write_text(json.dumps(metrics))
    (root / "eval" / "metrics.predictions.jsonl").write_text(
        "".join(json.dumps(row) + "\n" for row in (predictions() if preds is None else preds)))
    if profile is not None:
        (root / "profile.json").write_text(json.dumps(profile))
    if layer_similarity is not None:
        (root / "layer_similarity.json").write_text(json.dumps(layer_similarity))
    return root


PROFILE = {"params_total": 135_000_000, "params_trainable": 4_000_000, "disk_mb": 18.0,
           "peak_memory_mb": 900.0, "latency_ms_p50": 40.0, "latency_ms_p95": 60.0,
           "throughput_per_s": 25.0, "flops_per_example": 2.7e10}

LAYER_SIMILARITY = {"student_layers": ["s0", "s1"], "teacher_layers": ["t0", "t1", "t2"],
                    "similarity": [[0.9, 0.5, 0.1], [0.2, 0.6, 0.95]], "measure": "linear CKA"}


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return write_run(tmp_path / "run", profile=PROFILE, layer_similarity=LAYER_SIMILARITY)


# (variant, overrides, accuracy, rouge_l, train_seconds, params, latency_ms)
_R8 = {"finetune.r": 8, "finetune.alpha": 16}
_R32 = {"finetune.r": 32, "finetune.alpha": 64}
SWEEP = [
    ("base", {}, 0.73, 0.44, 700, 137e6, 41.0),
    ("a0.5-r8", {"loss.alpha": 0.5, **_R8}, 0.70, 0.45, 600, 135e6, 40.0),
    ("a1.0-r8", {"loss.alpha": 1.0, **_R8}, 0.74, 0.44, 610, 135e6, 40.0),
    ("a2.0-r8", {"loss.alpha": 2.0, **_R8}, 0.75, 0.40, 620, 135e6, 41.0),
    ("a0.5-r32", {"loss.alpha": 0.5, **_R32}, 0.72, 0.46, 900, 140e6, 42.0),
    ("a1.0-r32", {"loss.alpha": 1.0, **_R32}, 0.77, 0.45, 910, 140e6, 42.0),
    ("a2.0-r32", {"loss.alpha": 2.0, **_R32}, 0.76, 0.41, 905, 140e6, 43.0),
    ("tiny", {"model.name": "tiny-30m"}, 0.60, 0.35, 200, 30e6, 8.0),
    ("small", {"model.name": "small-60m"}, 0.66, 0.40, 350, 60e6, 15.0),
]


def write_sweep(root: Path, rows: list = SWEEP, failed: bool = True) -> Path:
    results = []
    for variant, overrides, accuracy, rouge, seconds, params, latency in rows:
        cfg = config(variant, alpha=overrides.get("loss.alpha", 1.0),
                     rank=overrides.get("finetune.r", 16),
                     model=overrides.get("model.name", "smollm2-135m-instruct"))
        metrics = {**eval_metrics(accuracy), "rouge_l": rouge}
        write_run(root / "runs" / variant, variant, metrics=metrics, cfg=cfg, train_seconds=seconds,
                  profile={**PROFILE, "params_total": params, "latency_ms_p50": latency})
        flat = {k: v for k, v in metrics.items() if not isinstance(v, (dict, list))}
        results.append({"variant": variant, "overrides": overrides,
                        "run_dir": f"runs/{variant}", "status": "ok", "metrics": flat,
                        "train_seconds": seconds})
    if failed:
        results.append({"variant": "broken", "overrides": {"loss.alpha": 9.0},
                        "run_dir": "runs/broken", "status": "failed", "metrics": {},
                        "train_seconds": None})
    (root / "results.json").write_text(json.dumps(results))
    return root


@pytest.fixture
def sweep_dir(tmp_path: Path) -> Path:
    return write_sweep(tmp_path / "sweep")


@pytest.fixture
def fakes():
    """The helpers and constants above (test modules cannot import conftest by name)."""
    from types import SimpleNamespace

    return SimpleNamespace(**{k: v for k, v in globals().items() if not k.startswith("_")})
