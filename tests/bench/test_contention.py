"""bench/contention.py runs every scenario (trainer and neighbour processes) and writes its JSON."""

from __future__ import annotations

import json

import pytest

from .conftest import load_bench


@pytest.mark.slow
def test_contention_scenarios_and_ratios(tmp_path, toy_recipe):
    out = tmp_path / "contention.json"
    code = load_bench("contention").main([
        "--output", str(out), "--recipe", str(toy_recipe), "--batch-size", "4", "--steps", "1",
        "--warmup", "1", "--neighbour-seconds", "0.5", "--precision", "fp32"])
    result = json.loads(out.read_text())
    assert code == 0
    assert set(result["scenarios"]) == {"alone", "alone_auto", "before", "after", "neighbour_alone"}
    # before = torch's default (one thread per core); after = auto, at least one thread.
    assert result["threads"]["before"] == result["threads"]["alone"] == result["allowed_cpus"]
    assert 1 <= result["threads"]["after"] <= result["allowed_cpus"]
    assert result["slowdown_before"] > 0 and result["slowdown_after"] > 0
    assert result["scenarios"]["before"]["neighbour"]["calls"] > 0
    assert all(result["scenarios"][s]["precision"]["choice"] == "fp32" for s in ("alone", "after"))
