"""bench/loop_vs_run.py rebuilds the batches a real run drew and sets them against the bench's rate."""

from __future__ import annotations

import json

import pytest

from rdistill.methods.rationale.pipeline import train
from rdistill.methods.rationale.trainer import RationaleTrainer
from rdistill.methods.registry import load_recipe
from rdistill.training.run_folder import RunFolder

from .conftest import load_bench


@pytest.mark.parametrize(("grad_accum", "group"), [(1, True), (2, True), (1, False)])
def test_rebuilt_step_positions_are_the_ones_training_drew(toy_recipe, tmp_path, monkeypatch, grad_accum, group):
    loop_vs_run = load_bench("loop_vs_run")
    drawn: list[int] = []
    real_compute_loss = RationaleTrainer.compute_loss

    def recording(self, model, inputs, *args, **kwargs):
        if model.training:
            drawn.append(inputs["input_ids"].numel())
        return real_compute_loss(self, model, inputs, *args, **kwargs)

    monkeypatch.setattr(RationaleTrainer, "compute_loss", recording)
    cfg = load_recipe(toy_recipe, [f"training.grad_accum={grad_accum}", "training.epochs=3",
                                   f"training.group_by_length={group}"])
    out = tmp_path / "run"
    train(cfg, out, show_progress=False)
    steps = len(drawn) // grad_accum
    per_step = [sum(drawn[i * grad_accum:(i + 1) * grad_accum]) for i in range(steps)]
    assert len(set(per_step)) > 1  # batches of several lengths: the order matters
    saved = load_recipe(RunFolder(out).config, ["training.precision=fp32"])
    assert loop_vs_run.step_positions(saved, None, steps) == per_step  # three epochs, each its own order


def test_intervals_split_steps_from_evaluations_and_saves(tmp_path):
    loop_vs_run = load_bench("loop_vs_run")
    log = tmp_path / "metrics.jsonl"
    lines = [{"step": s, "elapsed_s": t, "loss": 1.0} for s, t in ((2, 10.0), (4, 14.0), (6, 30.0), (8, 36.0), (10, 40.0))]
    lines.insert(2, {"step": 4, "eval_loss": 0.5, "eval_label_accuracy": 0.5})  # evaluation after step 4's log
    log.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    intervals, last = loop_vs_run.run_intervals(log, save_steps=6)
    assert last == 10
    assert [(iv["from"], iv["to"], iv["evaluation"], iv["save"]) for iv in intervals] == [
        (2, 4, False, False), (4, 6, True, False), (6, 8, False, True), (8, 10, False, False)]
    with_dev, _ = loop_vs_run.run_intervals(log, save_steps=None)  # saves only at evaluations
    assert [iv["save"] for iv in with_dev] == [False] * 4
    positions = [100] * 10  # every step 100 positions; the bench: 0.02 s per position -> 2 s a step
    result = loop_vs_run.compare(intervals, positions, rate=0.02)
    assert result["steps_only"]["measured_step_s"] == 2.0 and result["steps_only"]["predicted_step_s"] == 2.0
    assert result["steps_only"]["measured_over_predicted"] == 1.0 and result["steps_only"]["intervals"] == 2
    assert result["with_evaluations"]["measured_step_s"] == 8.0  # 16 s over two steps
    assert result["with_saves"]["measured_over_predicted"] == 1.5


def test_bench_rate_prefers_the_separate_steps_and_needs_positions():
    loop_vs_run = load_bench("loop_vs_run")
    rate, source = loop_vs_run.bench_rate({"rdistill_step_s_all": [2.0, 4.0], "positions_per_batch": [1000, 2000],
                                           "loop_step_s_all": [9.0], "loop_positions_per_batch": [1]})
    assert rate == pytest.approx(0.002) and source == "rdistill steps"
    assert loop_vs_run.bench_rate({"loop_step_s_all": [3.0], "loop_positions_per_batch": [1000]})[1] == \
        "trainer.train() steps"
    with pytest.raises(SystemExit, match="no timed steps"):
        loop_vs_run.bench_rate({"rdistill_step_s_all": [1.0], "positions_per_batch": []})
