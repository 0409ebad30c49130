"""Learning curves of a train-size x seed sweep: intervals, paired differences, the figure."""

import json
import math

import pytest

from rdistill.reporting import learning_curve as lc
from rdistill.reporting.figures import sweep_figures
from rdistill.reporting.results import load_sweep
from rdistill.evaluation import stats
from rdistill.evaluation.stats import wilson

GOLD = ["entailment", "neutral", "contradiction"] * 4  # 12 test rows per seed


def _preds(right: list[bool]) -> list[dict]:
    other = {"entailment": "neutral", "neutral": "contradiction", "contradiction": "entailment"}
    return [{"uid": f"r{i}", "gold_label": g, "pred_label": g if ok else other[g]}
            for i, (g, ok) in enumerate(zip(GOLD, right))]


def _sweep(root, fakes, runs):
    """runs: (series, size or None, seed, right-per-row, train rows for a None size)."""
    results = []
    for series, size, seed, right, rows in runs:
        name = f"{series},data.train_size={'null' if size is None else size},seed={seed}"
        acc = sum(right) / len(right)
        run = fakes.write_run(root / "runs" / name, name, preds=_preds(right),
                              metrics={**fakes.eval_metrics(acc), "n": len(right)})
        (run / "data_summary.json").write_text(json.dumps({"splits": {"train": rows}}))
        results.append({"variant": name, "overrides": {"data.train_size": size, "seed": seed},
                        "run_dir": f"runs/{name}", "status": "done", "train_seconds": 60.0,
                        "metrics": {"label_accuracy": acc, "n": len(right)}})
    (root / "results.json").write_text(json.dumps(results))
    return root


HALF = [True] * 6 + [False] * 6
ALL = [True] * 12
NINE = [True] * 9 + [False] * 3


@pytest.fixture
def curve_dir(tmp_path, fakes):
    return _sweep(tmp_path / "curve", fakes, [
        ("label-only", 1000, 0, HALF, 1000), ("label-only", 1000, 1, NINE, 1000),
        ("human", 1000, 0, ALL, 1000), ("human", 1000, 1, ALL, 1000),
        ("same", 1000, 0, HALF, 1000), ("same", 1000, 1, NINE, 1000),
        ("label-only", None, 0, ALL, 8642), ("human", None, 0, NINE, 8642),
    ])


def test_runs_and_points_group_by_series_and_size(curve_dir):
    runs = lc.curve_runs(load_sweep(curve_dir).variants)
    assert {r.series for r in runs} == {"label-only", "human", "same"}
    # "all rows" (size null) is placed at the run's real number of training rows.
    assert {r.size for r in runs} == {1000, 8642}
    human = next(r for r in runs if r.series == "human" and r.seed == 0)
    assert human.top_label == ("entailment", pytest.approx(1 / 3))  # right on every row: the gold mix
    points = {(p.series, p.size): p for p in lc.curve_points(runs)}
    two = points[("label-only", 1000)]
    assert two.seeds == (0, 1) and two.accuracies == (0.5, 0.75) and two.interval == "t over seeds"
    assert two.mean == pytest.approx(0.625)
    assert (two.low, two.high) == (0.0, 1.0)  # t(1) x sd / sqrt 2 = 1.59: clipped to 0-1
    one = points[("human", 8642)]
    assert one.interval == "Wilson" and (one.low, one.high) == pytest.approx(wilson(9, 12))


def test_paired_difference_pools_seeds_row_by_row(curve_dir):
    runs = lc.curve_runs(load_sweep(curve_dir).variants)
    better = lc.paired_difference(runs, "human", "label-only", 1000, n_boot=2000)
    # human is right on every row; label-only on 6 + 9 of 24: 9 rows better, none worse.
    assert better["rows"] == 24 and better["seeds"] == 2
    assert better["difference"] == pytest.approx(9 / 24)
    assert (better["better"], better["worse"]) == (9, 0)
    assert better["mcnemar_p"] == pytest.approx(2 / 2 ** 9)
    assert 0 < better["low"] < better["difference"] < better["high"] and better["verdict"] == "higher"
    same = lc.paired_difference(runs, "same", "label-only", 1000, n_boot=2000)
    assert same["difference"] == 0 and same["low"] == same["high"] == 0
    assert same["verdict"] == "no difference" and same["mcnemar_p"] == 1.0
    assert lc.paired_difference(runs, "same", "label-only", 8642) is None  # "same" has no run there


