import json

import yaml

from rdistill.methods.registry import load_recipe
from rdistill.cli import main


def test_rdistill_teach_then_train_reads_the_teacher_file(tmp_path, teach_raw, esnli_file, tiny_causal_dir,
                                                           toy_config, capsys):
    config = tmp_path / "teach.yaml"
    config.write_text(yaml.safe_dump(teach_raw()))
    out = tmp_path / "teach"
    rc = main(["--quiet", "teach", str(config), "--output-dir", str(out), "--set", "output.keep_unparsed=true"])
    summary = json.loads((out / "teach_summary.json").read_text())
    assert rc == 0 and summary["rows"] == 45 and summary["failed"] == 0
    printed = capsys.readouterr()
    assert "45 rows" in printed.out and "%|" not in printed.err  # --quiet: no bar while asking
    # the training pipeline takes the file in data.teacher_files
    from rdistill.tasks.recipe_data import prepare_splits

    raw = toy_config(tiny_causal_dir, esnli_file)
    raw["data"].update(teacher_files=[str(out / "rationales.jsonl")], explanation_source="palm")
    splits = prepare_splits(load_recipe(None, raw=raw), None)
    with_rationale = [ex for ex in splits.train + splits.dev + splits.test if ex.rationales]
    assert len(with_rationale) == summary["usable"]
    (name, loaded), = splits.summary[str(esnli_file)]["teachers"].items()
    assert loaded["format"] == "jsonl" and name == json.loads((out / "rationales.jsonl").read_text().splitlines()[0])["teacher"]
    assert splits.teachers["teachers"][name]["rows_covered"] == summary["usable"]


def test_teach_errors_exit_2_naming_the_key(tmp_path, teach_raw, capsys):
    config = tmp_path / "teach.yaml"
    config.write_text(yaml.safe_dump(teach_raw()))
    assert main(["teach", str(config), "--output-dir", str(tmp_path), "--set", "prompt.shotz=1"]) == 2
    assert "prompt.shotz: unknown key" in capsys.readouterr().err
    assert main(["teach", str(config), "--output-dir", str(tmp_path), "--dry-run"]) == 0
    assert "backend: local" in capsys.readouterr().out
