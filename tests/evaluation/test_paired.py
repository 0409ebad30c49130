"""rdistill compare --paired: recipes against the first, row by row on the held-out rows they share."""

import json

import pytest
import yaml

from rdistill.cli import main
from rdistill.errors import DataError
from rdistill.evaluation.compare import compare_runs, markdown_table
from rdistill.evaluation.paired import markdown_paired, right_per_row

GOLD = ["entailment", "neutral", "contradiction"] * 10  # 30 held-out rows


def _run(root, name, seed, right, *, lr=1e-4, uids=None, rows=None, folder=None):
    run = root / (folder or f"{name}-{seed}")
    (run / "eval").mkdir(parents=True)
    (run / "config.yaml").write_text(yaml.safe_dump({"name": name, "seed": seed, "training": {"lr": lr}}))
    (run / "summary.json").write_text(json.dumps({"name": name}))
    (run / "eval" / "metrics.json").write_text(json.dumps({"label_accuracy": sum(right) / len(right)}))
    other = {"entailment": "neutral", "neutral": "contradiction", "contradiction": "entailment"}
    rows = rows or [{"uid": (uids or [f"s{seed}:{i}" for i in range(len(right))])[i], "gold_label": g,
                     "pred_label": g if ok else other[g]} for i, (g, ok) in enumerate(zip(GOLD, right))]
    (run / "eval" / "metrics.predictions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return run


def test_recipes_are_paired_with_the_first_by_seed_and_row(tmp_path):
    # Baseline right on rows 0-14 (seed 0) and 0-19 (seed 1); the other recipe on every row.
    base = [_run(tmp_path, "label-only", 0, [i < 15 for i in range(30)]),
            _run(tmp_path, "label-only", 1, [i < 20 for i in range(30)])]
    ours = [_run(tmp_path, "step-by-step", 1, [True] * 30, lr=3e-4),
            _run(tmp_path, "step-by-step", 0, [True] * 30, lr=3e-4)]
    result = compare_runs([*base, *ours], paired=True)
    [entry] = result["paired"]
    assert entry["name"] == "step-by-step" and entry["baseline"] == "label-only"
    assert sorted(entry["seeds"]) == [0, 1] and entry["rows"] == 60
    assert (entry["better"], entry["worse"]) == (25, 0)
    assert "| step-by-step | label-only | 60 (seeds 0, 1) |" in markdown_paired([entry])
    assert entry["difference"] == pytest.approx(25 / 60)
    assert entry["accuracy"] == 1.0 and entry["baseline_accuracy"] == pytest.approx(35 / 60)
    assert entry["verdict"] == "higher" and entry["mcnemar_p"] == pytest.approx(2 / 2 ** 25)
    table = markdown_table(result)
    assert "Paired with label-only" in table and "+41.7 (" in table and "| higher |" in table


def test_only_shared_rows_count_and_one_run_each_pairs_whatever_the_seed(tmp_path):
    a = _run(tmp_path, "a", 0, [True] * 10 + [False] * 20, uids=[f"r{i}" for i in range(30)])
    # b scored rows r5-r34 (another --limit): 25 shared; b is right on its first five (r5-r9).
    b = _run(tmp_path, "b", 7, [i < 5 for i in range(30)], lr=2e-4, uids=[f"r{i}" for i in range(5, 35)])
    [entry] = compare_runs([a, b], paired=True)["paired"]
    assert entry["rows"] == 25 and entry["seeds"] == [None]
    # Shared r5-r29: a right on r5-r9 (5 rows), b right on r5-r9 too -> no discordant row.
    assert (entry["better"], entry["worse"]) == (0, 0) and entry["verdict"] == "no difference"


def test_answer_tasks_use_the_rows_correct_flag(tmp_path):
    rows = [{"uid": "q1", "correct": True, "pred_label": "12", "gold_label": "12.0"},
            {"uid": "q2", "correct": False, "pred_label": None, "gold_label": "3"}]
    run = _run(tmp_path, "math", 0, [True, True], rows=rows)
    assert right_per_row(run) == {"q1": True, "q2": False}  # "12" vs "12.0" judged by the task, not ==


@pytest.mark.parametrize("lines, message", [
    (['{"uid": "r0", "pred_label": "a", "gold_label": "a"}', "{oops"], "line 2: malformed JSON"),
    (['{"pred_label": "a", "gold_label": "a"}'], "line 1: key 'uid' missing"),
    (['{"uid": "r0", "pred_label": "a"}'], "line 1: neither 'correct' nor 'pred_label' and 'gold_label'"),
    (['{"uid": "r0", "correct": true}', '{"uid": "r0", "correct": false}'], "line 2: uid 'r0' scored twice"),
])
def test_bad_predictions_are_refused_naming_file_and_line(tmp_path, lines, message):
    run = _run(tmp_path, "bad", 0, [True])
    path = run / "eval" / "metrics.predictions.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=message) as err:
        right_per_row(run)
    assert str(path) in str(err.value)


def test_unpairable_runs_are_refused_before_anything_is_written(tmp_path, capsys):
    a = _run(tmp_path, "a", 0, [True] * 30)
    seeds_only = _run(tmp_path, "a", 1, [True] * 30)
    out = tmp_path / "cmp.json"
    assert main(["compare", str(a), str(seeds_only), "--paired", "--output", str(out)]) == 2
    assert "at least two recipes" in capsys.readouterr().err
    b0, b1 = (_run(tmp_path, "b", s, [True] * 30, lr=2e-4) for s in (5, 6))
    assert main(["compare", str(a), str(seeds_only), str(b0), str(b1), "--paired", "--output", str(out)]) == 2
    assert "no seed in common" in capsys.readouterr().err
    disjoint = _run(tmp_path, "c", 0, [True] * 30, lr=5e-4, uids=[f"x{i}" for i in range(30)])
    assert main(["compare", str(a), str(disjoint), "--paired", "--output", str(out)]) == 2
    assert "share no scored row" in capsys.readouterr().err
    assert not out.exists()
    (a / "eval" / "metrics.predictions.jsonl").unlink()
    assert main(["compare", str(a), str(b0), "--paired"]) == 2
    assert "no eval/metrics.predictions.jsonl" in capsys.readouterr().err


def test_paired_cli_writes_json_and_markdown(tmp_path):
    a = _run(tmp_path, "a", 0, [i < 15 for i in range(30)])
    # The same recipe name with another setting (a --set run): told apart by its folder.
    b = _run(tmp_path, "a", 0, [i < 20 for i in range(30)], lr=2e-4, folder="a-lr2e-4")
    out = tmp_path / "cmp.json"
    assert main(["compare", str(a), str(b), "--paired", "--output", str(out)]) == 0
    [entry] = json.loads(out.read_text())["paired"]
    assert entry["name"] == "a-lr2e-4" and (entry["better"], entry["worse"]) == (5, 0)
    assert "| a-lr2e-4 | a | 30 (seed 0) |" in out.with_suffix(".md").read_text()


def test_paired_reads_another_predictions_file_when_named(tmp_path, capsys):
    # Training scored 30 rows; a later `rdistill eval RUN --output RUN/eval/full.json` scored 60.
    a = _run(tmp_path, "a", 0, [True] * 30)
    b = _run(tmp_path, "b", 0, [True] * 30, lr=2e-4)
    other = {"entailment": "neutral", "neutral": "contradiction", "contradiction": "entailment"}
    for run, right in ((a, lambda i: i < 30), (b, lambda i: True)):
        rows = [{"uid": f"s0:{i}", "gold_label": g, "pred_label": g if right(i) else other[g]}
                for i, g in enumerate(GOLD * 2)]
        (run / "eval" / "full.predictions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    [default] = compare_runs([a, b], paired=True)["paired"]
    assert default["rows"] == 30 and default["difference"] == 0
    result = compare_runs([a, b], paired=True, predictions="eval/full.predictions.jsonl")
    [entry] = result["paired"]
    assert entry["rows"] == 60 and (entry["better"], entry["worse"]) == (30, 0)
    assert "(`eval/full.predictions.jsonl`)" in markdown_table(result)
    out = tmp_path / "cmp.json"
    assert main(["compare", str(a), str(b), "--paired", "--predictions", "eval/full.predictions.jsonl",
                 "--output", str(out)]) == 0
    assert json.loads(out.read_text())["paired"][0]["rows"] == 60
    # Named but absent in a run, absolute, or without --paired: refused, nothing written.
    (b / "eval" / "full.predictions.jsonl").unlink()
    for argv, message in ((["--paired", "--predictions", "eval/full.predictions.jsonl"],
                           "no eval/full.predictions.jsonl"),
                          (["--paired", "--predictions", str(a / "eval" / "full.predictions.jsonl")],
                           "not an absolute one"),
                          (["--predictions", "eval/full.predictions.jsonl"], "give --paired as well")):
        assert main(["compare", str(a), str(b), *argv, "--output", str(tmp_path / "x.json")]) == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()
