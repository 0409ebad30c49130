"""bench/prosqa_coconut_report.py: intervals, paired tests, and the table from run folders."""

from __future__ import annotations

import csv
import json
import math

import pytest

from .conftest import load_bench

report = load_bench("prosqa_coconut_report")


def test_wilson_interval_matches_the_closed_form_and_stays_in_0_1():
    lo, hi = report.wilson(0, 16)
    assert lo == 0.0 and hi == pytest.approx(0.19361, abs=1e-4)
    lo, hi = report.wilson(250, 500)
    assert lo == pytest.approx(0.45636, abs=1e-4) and hi == pytest.approx(1 - lo)
    assert report.wilson(0, 0) == (0.0, 1.0)


def test_exact_mcnemar_and_rows_needed():
    assert report.mcnemar_exact(0, 6) == pytest.approx(2 / 64)
    assert report.mcnemar_exact(5, 5) == 1.0 and report.mcnemar_exact(0, 0) == 1.0
    assert report.mcnemar_exact(10, 30) < 0.01 < report.mcnemar_exact(15, 25)
    assert report.rows_needed(0.0, 0.3) is None
    small, large = report.rows_needed(0.02, 0.3), report.rows_needed(0.1, 0.3)
    assert small > large > 0
    # Connor (1987): (1.96 sqrt(0.3) + 0.84 sqrt(0.3 - 0.01))^2 / 0.01
    assert large == math.ceil((1.959964 * 0.3 ** 0.5 + 0.841621 * 0.29 ** 0.5) ** 2 / 0.01)


def test_paired_bootstrap_brackets_the_difference():
    a = [True] * 60 + [False] * 40
    b = [True] * 40 + [False] * 60
    lo, hi = report.paired_bootstrap(a, b, resamples=2000)
    assert lo < 0.2 < hi and lo > 0
    assert report.paired_bootstrap(a, a, resamples=200) == (0.0, 0.0)


def _run(folder, correct, tokens, thoughts=0, steps=100):
    (folder / "eval").mkdir(parents=True)
    (folder / "summary.json").write_text(json.dumps({"global_step": steps, "train_seconds": 10.0,
                                                     "wall_seconds": 12.0}))
    # stored "correct" is always False: the table re-scores answer_text against gold_label
    lines = [json.dumps({"uid": f"t:{i}", "correct": False, "answer_text": "Tom is a wumpus." if ok else "Tom is a bompus.",
                         "gold_label": "Tom is a wumpus.", "generated_tokens": tokens,
                         "thoughts": thoughts}) for i, ok in enumerate(correct)]
    (folder / "eval" / "metrics.predictions.jsonl").write_text("\n".join(lines) + "\n")


def test_main_tabulates_the_runs_and_compares_them_row_by_row(tmp_path):
    _run(tmp_path / "coconut", [True, True, True, False], tokens=7, thoughts=3)
    _run(tmp_path / "sft/runs/cot-sft", [True, False, False, False], tokens=30)
    rows = [{"idx_to_symbol": ["Tom", "Sam", "wumpus", "bompus"], "root": 0, "target": 2, "neg_target": 3}] * 3
    rows.append({"idx_to_symbol": ["Tom", "Sam", "lempus", "zumpus"], "root": 0, "target": 2, "neg_target": 3})
    (tmp_path / "t.json").write_text(json.dumps(rows))  # uids t:0 .. t:3
    result = report.main(["--runs", str(tmp_path), "--out", str(tmp_path / "out"),
                          "--test-file", str(tmp_path / "t.json")])
    rows = list(csv.DictReader((tmp_path / "out" / "results.csv").open()))
    assert [r["variant"] for r in rows] == ["cot-sft", "coconut"]
    assert float(rows[1]["accuracy"]) == 0.75 and float(rows[1]["tokens_per_answer"]) == 7
    assert float(rows[1]["thoughts_per_answer"]) == 3 and rows[0]["steps"] == "100"
    assert rows[1]["rescored_rows"] == "3" and rows[0]["rescored_rows"] == "1"
    assert float(rows[0]["offered_rate"]) == 0.75  # row t:3 offers lempus / zumpus, not the answer written
    (pair,) = result["paired"]
    assert (pair["a"], pair["b"], pair["a_only_right"], pair["b_only_right"]) == ("coconut", "cot-sft", 2, 0)
    assert pair["diff"] == 0.5 and pair["mcnemar_p"] == 0.5
    assert "no-cot-sft" in result["missing"] and (tmp_path / "out" / "accuracy_tokens.png").is_file()
