"""Sweeps: grid parsing and typing, variant names, planning, resumable runs, results files, CLI."""

import csv
import io
import json
from pathlib import Path

import pytest
import yaml

from rdistill.methods.registry import load_recipe
from rdistill.cli import main
from rdistill.errors import ConfigError
from rdistill.sweep import (
    parse_grid,
    plan_sweep,
    results_csv,
    run_sweep,
    split_values,
    variant_name,
)

SWEEP_RECIPES = sorted((Path(__file__).parents[1] / "configs" / "sweeps").glob("*.yaml"))


@pytest.fixture
def toy_recipe(tmp_path, tiny_causal_dir, esnli_file, toy_config):
    """Writes a tiny-model recipe (2 steps, no dev set, 4 test rows) with an optional sweep block."""
    def write(sweep=None, name="toy.yaml"):
        raw = toy_config(tiny_causal_dir, esnli_file, max_steps=2, save_steps=2, logging_steps=1)
        raw["data"].update(dev_size=0, test_size=4)
        if sweep is not None:
            raw["sweep"] = sweep
        path = tmp_path / name
        path.write_text(yaml.safe_dump(raw, sort_keys=False))
        return path
    return write


# ---- parsing and naming ----

def test_split_values_keeps_brackets_and_quotes_together():
    assert split_values("0.1, 0.3,1e-4") == ["0.1", "0.3", "1e-4"]
    assert split_values("[q,v],all-linear,'a,b'") == ["[q,v]", "all-linear", "'a,b'"]


def test_parse_grid_types_values_as_yaml():
    grid = parse_grid(["loss.alpha=0.1,0.3", "finetune.target_modules=[q_proj,v_proj],all-linear",
                       "data.skip_invalid=true,false"])
    assert grid == {"loss.alpha": [0.1, 0.3],
                    "finetune.target_modules": [["q_proj", "v_proj"], "all-linear"],
                    "data.skip_invalid": [True, False]}


def test_variant_values_are_typed_by_the_config_schema(toy_recipe):
    # YAML reads 1e-4 as a string and 1 as an int; the schema makes both floats, as for --set.
    plan = plan_sweep(toy_recipe(), ["training.lr=1e-4,1", "finetune.r=8"])
    assert [v.typed_overrides() for v in plan.variants] == [
        {"training.lr": 1e-4, "finetune.r": 8}, {"training.lr": 1.0, "finetune.r": 8}]
    assert [v.name for v in plan.variants] == ["training.lr=1e-4,finetune.r=8", "training.lr=1,finetune.r=8"]


def test_parse_grid_reports_every_bad_item_at_once():
    with pytest.raises(ConfigError) as e:
        parse_grid(["loss.alhpa=1,2", "loss.beta", "name=a,b", "sweep.name=x", "loss.beta=1,,2",
                    "training.lr=1", "training.lr=2"])
    msg = str(e.value)
    assert "'loss.alhpa' is not a config key (did you mean loss.alpha?)" in msg
    assert "'loss.beta' is not of the form key.sub=v1,v2" in msg
    assert "'name' cannot be swept" in msg
    assert "'sweep.name' is not a config key" in msg
    assert "empty value" in msg and "names 'training.lr' twice" in msg


def test_variant_names_are_deterministic_and_folder_safe():
    assert variant_name(None, {"loss.alpha": 0.3, "finetune.r": 8}) == "loss.alpha=0.3,finetune.r=8"
    assert variant_name("label-only", {"seed": 1}) == "label-only,seed=1"
    assert variant_name("label-only", {}) == "label-only"
    assert variant_name(None, {"model.name": "org/Model 1", "x.flag": True}) == "model.name=org-Model-1,x.flag=true"
    assert variant_name(None, {"finetune.target_modules": ["q", "v"]}) == "finetune.target_modules=q+v"
    long_a = variant_name(None, {"model.name": "a" * 200})
    long_b = variant_name(None, {"model.name": "a" * 199 + "b"})
    assert len(long_a) <= 120 and long_a != long_b


# ---- planning ----

def test_sweep_block_bad_keys_reported_with_the_file(toy_recipe):
    path = toy_recipe({"grid": {"loss.alhpa": [1], "loss.beta": []},
                       "variants": {"bad name!": {"finetune.rank": 4}}})
    with pytest.raises(ConfigError) as e:
        load_recipe(path)
    msg = str(e.value)
    assert str(path) in msg and "sweep.grid" in msg and "sweep.variants" in msg
    assert "'loss.alhpa' is not a config key" in msg and "'loss.beta' has no values" in msg
    assert "variant name 'bad name!'" in msg and "'finetune.rank' is not a config key" in msg


