"""A few training steps on CommonsenseQA with two teachers: the task path and RUN/teachers.json."""

from __future__ import annotations

import json

import pytest

from rdistill.methods.registry import load_recipe
from rdistill.errors import ConfigError
from rdistill.methods.rationale.pipeline import train
from rdistill.tasks.recipe_data import prepare_splits

CHOICES = ["park", "dog", "street", "ball", "table"]


@pytest.fixture
def cqa_files(tmp_path):
    """30 toy questions (answer = choice i % 5), a PaLM array right on even rows, a JSON-lines
    teacher right on every row but the last three, which it leaves out."""
    rows, palm, local = [], [], []
    for i in range(30):
        answer = CHOICES[i % 5]
        letter = "abcde"[i % 5]
        rows.append({"id": f"q{i}", "question": f"where is the {answer} number {i}?", "choices": CHOICES,
                     "answer": answer, "abstractive_explanation": f"the {answer} is there"})
        palm_letter = letter if i % 2 == 0 else "abcde"[(i + 1) % 5]
        palm.append(f"It must be so. So the answer is ({palm_letter}) x.\n\nQ: next")
        if i < 27:
            local.append({"uid": f"q{i}", "teacher": "smol", "rationale": f"because {answer}",
                          "label": letter, "tokens": 4, "latency_s": 0.25})
    data = tmp_path / "cqa_train.json"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "train_CoT_0.json").write_text(json.dumps(palm))
    (tmp_path / "smol.jsonl").write_text("".join(json.dumps(r) + "\n" for r in local))
    return tmp_path


def _config(model_dir, root, **data):
    return {
        "name": "toy-cqa", "seed": 3,
        "data": {"dataset": "cqa", "train_file": "cqa_train.json", "dev_size": 4, "test_size": 6,
                 "split_by": "row", "explanation_source": "palm", "multi_teacher": "majority",
                 "teacher_files": ["train_CoT_0.json",
                                   {"name": "smol", "format": "jsonl", "files": ["smol.jsonl"]}],
                 **data},
        "model": {"name": str(model_dir)}, "finetune": {"mode": "full"},
        "training": {"max_steps": 2, "batch_size": 8, "logging_steps": 1, "save_steps": 10,
                     "warmup_ratio": 0.0},
        "tracking": {"tensorboard": False},
        "generation": {"max_new_tokens": 4, "batch_size": 8},
        "evaluation": {"bertscore": False, "judge": False},
    }


def test_cqa_trains_with_two_teachers_and_writes_the_report(tiny_causal_dir, cqa_files, tmp_path):
    cfg = load_recipe(None, raw=_config(tiny_causal_dir, cqa_files))
    out = tmp_path / "run"
    metrics = train(cfg, out, data_dir=str(cqa_files), show_progress=False)
    report = json.loads((out / "teachers.json").read_text())
    palm, smol = report["teachers"]["palm"], report["teachers"]["smol"]
    assert report["rows"] == 30
    assert (palm["rows_covered"], palm["labels_parsed"], palm["correct"]) == (30, 30, 15)
    assert palm["accuracy"] == 0.5
    assert (smol["rows_covered"], smol["correct"], smol["accuracy"], smol["coverage"]) == (27, 27, 1.0, 0.9)
    # both labelled rows 0..26; they agree on the even ones: 0, 2, ..., 26 -> 14 of 27
    assert palm["agreement"]["smol"] == {"rows": 27, "rate": pytest.approx(14 / 27)}
    assert (smol["tokens"], smol["latency_s"], smol["latency_s_per_row"]) == (108, 6.75, 0.25)
    assert metrics["n"] == 6
    preds = [json.loads(x) for x in (out / "eval" / "metrics.predictions.jsonl").read_text().splitlines()]
    assert all(set(p["label_probs"]) == {"a", "b", "c", "d", "e"} for p in preds)
    assert all(p["gold_label"] in "abcde" for p in preds)


def test_cqa_rejects_premise_split(tiny_causal_dir, cqa_files):
    cfg = load_recipe(None, raw=_config(tiny_causal_dir, cqa_files, split_by="premise"))
    with pytest.raises(ConfigError, match="task 'cqa' has no premise.*data.split_by=row"):
        prepare_splits(cfg, str(cqa_files))
