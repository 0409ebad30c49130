"""bench/train_step.py times the trainer's own batches, loop and steps alike."""

from __future__ import annotations

import json

import pytest

from .conftest import load_bench


def test_bench_times_the_loops_own_batches(tmp_path, toy_recipe):
    out = tmp_path / "step.json"
    code = load_bench("train_step").main(["--output", str(out), "--recipe", str(toy_recipe), "--steps", "2",
                                          "--warmup", "1", "--train-rows", "30"])
    result = json.loads(out.read_text())
    assert code == 0 and result["losses_finite"]
    assert result["same_batches_as_loop"] is True
    # The timed steps ran on exactly the batches trainer.train() drew (after its warm-up).
    assert result["positions_per_batch"] == result["loop_positions_per_batch"]
    assert len(result["rdistill_step_s_all"]) == len(result["loop_step_s_all"]) == 2
    assert result["bench_over_loop"] > 0 and 0 < result["mfu"] < 1
    assert result["precision"]["choice"] == "fp32"  # the test probe: fp32 wins
    assert result["matmul_peak_dtype"] == "float32"


def test_first_rows_batch_is_the_old_benchs_batch(tmp_path, toy_recipe):
    out = tmp_path / "old.json"
    load_bench("train_step").main(["--output", str(out), "--recipe", str(toy_recipe), "--steps", "1",
                                   "--warmup", "0", "--batches", "first-rows", "--no-loop"])
    result = json.loads(out.read_text())
    assert result["same_batches_as_loop"] is False and result["loop_step_s"] is None
    assert result["tokens_per_batch"][0] <= result["positions_per_batch"][0]


def test_loop_only_writes_the_loops_step_times(tmp_path, toy_recipe):
    out = tmp_path / "loop.json"
    load_bench("train_step").main(["--output", str(out), "--recipe", str(toy_recipe), "--steps", "2",
                                   "--warmup", "1", "--train-rows", "30", "--loop-only",
                                   "--set", "training.num_threads=1"])
    result = json.loads(out.read_text())
    assert len(result["loop_step_s_all"]) == 2 and result["torch_threads"] == 1
    assert "rdistill_step_s" not in result


def test_profile_splits_the_step_time_by_operator_family(tmp_path, toy_recipe):
    out = tmp_path / "profile.json"
    code = load_bench("train_step").main(["--output", str(out), "--recipe", str(toy_recipe), "--steps", "1",
                                          "--warmup", "1", "--train-rows", "30", "--no-loop",
                                          "--profile-steps", "2"])
    profile = json.loads(out.read_text())["profile"]
    assert code == 0 and profile["steps"] == 2
    # One timed batch, two profiled steps: the batch runs twice and its tokens count twice.
    result = json.loads(out.read_text())
    assert profile["tokens_per_step"] == result["tokens_per_batch"] * 2
    assert abs(sum(profile["share_by_kind"].values()) - 1) < 1e-3
    assert profile["seconds_by_kind"]["matmul"] > 0 and profile["seconds_by_kind"]["optimizer"] > 0
    # Matmuls are part of the step: the profiled steps' MFU is below their matmul-only bound.
    assert profile["seconds_by_kind"]["matmul"] < profile["self_seconds_total"]
    assert 0 < profile["mfu_profiled"] < profile["mfu_if_only_matmuls"]
    assert profile["top_ops"] and all(op["self_seconds"] >= 0 for op in profile["top_ops"])


def test_op_families():
    bench = load_bench("train_step")
    assert bench.op_kind("aten::mm") == "matmul" and bench.op_kind("aten::addmm") == "matmul"
    assert bench.op_kind("aten::_scaled_dot_product_flash_attention_for_cpu") == "attention"
    assert bench.op_kind("aten::_foreach_addcdiv_") == "optimizer"
    assert bench.op_kind("aten::_to_copy") == "cast_copy"
    assert bench.op_kind("aten::mul") == "elementwise_norm"
    assert bench.op_kind("aten::nonzero") == "other"


def test_compare_attention_times_the_other_kernel_on_the_same_batches(tmp_path, toy_recipe):
    out = tmp_path / "attention.json"
    code = load_bench("train_step").main(["--output", str(out), "--recipe", str(toy_recipe), "--steps", "2",
                                          "--warmup", "1", "--train-rows", "30", "--no-loop",
                                          "--compare-attention"])
    result = json.loads(out.read_text())
    assert code == 0 and result["attention"]["choice"] == "sdpa"  # the test probe: sdpa wins
    other = result["other_attention"]
    assert other["kernel"] == "eager" and len(other["step_s_all"]) == 2
    import statistics
    assert other["speedup_of_run_kernel"] == pytest.approx(
        statistics.median(other["step_s_all"]) / statistics.median(result["rdistill_step_s_all"]), rel=0.02)
