"""Loading run and sweep folders: what is read, what may be missing, what is an error."""

import json

import pytest

from rdistill.errors import DataError
from rdistill.reporting.results import RunResult, SweepResult, load_results, load_run, load_sweep


def test_run_folder_is_read_completely(run_dir, fakes):
    run = load_results(run_dir)
    assert isinstance(run, RunResult)
    assert run.name == "toy"
    assert run.config_value("loss.alpha") == 1.0 and run.config_value("loss.nope") is None
    assert run.config_text.startswith("name: toy")
    assert run.train_log == fakes.TRAIN_LOG
    assert run.eval_metrics["label_accuracy"] == 0.5
    assert [p["uid"] for p in run.predictions] == [f"toy:{i}" for i in range(6)]
    assert run.profile["latency_ms_p50"] == 40.0
    assert run.layer_similarity.similarity == fakes.LAYER_SIMILARITY["similarity"]
    assert run.layer_similarity.measure == "linear CKA"


def test_run_with_only_a_summary_loads_with_empty_parts(tmp_path):
    (tmp_path / "summary.json").write_text(json.dumps({"name": "s", "eval": {"n": 3}}))
    run = load_run(tmp_path)
    assert run.name == "s" and run.eval_metrics is None and run.predictions == []
    assert run.train_log == [] and run.profile is None and run.layer_similarity is None


def test_torn_last_log_line_is_skipped(run_dir):
    with open(run_dir / "metrics.jsonl", "a") as f:
        f.write('{"step": 8, "loss": 0.')
    assert len(load_run(run_dir).train_log) == 6


def test_not_a_result_folder_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="neither a run folder"):
        load_results(tmp_path)
    with pytest.raises(DataError, match="does not exist"):
        load_results(tmp_path / "missing")


def test_bad_layer_similarity_shape_names_the_file(run_dir):
    (run_dir / "layer_similarity.json").write_text(json.dumps(
        {"student_layers": ["a"], "teacher_layers": ["b", "c"], "similarity": [[1.0]]}))
    with pytest.raises(DataError, match="layer_similarity.json"):
        load_run(run_dir)


def test_sweep_reads_variants_and_their_runs(sweep_dir):
    sweep = load_results(sweep_dir)
    assert isinstance(sweep, SweepResult)
    by_name = {v.variant: v for v in sweep.variants}
    assert by_name["broken"].status == "failed" and by_name["broken"].run is None
    v = by_name["a0.5-r8"]
    assert v.run is not None and v.run.name == "a0.5-r8"
    assert v.setting("loss.alpha") == 0.5          # the override
    assert v.setting("training.lr") == 3e-4        # from the run's resolved config
    assert v.metric("label_accuracy") == 0.70      # flat sweep metrics
    assert v.metric("latency_ms_p50") == 40.0      # from the run's profile.json
    assert v.metric("train_seconds") == 600
    assert v.metric("no_such_metric") is None


def test_sweep_run_dir_recorded_elsewhere_falls_back_to_runs_variant(sweep_dir):
    rows = json.loads((sweep_dir / "results.json").read_text())
    rows[0]["run_dir"] = "/somewhere/else/that/does/not/exist"
    (sweep_dir / "results.json").write_text(json.dumps(rows))
    first = load_sweep(sweep_dir).variants[0]
    assert first.run_dir == sweep_dir / "runs" / rows[0]["variant"]


def test_sweep_entry_without_variant_name_is_an_error(tmp_path):
    (tmp_path / "results.json").write_text(json.dumps([{"overrides": {}}]))
    with pytest.raises(DataError, match="entry 0"):
        load_sweep(tmp_path)


def test_layer_similarity_written_by_a_latent_run(tmp_path, fakes):
    pairs = [{"teacher_layer": 30, "student_layer": 15, "cosine": 0.9, "mse": 0.1}]
    grid = {"student_layers": [1, 2], "teacher_layers": [1, 2, 3], "similarity": [[1, 0.5, 0.2], [0.4, 0.9, 0.6]],
            "measure": "cosine", "tokens": 12, "pairs": pairs}
    loaded = load_run(fakes.write_run(tmp_path / "a", layer_similarity=grid)).layer_similarity
    assert loaded.student_layers == ["1", "2"] and loaded.similarity[1][1] == 0.9
    # hidden sizes differ: no grid, only the per-pair numbers -> no heat map, no error
    no_grid = {**grid, "similarity": None}
    assert load_run(fakes.write_run(tmp_path / "b", layer_similarity=no_grid)).layer_similarity is None
