import json

import pytest
import yaml

from rdistill.cli import main
from rdistill.errors import DataError
from rdistill.evaluation.compare import compare_runs, markdown_table, recipe_key


def _run(root, name, seed, acc, *, lr=1e-4, params=None, latency=None):
    run = root / f"{name}-{seed}"
    (run / "eval").mkdir(parents=True)
    (run / "config.yaml").write_text(yaml.safe_dump({"name": name, "seed": seed, "training": {"lr": lr}}))
    (run / "eval" / "metrics.json").write_text(json.dumps({"label_accuracy": acc, "rouge_l": None, "n": 10}))
    (run / "summary.json").write_text(json.dumps({"name": name, "train_seconds": 100.0}))
    if params:
        (run / "profile.json").write_text(json.dumps({"params_total": params, "latency_ms_p50": latency}))
    return run


def test_seeds_of_one_recipe_are_grouped(tmp_path):
    a1 = _run(tmp_path, "big", 1, 0.70, params=100e6, latency=200.0)
    a2 = _run(tmp_path, "big", 2, 0.80, params=100e6, latency=200.0)
    b = _run(tmp_path, "small", 1, 0.60, lr=3e-4, params=25e6, latency=50.0)
    assert recipe_key(a1 / "config.yaml") == recipe_key(a2 / "config.yaml") != recipe_key(b / "config.yaml")
    result = compare_runs([a1, a2, b])
    big, small = result["recipes"]
    assert big["n"] == 2 and small["n"] == 1
    assert big["label_accuracy"]["mean"] == pytest.approx(0.75)
    assert big["label_accuracy"]["std"] == pytest.approx(0.0707107, rel=1e-5)
    assert small["label_accuracy"] == {"mean": 0.60, "std": None}
    assert small["compression_ratio"] == pytest.approx(4.0) and small["speedup"] == pytest.approx(4.0)
    assert big["compression_ratio"] == pytest.approx(1.0)
    table = markdown_table(result)
    assert "0.7500 ± 0.0707" in table and "4.00x" in table
    assert "rouge_l" not in table  # no recipe has it


def test_compare_cli_and_missing_metrics(tmp_path, capsys):
    a = _run(tmp_path, "a", 1, 0.5)
    out = tmp_path / "cmp.json"
    assert main(["compare", str(a), "--output", str(out)]) == 0
    assert json.loads(out.read_text())["baseline"] == "a"
    assert out.with_suffix(".md").read_text().startswith("| run | seeds |")
    with pytest.raises(DataError, match="no eval/metrics.json"):
        compare_runs([tmp_path / "missing"])
    assert main(["compare", str(tmp_path / "missing")]) == 2
