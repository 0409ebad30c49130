"""bench/coconut_step.py runs end to end on a tiny random model and writes its JSON."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

BENCH = Path(__file__).resolve().parents[3] / "bench" / "coconut_step.py"


def test_bench_writes_step_times_by_stage(tmp_path):
    spec = importlib.util.spec_from_file_location("coconut_step_bench", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "step.json"
    bench.main(["--output", str(out), "--layers", "1", "--hidden", "32", "--batch-size", "2",
                "--max-stage", "2", "--c-thoughts", "1", "--steps", "1", "--warmup", "0", "--finetune", "full"])
    result = json.loads(out.read_text())
    assert set(result["coconut_step_s"]) == set(result["cost_over_cot"]) == {"0", "1", "2"}
    assert result["cot_step_s"] > 0 and result["thoughts_per_row"] == {"0": 0.0, "1": 1.0, "2": 2.0}
