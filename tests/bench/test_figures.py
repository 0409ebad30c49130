"""bench/figures.py draws the benchmarks page's figures from the committed JSON results."""

from __future__ import annotations

import json

import pytest

from .conftest import BENCH, load_bench

figures = load_bench("figures")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_every_figure_is_drawn_from_the_committed_results(tmp_path):
    assert figures.main(["--output-dir", str(tmp_path)]) == 0
    for name in figures.FIGURES:
        data = (tmp_path / f"{name}.png").read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 10_000, name


def test_rows_carry_the_json_values(tmp_path):
    serving = json.loads((BENCH / "results" / "serving_main.json").read_text())
    rows = figures.serving_rows(figures.load(["serving_main.json=main"], BENCH / "results"))
    # PyTorch fp32 is the reference, not a point; every other engine is one, with its own numbers.
    assert {r["engine"] for r in rows} == set(serving["engines"]) - {"pytorch"}
    int8 = next(r for r in rows if r["engine"] == "ctranslate2_int8")
    assert int8["speedup"] == serving["engines"]["ctranslate2_int8"]["examples_per_s_over_pytorch"]
    assert int8["agreement"] == serving["engines"]["ctranslate2_int8"]["label_agreement"]
    assert {r["label"] for r in rows} == {"main"}

    contention = json.loads((BENCH / "results" / "contention.json").read_text())
    [row] = figures.contention_rows(figures.load(["contention.json"], BENCH / "results"))
    assert (row["alone_s"], row["before_s"], row["after_s"]) == (
        contention["alone_step_s"], contention["before_step_s"], contention["after_step_s"])
    assert row["label"] == "contention"  # a bare file is labelled by its name


def test_loop_intervals_are_split_by_what_ran_in_them(tmp_path):
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"intervals": [
        {"seconds": 10.0, "predicted_s": 11.0, "evaluation": False, "save": False},
        {"seconds": 30.0, "predicted_s": 12.0, "evaluation": True, "save": False},
        {"seconds": 14.0, "predicted_s": 12.5, "evaluation": False, "save": True}]}))
    rows = figures.loop_vs_run_rows(figures.load([f"{path}=toy"], tmp_path))
    assert [r["kind"] for r in rows] == ["steps", "evaluation", "save"]
    assert [r["measured_s"] for r in rows] == [10.0, 30.0, 14.0]
    assert figures.main(["--output-dir", str(tmp_path / "out"), "--only", "loop_vs_run",
                         "--loop-vs-run", f"{path}=toy"]) == 0
    assert (tmp_path / "out" / "loop_vs_run.png").read_bytes().startswith(PNG_MAGIC)


@pytest.mark.parametrize("content, message", [
    (None, "no such file"),
    ("{not json", "line 1: not valid JSON"),
    (json.dumps({"alone_step_s": 1.0, "before_step_s": 2.0}), "key 'after_step_s' missing"),
    (json.dumps({"alone_step_s": 1.0, "before_step_s": 2.0, "after_step_s": 1.5, "threads": {}}),
     "key 'threads.after' missing"),
])
def test_bad_input_is_refused_naming_file_and_key_before_anything_is_written(tmp_path, capsys, content, message):
    path = tmp_path / "contention.json"
    if content is not None:
        path.write_text(content)
    out = tmp_path / "out"
    # Two figures asked for: the good one must not be written either when the other's input is bad.
    assert figures.main(["--output-dir", str(out), "--only", "serving,contention",
                         "--contention", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and message in err
    assert not out.exists()


def test_unknown_figure_is_refused(tmp_path, capsys):
    assert figures.main(["--output-dir", str(tmp_path), "--only", "serving,speed"]) == 2
    assert "unknown figure 'speed'" in capsys.readouterr().err