def test_bad_grid_value_reported_once_with_key_value_and_reason(toy_recipe):
    path = toy_recipe()
    with pytest.raises(ConfigError) as e:
        plan_sweep(path, ["finetune.r=4,x", "loss.beta=0,1", "training.lr=-1"])
    msg = str(e.value)
    assert msg.count("grid finetune.r=x") == 1 and "valid integer" in msg
    assert "grid training.lr=-1" in msg and "greater than 0" in msg
    assert "finetune.r=4" not in msg


def test_plan_is_named_variants_times_the_grid(toy_recipe):
    path = toy_recipe({"name": "study", "grid": {"seed": [1, 2]}, "variants": {
        "label-only": {"loss.beta": 0},
        "explanation-only": {"loss.alpha": 0, "training.metric_for_best": "eval_loss"}}})
    plan = plan_sweep(path, ["training.lr=0.1,0.2"], ["training.batch_size=4"])
    assert plan.name == "study"
    assert [v.name for v in plan.variants] == [
        "label-only,seed=1,training.lr=0.1", "label-only,seed=1,training.lr=0.2",
        "label-only,seed=2,training.lr=0.1", "label-only,seed=2,training.lr=0.2",
        "explanation-only,seed=1,training.lr=0.1", "explanation-only,seed=1,training.lr=0.2",
        "explanation-only,seed=2,training.lr=0.1", "explanation-only,seed=2,training.lr=0.2"]
    v = plan.variants[4]
    assert v.typed_overrides() == {"loss.alpha": 0.0, "training.metric_for_best": "eval_loss",
                                   "seed": 1, "training.lr": 0.1}
    assert v.cfg.loss.alpha == 0 and v.cfg.training.batch_size == 4 and v.cfg.seed == 1
    assert v.cfg.name == "study/explanation-only,seed=1,training.lr=0.1" and v.cfg.sweep is None


def test_only_plans_just_the_named_variants_and_refuses_unknown_names(toy_recipe, tmp_path, capsys):
    path = toy_recipe({"grid": {"seed": [1, 2]}, "variants": {
        "label-only": {"loss.beta": 0}, "human": {}, "palm-like": {"loss.beta": 0.5}}})
    plan = plan_sweep(path, only=["palm-like", "label-only"])
    assert [v.name for v in plan.variants] == ["label-only,seed=1", "label-only,seed=2",
                                               "palm-like,seed=1", "palm-like,seed=2"]
    with pytest.raises(ConfigError, match="--only humn: no such variant; the sweep's variants: "
                                          "label-only, human, palm-like"):
        plan_sweep(path, only=["humn"])
    assert main(["sweep", str(path), "--only", "human", "--output-dir", str(tmp_path / "s"), "--dry-run"]) == 0
    text = capsys.readouterr().out
    assert "2 variant(s)" in text and "human,seed=2" in text and "label-only" not in text


def test_plan_refuses_invalid_combinations_conflicts_and_empty_sweeps(toy_recipe):
    path = toy_recipe({"variants": {"no-label": {"loss.alpha": 0}}})
    with pytest.raises(ConfigError, match="variant no-label: .*metric_for_best=eval_loss"):
        plan_sweep(path)
    path = toy_recipe({"grid": {"loss.beta": [0, 1]}}, name="conflict.yaml")
    with pytest.raises(ConfigError, match="'loss.beta=2': loss.beta is also swept"):
        plan_sweep(path, sets=["loss.beta=2"])
    with pytest.raises(ConfigError, match="nothing to sweep"):
        plan_sweep(toy_recipe(name="plain.yaml"))


@pytest.mark.parametrize("path", SWEEP_RECIPES, ids=lambda p: p.name)
def test_shipped_sweep_recipes_plan_at_cpu_scale(path):
    plan = plan_sweep(path)
    assert len(plan.variants) >= 2
    for v in plan.variants:
        assert v.cfg.data.train_size and v.cfg.data.train_size <= 1000, v.name
        scored = min(v.cfg.data.test_size, v.cfg.evaluation.limit or v.cfg.data.test_size)
        assert scored <= 500, v.name


