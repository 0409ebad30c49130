import json

import pytest
import torch

from rdistill.cli import main
from rdistill.evaluation.efficiency import count_flops, percentile, weights_mb


def test_flops_of_a_single_linear_layer():
    layer = torch.nn.Linear(16, 8, bias=False)
    x = torch.randn(4, 16)
    # One multiply-add per weight per row: 2 * 4 * 16 * 8.
    assert count_flops(lambda: layer(x)) == 2 * 4 * 16 * 8


def test_percentile_matches_linear_interpolation():
    values = [10, 20, 30, 40, 50]
    assert percentile(values, 50) == 30
    assert percentile(values, 95) == pytest.approx(48.0)
    assert percentile([7], 95) == 7


def test_weights_mb_counts_weight_files_only(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"x" * 2_000_000)
    (tmp_path / "tokenizer.json").write_bytes(b"x" * 5_000_000)
    assert weights_mb(tmp_path) == pytest.approx(2.0)


def test_profile_cli_on_a_tiny_run(tmp_path, tiny_causal_dir, esnli_file, train_toy_run):
    run = train_toy_run(max_steps=2)
    out = tmp_path / "profile.json"
    assert main(["--quiet", "profile", str(run), "--data-file", str(esnli_file), "--output", str(out),
                 "--examples", "8", "--latency-examples", "4", "--batch-sizes", "4",
                 "--teacher", str(tiny_causal_dir)]) == 0
    result = json.loads(out.read_text())
    for key in ("params_total", "params_trainable", "disk_mb", "peak_memory_mb", "latency_ms_p50",
                "latency_ms_p95", "throughput_per_s", "flops_per_example"):
        assert result[key] > 0, key
    assert result["latency_ms_p95"] >= result["latency_ms_p50"]
    # The student is the tiny model fully fine-tuned: same size as that "teacher".
    assert result["compression_ratio"] == pytest.approx(1.0)
    assert result["params_trainable"] == result["params_total"]
    assert result["flops_per_example"] > result["flops_forward_per_example"] > 0
    assert set(result["throughput_by_batch_size"]) == {"1", "4"}
