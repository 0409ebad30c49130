"""The default CPU student on real e-SNLI rows: a few steps end to end (CI has the data)."""

import json
import os
from pathlib import Path

import pytest

from rdistill.methods.registry import load_recipe
from rdistill.methods.rationale.pipeline import train

CONFIG = Path(__file__).parents[3] / "configs" / "quickstart.yaml"


@pytest.mark.slow
@pytest.mark.real_model
@pytest.mark.real_data
def test_smollm2_quickstart_recipe_runs_on_real_rows(smollm2_dir, tmp_path):
    data_dir = os.environ.get("RDISTILL_DATA_DIR")
    if not data_dir or not (Path(data_dir) / "esnli" / "esnli_valid.json").is_file():
        pytest.skip("RDISTILL_DATA_DIR with esnli/esnli_valid.json is not available")
    cfg = load_recipe(CONFIG, ["data.train_size=16", "data.test_size=8", "training.max_steps=2",
                               "training.batch_size=8", "generation.max_new_tokens=12",
                               "training.logging_steps=1", "evaluation.judge=true"])
    metrics = train(cfg, tmp_path / "run", data_dir=data_dir, show_progress=False)
    assert metrics["n"] >= 8
    assert 0 <= metrics["label_accuracy"] <= 1 and 0 <= metrics["rouge_l"] <= 1
    assert 0 < metrics["bertscore_f1"] <= 1
    assert metrics["protocol"]["bertscore"]["layer"] == 6
    # The simulatability judge (real MiniLM) trained on the 16 training rows and scored the test rows.
    assert 0 <= metrics["faithfulness"] <= 1 and metrics["judge_ceiling"] is not None
    assert metrics["protocol"]["faithfulness"]["judges"]["explanation"]["n_train"] == 14
    preds = (tmp_path / "run" / "eval" / "metrics.predictions.jsonl").read_text().splitlines()
    first = json.loads(preds[0])
    assert first["references"] and first["premise"]
    assert (tmp_path / "run" / "student" / "adapter_model.safetensors").is_file()