def test_there_are_sweep_recipes():
    names = {p.stem for p in SWEEP_RECIPES}
    assert {"baselines", "alpha-beta", "lora-rank", "student-size", "svamp-latent", "layer-selection",
            "explanation-source"} <= names


# ---- running ----

def _results(sweep_dir):
    return json.loads((sweep_dir / "results.json").read_text())


def test_run_writes_results_skips_finished_and_resumes_partial(toy_recipe, tmp_path, monkeypatch):
    from rdistill.methods.rationale import pipeline as training_run

    plan = plan_sweep(toy_recipe(), ["loss.beta=0,1"])
    out = tmp_path / "sweep"
    results = run_sweep(plan, out, show_progress=False)

    assert [r["variant"] for r in results] == ["loss.beta=0", "loss.beta=1"]
    assert results == _results(out)
    for r in results:
        assert r["status"] == "done" and r["error"] is None
        assert r["overrides"] == {"loss.beta": float(r["variant"][-1])}
        assert r["run_dir"] == f"runs/{r['variant']}" and (out / r["run_dir"] / "summary.json").is_file()
        assert r["metrics"]["n"] == 4 and 0 <= r["metrics"]["label_accuracy"] <= 1
        assert r["train_seconds"] > 0 and r["wall_seconds"] >= r["train_seconds"]
        summary = json.loads((out / r["run_dir"] / "summary.json").read_text())
        assert r["config_hash"] == summary["config_hash"]
    assert results[0]["metrics"]["rouge_l"] is None and results[1]["metrics"]["rouge_l"] is not None
    rows = list(csv.DictReader(io.StringIO((out / "results.csv").read_text())))
    header = (out / "results.csv").read_text().splitlines()[0].split(",")
    assert header[:4] == ["variant", "status", "loss.beta", "label_accuracy"]
    assert [row["loss.beta"] for row in rows] == ["0.0", "1.0"] and rows[0]["rouge_l"] == ""
    assert json.loads((out / "sweep.json").read_text())["runs"] == ["loss.beta=0", "loss.beta=1"]

    # Second invocation: both finished -> nothing trains; one summary removed -> that one resumes.
    calls = []
    real_train = training_run.train_rationale

    def recording_train(cfg, folder, request):
        calls.append((folder.root.name, request.resume))
        return real_train(cfg, folder, request)

    monkeypatch.setattr(training_run, "train_rationale", recording_train)
    assert [r["status"] for r in run_sweep(plan, out, show_progress=False)] == ["cached", "cached"]
    assert calls == []
    (out / "runs" / "loss.beta=1" / "summary.json").unlink()
    again = run_sweep(plan, out, show_progress=False)
    assert calls == [("loss.beta=1", True)]
    assert [r["status"] for r in again] == ["cached", "done"]
    assert again[0]["metrics"] == results[0]["metrics"]

    # A changed base config would silently mix old and new results: refused up front.
    changed = plan_sweep(toy_recipe(name="changed.yaml"), ["loss.beta=0,1"], ["training.lr=0.5"])
    with pytest.raises(ConfigError, match=r"(?s)another config.*runs/loss.beta=1: training.lr: 0.005 -> 0.5"):
        run_sweep(changed, out, show_progress=False)


def test_results_keep_finished_runs_of_earlier_invocations(toy_recipe, tmp_path):
    out = tmp_path / "sweep"
    first = run_sweep(plan_sweep(toy_recipe(), ["loss.beta=0,1"]), out, show_progress=False)
    # One grid value now (as --only does for named variants): the other's finished run stays listed.
    part = run_sweep(plan_sweep(toy_recipe(), ["loss.beta=1"]), out, show_progress=False)
    assert [(r["variant"], r["status"]) for r in part] == [("loss.beta=0", "cached"), ("loss.beta=1", "cached")]
    assert part == _results(out) and part[0]["metrics"] == first[0]["metrics"]
    assert [row.split(",")[0] for row in (out / "results.csv").read_text().splitlines()[1:]] == [
        "loss.beta=0", "loss.beta=1"]
    # An unfinished or missing run drops out; entries that are no run of this folder are ignored.
    (out / "runs" / "loss.beta=0" / "summary.json").unlink()
    (out / "results.json").write_text(json.dumps(
        [*part, "junk", {"variant": "../outside"}, {"variant": "gone", "status": "done"}]))
    again = run_sweep(plan_sweep(toy_recipe(), ["loss.beta=1"]), out, show_progress=False)
    assert [r["variant"] for r in again] == ["loss.beta=1"]


