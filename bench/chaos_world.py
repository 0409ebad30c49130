"""The small world that ``bench/chaos.py`` kills commands in: a random Llama, toy e-SNLI rows, and
one recipe per command (train, teach, extract, eval, sweep), all offline and on one thread.

The model is bigger than the unit tests' (hidden 64, 4 layers) so that a run lives long enough
for kills to land in every phase (start-up, training steps, checkpoint writes, evaluation), yet a
whole run stays in seconds. The tokenizer is the tests' offline WordPiece one
(``tests/conftest.py``), so the world needs nothing from the network.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import yaml

TESTS = Path(__file__).resolve().parents[1] / "tests"
LABELS = ("entailment", "neutral", "contradiction")
HYPOTHESES = ("an animal runs", "a happy dog runs", "a cat sleeps")
EXPLANATIONS = ("a dog is an animal", "the dog may not be happy", "a dog is not a cat")


def build_model(folder: Path, hidden: int = 64, layers: int = 4) -> Path:
    """A random Llama (``layers`` x ``hidden``) and the tests' WordPiece tokenizer, saved to ``folder``."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    sys.path.insert(0, str(TESTS))
    from conftest import build_tiny_tokenizer  # the tests' offline tokenizer, one definition

    tokenizer = build_tiny_tokenizer(append_eos=False)
    config = LlamaConfig(hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=layers,
                         num_attention_heads=4,
                         num_key_value_heads=2, vocab_size=len(tokenizer), max_position_embeddings=512,
                         pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id)
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def write_rows(path: Path, n: int, seed: int = 0) -> Path:
    """``n`` learnable toy e-SNLI rows (the hypothesis decides the label), JSON lines."""
    rng = random.Random(seed)
    lines = []
    for i in range(n):
        label = rng.randrange(3)
        lines.append(json.dumps({"pairID": f"row-{i}", "premise": f"the dog number {i} runs",
                                 "hypothesis": HYPOTHESES[label], "label": label,
                                 "explanation_1": EXPLANATIONS[label],
                                 "explanation_2": EXPLANATIONS[label] + " here", "explanation_3": ""}))
    path.write_text("\n".join(lines) + "\n")
    return path


def _train_recipe(model: Path, rows: Path, *, max_steps: int) -> dict:
    return {
        "name": "chaos", "seed": 3,
        "data": {"train_file": str(rows), "dev_size": 0, "test_size": 24, "split_by": "row"},
        # Fixed kernels and precision: the reference and the interrupted run are separate
        # processes, and two auto probes near their margin once chose differently (weights 0.34 apart).
        "model": {"name": str(model), "attention": "sdpa"},
        "finetune": {"mode": "lora", "r": 8, "alpha": 16, "dropout": 0.0},
        "loss": {"alpha": 1.0, "beta": 1.0},
        "training": {"max_steps": max_steps, "batch_size": 8, "lr": 5e-3, "logging_steps": 8,
                     "save_steps": max(1, max_steps // 10), "warmup_ratio": 0.0, "tensorboard": False, "num_threads": 1,
                     "precision": "fp32"},
        "generation": {"max_new_tokens": 8, "batch_size": 8},
        "evaluation": {"bertscore": False, "judge": False},
    }


def build_world(root: Path) -> dict[str, Path]:
    """Every file the scenarios need, under ``root``; returns their paths by name."""
    root.mkdir(parents=True, exist_ok=True)
    model = root / "model"
    if not (model / "config.json").is_file():
        build_model(model)
    # A bigger teacher, so that extraction and generation last long enough to be killed midway.
    teacher = root / "teacher"
    if not (teacher / "config.json").is_file():
        build_model(teacher, hidden=512, layers=8)
    rows = write_rows(root / "toy_esnli.jsonl", 600)
    recipes = {
        "train": _train_recipe(model, rows, max_steps=240),
        "sweep": {**_train_recipe(model, rows, max_steps=60),
                  "sweep": {"grid": {"loss.beta": [0.0, 0.5, 1.0]}}},
        "extract": {**_train_recipe(model, rows, max_steps=4), "name": "chaos-latent",
                    "data": {"train_file": str(rows), "dev_size": 0, "test_size": 24, "split_by": "row",
                             "train_size": 480},
                    "method": "latent",
                    "latent": {"teacher": str(teacher), "cache_dir": str(root / "unused-cache"),
                               "layers": "last:2", "dtype": "fp32", "examples_per_shard": 16,
                               "extract_batch_size": 2}},
        "teach": {"name": "chaos-teach", "task": "esnli",
                  "data": {"file": str(rows), "dev_size": 0, "test_size": 24, "split_by": "row", "seed": 3,
                           "limit": 96},
                  "prompt": {"shots": 1}, "generation": {"max_tokens": 16},
                  "teacher": {"backend": "local", "model": str(teacher), "batch_size": 2}},
    }
    paths = {"root": root, "model": model, "teacher": teacher, "rows": rows}
    for name, recipe in recipes.items():
        paths[name] = root / f"{name}.yaml"
        paths[name].write_text(yaml.safe_dump(recipe, sort_keys=False))
    return paths