def test_tables_and_figure(curve_dir):
    runs = lc.curve_runs(load_sweep(curve_dir).variants)
    text = lc.markdown_tables(runs)
    assert "| human | 1,000 | 2 | 24 | +37.5 |" in text
    assert "| label-only | 1,000 | 2 | 50.0 / 75.0 | 62.5 |" in text
    assert "no difference" in text and "higher" in text
    # human: 9 of 24 rows better, none worse -> pd = d = 0.375: the next run's size is computable.
    assert f"| higher | ~{stats.rows_needed(9 / 24, 9 / 24):,} |" in text
    assert "| no difference | – |" in text  # "same" equals label-only row for row
    figure = lc.learning_curve(lc.curve_points(runs))
    gids = {a.get_gid() for a in figure.findobj() if (a.get_gid() or "").startswith("learning_curve|")}
    assert gids == {"learning_curve|label-only", "learning_curve|human", "learning_curve|same"}
    ticks = [t.get_text() for t in figure.axes[0].get_xticklabels()]
    assert ticks == ["1,000", "8,642"]
    # "same" was not run at 8,642 rows: its line stops at 1,000 instead of ending elsewhere.
    lines = {c.get_label(): c.lines[0] for c in figure.axes[0].containers}
    same = list(lines["same"].get_ydata())
    assert same[0] == pytest.approx(0.625) and math.isnan(same[1])
    assert not any(math.isnan(y) for y in lines["human"].get_ydata())


def test_cli_reads_one_sweep_folder_per_size_and_refuses_a_run_given_twice(tmp_path, fakes, capsys):
    small = _sweep(tmp_path / "1k", fakes, [("label-only", 1000, 0, HALF, 1000), ("human", 1000, 0, ALL, 1000)])
    large = _sweep(tmp_path / "all", fakes, [("label-only", None, 0, ALL, 8642), ("human", None, 0, NINE, 8642)])
    assert lc.main([str(small), str(large), "--output-dir", str(tmp_path / "out")]) == 0
    assert "4 runs" in capsys.readouterr().out
    tables = (tmp_path / "out" / "learning_curve_tables.md").read_text()
    assert "| human | 1,000 |" in tables and "| human | 8,642 |" in tables
    with pytest.raises(SystemExit):
        lc.main([str(small), str(small), "--output-dir", str(tmp_path / "again")])
    assert "the same run is in more than one sweep folder: human at 1,000 rows, seed 0" in capsys.readouterr().err


def test_a_named_predictions_file_replaces_the_runs_own_where_present(curve_dir, tmp_path, capsys):
    # label-only seed 0 was scored on 12 rows in training; later on 24 rows (all right).
    run = curve_dir / "runs" / "label-only,data.train_size=1000,seed=0"
    more = [{"uid": f"r{i}", "gold_label": g, "pred_label": g} for i, g in enumerate(GOLD * 2)]
    (run / "eval" / "full.predictions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in more))
    runs = {(r.series, r.size, r.seed): r for r in
            lc.curve_runs(load_sweep(curve_dir).variants, "eval/full.predictions.jsonl")}
    rescored = runs[("label-only", 1000, 0)]
    assert (rescored.n, rescored.accuracy) == (24, 1.0)
    assert (runs[("label-only", 1000, 1)].n, runs[("label-only", 1000, 1)].accuracy) == (12, 0.75)  # kept
    # Paired on the rows both scored: human (12 rows, all right) vs label-only's 24 -> 12 shared.
    pair = lc.paired_difference(list(runs.values()), "human", "label-only", 1000, n_boot=500)
    assert pair["rows"] == 12 + 12 and (pair["better"], pair["worse"]) == (3, 0)
    assert lc.main([str(curve_dir), "--output-dir", str(tmp_path / "out"),
                    "--predictions", "eval/full.predictions.jsonl"]) == 0
    assert "| label-only | 1,000 | 0 | 100.0 |" in (tmp_path / "out" / "learning_curve_tables.md").read_text()
    with pytest.raises(SystemExit):
        lc.main([str(curve_dir), "--output-dir", str(tmp_path / "x"), "--predictions", str(run / "eval")])
    assert "give a path inside each run folder" in capsys.readouterr().err
    # A named file with a row that is not a prediction: refused naming file and line, exit 2.
    (run / "eval" / "full.predictions.jsonl").write_text(json.dumps(more[0]) + "\n[1, 2]\n")
    with pytest.raises(SystemExit) as exit_:
        lc.main([str(curve_dir), "--output-dir", str(tmp_path / "y"), "--predictions", "eval/full.predictions.jsonl"])
    assert exit_.value.code == 2
    assert "full.predictions.jsonl line 2: not a prediction" in capsys.readouterr().err
    assert not (tmp_path / "y").exists()


def test_rdistill_plot_draws_it_only_for_a_train_size_sweep(curve_dir, sweep_dir, tmp_path):
    assert "learning_curve" in sweep_figures(load_sweep(curve_dir)).figures
    skipped = sweep_figures(load_sweep(sweep_dir)).skipped
    assert "data.train_size" in skipped["learning_curve"]
    assert lc.main([str(curve_dir), "--output-dir", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "learning_curve.png").read_bytes()[:4] == b"\x89PNG"
    assert "Paired difference" in (tmp_path / "out" / "learning_curve_tables.md").read_text()


def test_the_report_imports_no_torch():
    # It runs where the sweep's files are, often not where the students were trained.
    import subprocess
    import sys

    code = "import sys, rdistill.reporting.learning_curve; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"