def test_results_csv_quotes_lists_and_errors():
    text = results_csv([
        {"variant": "a", "status": "failed", "overrides": {"finetune.target_modules": ["q", "v"]},
         "metrics": {}, "train_seconds": None, "wall_seconds": None, "run_dir": "runs/a",
         "error": "ModelError: model 'x' does not exist,\nsecond line"}])
    row = next(csv.DictReader(io.StringIO(text)))
    assert row["finetune.target_modules"] == '["q", "v"]'
    assert row["error"].startswith("ModelError") and "second line" in row["error"]


# ---- command line ----

def test_cli_dry_run_lists_variants_and_trains_nothing(toy_recipe, tmp_path, capsys):
    path = toy_recipe({"grid": {"loss.beta": [0, 1]}})
    out = tmp_path / "sweep"
    assert main(["sweep", str(path), "--grid", "seed=1,2", "training.lr=0.01", "--output-dir", str(out),
                 "--dry-run"]) == 0
    text = capsys.readouterr().out
    assert "4 variant(s)" in text
    assert "loss.beta=0,seed=1,training.lr=0.01  new" in text
    assert not out.exists()


def test_cli_failed_variant_is_recorded_and_the_sweep_goes_on(toy_recipe, tiny_causal_dir, tmp_path,
                                                             capsys):
    missing = tmp_path / "no-such-model"
    out = tmp_path / "sweep"
    code = main(["--quiet", "sweep", str(toy_recipe()), "--grid", f"model.name={missing},{tiny_causal_dir}",
                 "--output-dir", str(out)])
    assert code == 1  # some variants failed
    captured = capsys.readouterr()
    printed = captured.out
    assert "failed" in printed and "done" in printed and "results.csv" in printed
    assert "%|" not in captured.err  # --quiet: no bar from any variant's training or evaluation
    failed, done = _results(out)
    assert failed["status"] == "failed" and "ModelError" in failed["error"] and "no-such-model" in failed["error"]
    assert failed["metrics"] == {} and not (out / failed["run_dir"] / "summary.json").exists()
    assert done["status"] == "done" and done["metrics"]["n"] == 4


def test_cli_bad_grid_is_one_message(toy_recipe, capsys):
    assert main(["sweep", str(toy_recipe()), "--grid", "loss.alhpa=1,2", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "did you mean loss.alpha" in err and "Traceback" not in err


def test_latent_sweep_extracts_once_trains_each_variant_and_resumes(toy_recipe, tiny_causal_dir, tmp_path):
    """Baselines of latent distillation as one sweep: no-CoT SFT, CoT SFT, logit KD, latent."""
    path = toy_recipe(sweep={"variants": {
        "no-cot": {"latent.mode": "sft", "latent.target": "answer"},
        "cot-sft": {"latent.mode": "sft"},
        "logit-kd": {"latent.mode": "logit_kd"},
        "latent": {"latent.mode": "latent"},
    }})
    raw = yaml.safe_load(path.read_text())
    raw["data"]["split_by"] = "row"
    raw["latent"] = {"teacher": str(tiny_causal_dir), "student_from_teacher": [1], "layers": [1, 2],
                     "top_k": 4, "dtype": "fp32", "cache_dir": str(tmp_path / "cache"),
                     "max_prompt_tokens": 64, "max_target_tokens": 32}
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    results = run_sweep(plan_sweep(path), tmp_path / "sweep", show_progress=False)
    assert [r["status"] for r in results] == ["done"] * 4, [r["error"] for r in results]
    assert all(r["metrics"]["n"] == 4 and 0 <= r["metrics"]["answer_accuracy"] <= 1 for r in results)
    manifest = json.loads((tmp_path / "cache" / "manifest.json").read_text())
    assert manifest["complete"] and manifest["stats"]["shards_reused"] == 0  # extracted once, then reused
    runs = tmp_path / "sweep" / "runs"
    assert json.loads((runs / "latent" / "summary.json").read_text())["mode"] == "latent"
    # every variant has the teacher, so every one is compared with it layer by layer
    assert all((runs / name / "layer_similarity.json").is_file() for name in ("no-cot", "latent"))
    again = run_sweep(plan_sweep(path), tmp_path / "sweep", show_progress=False)
    assert [r["status"] for r in again] == ["cached"] * 4
