import json
import random

import pytest

LABELS = ("entailment", "neutral", "contradiction")
EXPLAIN = {0: "a dog is an animal", 1: "the dog may not be happy", 2: "a dog is not a cat"}
HYPS = {0: "an animal runs", 1: "a happy dog runs", 2: "a cat sleeps"}


@pytest.fixture
def esnli_file(tmp_path):
    """60 rows of a learnable toy e-SNLI: the hypothesis decides the label."""
    rng = random.Random(0)
    path = tmp_path / "toy_esnli.json"
    lines = []
    for i in range(60):
        label = rng.randrange(3)
        lines.append(json.dumps({"premise": f"the dog number {i} runs", "hypothesis": HYPS[label],
                                 "label": label, "explanation_1": EXPLAIN[label],
                                 "explanation_2": EXPLAIN[label] + " here", "explanation_3": ""}))
    path.write_text("\n".join(lines) + "\n")
    return path


def toy_config(model_dir, train_file, **training):
    return {
        "name": "toy",
        "seed": 3,
        "data": {"train_file": str(train_file), "dev_size": 6, "test_size": 9, "split_by": "row"},
        "model": {"name": str(model_dir)},
        "finetune": {"mode": "full"},
        "loss": {"alpha": 1.0, "beta": 1.0},
        "training": {"epochs": 8, "batch_size": 8, "lr": 5e-3, "logging_steps": 2, "save_steps": 10,
                     "warmup_ratio": 0.0, "tensorboard": False, **training},
        "generation": {"max_new_tokens": 8, "batch_size": 4},
        "evaluation": {"bertscore": False},
    }
