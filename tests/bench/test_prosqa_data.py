"""bench/prosqa_data.py: disjoint, consistent train and held-out ProsQA-style files."""

from __future__ import annotations

import json

from .conftest import load_bench
from rdistill.data.prosqa import NODE_COUNTS, check_prosqa_row

bench = load_bench("prosqa_data")
histogram, main = bench.histogram, bench.main


def test_histogram_parses_ranges_weights_and_single_values():
    assert histogram("10-12", NODE_COUNTS) == {10: 1, 11: 1, 12: 1}
    assert histogram("0:3,1:1", NODE_COUNTS) == {0: 3, 1: 1}
    assert histogram("3", NODE_COUNTS) == {3: 1}
    assert histogram(None, NODE_COUNTS) == NODE_COUNTS


def test_main_writes_disjoint_consistent_files_of_the_asked_shape(tmp_path):
    summary = main(["--out-dir", str(tmp_path), "--train", "40", "--test", "30", "--seed", "7",
                    "--nodes", "10-11", "--path", "3", "--extra", "0:1"])
    train = json.loads((tmp_path / "prosqa_train.json").read_text())
    test = json.loads((tmp_path / "prosqa_test.json").read_text())
    assert len(train) == 40 and len(test) == 30
    assert not {r["question"] for r in train} & {r["question"] for r in test}
    assert all(check_prosqa_row(r) == [] for r in train + test)
    assert {len(r["steps"]) for r in train + test} == {3}
    assert {len(r["idx_to_symbol"]) for r in train + test} <= {10, 11}
    assert summary["steps_mean"] == 3 and summary["train_rows"] == 40
    assert json.loads((tmp_path / "prosqa_data.json").read_text())["test_rows"] == 30
