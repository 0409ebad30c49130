"""bench/peers.py runs each peer in its own process and compares them on the same rows."""

from __future__ import annotations

import json

import pytest

from .conftest import load_bench

pytest.importorskip("trl")


@pytest.mark.slow
def test_peers_write_rates_memory_and_equal_wall_accuracy(tmp_path, toy_recipe):
    out = tmp_path / "peers.json"
    code = load_bench("peers").main(["--output", str(out), "--recipe", str(toy_recipe), "--steps", "2",
                                     "--warmup", "1", "--train-rows", "30", "--dev-rows", "6",
                                     "--equal-wall", "1"])
    result = json.loads(out.read_text())
    assert code == 0 and set(result["peers"]) == {"rdistill", "trl", "trl_tuned", "plain"}
    for peer in result["peers"].values():
        assert peer["examples_per_s"] > 0 and peer["peak_rss_mb"] > 0
        assert 0 <= peer["dev_label_accuracy"] <= 1 and peer["dev_rows"] == 6
        assert peer["bf16"] is False  # one precision for all: the test probe's fp32
    assert result["peers"]["trl"]["gradient_checkpointing"] is True
    assert result["peers"]["trl_tuned"]["gradient_checkpointing"] is False
    assert set(result["rdistill_over"]) == {"trl", "trl_tuned", "plain"}
