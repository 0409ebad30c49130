"""The kill harness ``bench/chaos.py``: its checks catch what they claim to, and one kill + resume
of ``train`` and of ``eval`` in its offline world passes end to end (marked slow)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import chaos  # noqa: E402


def test_compare_flags_weights_and_metrics_that_differ_from_the_reference():
    ref = {"weights": {"a": torch.zeros(3)}, "metrics": {"acc": 0.5}}
    assert chaos.compare(ref, {"weights": {"a": torch.zeros(3)}, "metrics": {"acc": 0.5}}) == ([], 0.0)
    problems, worst = chaos.compare(ref, {"weights": {"a": torch.tensor([0.0, 1e-3, 0.0])},
                                          "metrics": {"acc": 0.5}})
    assert worst == pytest.approx(1e-3) and "weights differ" in problems[0]
    problems, _ = chaos.compare(ref, {"weights": {"b": torch.zeros(3)}, "metrics": {"acc": 0.25}})
    assert any("tensors differ" in p for p in problems) and any("metrics differ" in p for p in problems)


def test_a_resume_that_skips_the_newest_complete_checkpoint_is_a_failure(tmp_path):
    before = {"checkpoints": [4, 8], "finished": False}
    good = f"resuming from {tmp_path / 'checkpoints' / 'checkpoint-8'}"
    assert chaos.nothing_lost("train", before, tmp_path, good) == []
    assert chaos.nothing_lost("train", before, tmp_path, good.replace("-8", "-4"))
    finished = {"checkpoints": [8], "finished": True}
    assert chaos.nothing_lost("train", finished, tmp_path, "step 2 | loss 1.0")  # trained again


def test_teacher_rows_asked_again_and_rewritten_shards_are_failures(tmp_path):
    assert chaos.nothing_lost("teach", {"rows_done": 5}, tmp_path, "teach: 9 distinct prompts, 3 cached, 6 to ask x")
    assert not chaos.nothing_lost("teach", {"rows_done": 5}, tmp_path, "teach: 9 distinct prompts, 5 cached, 4 to ask x")
    shard = tmp_path / "shard-00000.json"
    shard.write_text("{}")
    before = chaos.at_kill("extract", tmp_path)
    assert chaos.nothing_lost("extract", before, tmp_path, "") == []
    shard.write_text('{"rewritten": 1}')
    assert chaos.nothing_lost("extract", before, tmp_path, "")


def test_a_truncated_evaluation_output_is_a_failure(tmp_path):
    (tmp_path / "metrics.json").write_text('{"n": 3')
    assert chaos.nothing_lost("eval", {"outputs": {"metrics.json": (0, 7)}}, tmp_path, "")


@pytest.mark.slow
def test_one_kill_and_resume_of_train_and_eval_matches_an_uninterrupted_run(tmp_path):
    out = tmp_path / "chaos.json"
    rc = chaos.main(["--trials", "1", "--commands", "train,eval", "--work-dir", str(tmp_path / "w"),
                     "--output", str(out)])
    summary = json.loads(out.read_text())
    assert rc == 0, summary
    for name in ("train", "eval"):
        record = summary["commands"][name]["records"][0]
        assert summary["commands"][name]["passed"] == 1 and record["resume_rc"] == 0
        assert record["max_weight_diff"] <= 1e-5
