"""The CLI through main(argv): exit codes, one-line errors, and a tiny end-to-end run."""

import json

import pytest
import yaml

from rdistill.cli import main



@pytest.fixture
def toy_yaml(tmp_path, tiny_causal_dir, esnli_file, toy_config):
    raw = toy_config(tiny_causal_dir, esnli_file, max_steps=3)
    raw["data"]["dev_size"] = 0
    path = tmp_path / "toy.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_dry_run_prints_resolved_config_with_overrides(toy_yaml, capsys):
    assert main(["train", str(toy_yaml), "--dry-run", "--set", "training.lr=0.123"]) == 0
    out = yaml.safe_load(capsys.readouterr().out)
    assert out["training"]["lr"] == 0.123


def test_bad_config_is_one_message_no_traceback(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("data:\n  train_file: x\ntraining:\n  lr: fast\n")
    assert main(["train", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "training.lr" in err and str(bad) in err and "Traceback" not in err


def test_bad_data_row_names_file_line_and_field(toy_yaml, esnli_file, capsys, tmp_path):
    lines = esnli_file.read_text().splitlines()
    row = json.loads(lines[4])
    row["label"] = 7
    lines[4] = json.dumps(row)
    esnli_file.write_text("\n".join(lines) + "\n")
    assert main(["train", str(toy_yaml), "--output-dir", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert esnli_file.name in err and "line 5" in err and "'label'" in err


def test_missing_model_is_one_message(toy_yaml, capsys, tmp_path):
    code = main(["train", str(toy_yaml), "--output-dir", str(tmp_path / "r"),
                 "--set", f"model.name={tmp_path / 'no-such-model'}"])
    assert code == 2
    err = capsys.readouterr().err
    assert "no-such-model" in err and "Traceback" not in err


def test_missing_data_root_says_how_to_set_it(toy_yaml, capsys, tmp_path, monkeypatch):
    monkeypatch.delenv("RDISTILL_DATA_DIR", raising=False)
    code = main(["train", str(toy_yaml), "--output-dir", str(tmp_path / "r"),
                 "--set", "data.train_file=esnli/esnli_valid.json"])
    assert code == 2
    err = capsys.readouterr().err
    assert "RDISTILL_DATA_DIR" in err and "--data-dir" in err


def test_train_eval_predict_end_to_end(toy_yaml, esnli_file, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["--quiet", "train", str(toy_yaml), "--output-dir", str(run)]) == 0
    out = capsys.readouterr().out
    assert "label accuracy" in out and str(run) in out

    metrics_file = tmp_path / "eval" / "m.json"
    assert main(["--quiet", "eval", str(run), "--data-file", str(esnli_file), "--limit", "7",
                 "--output", str(metrics_file)]) == 0
    metrics = json.loads(metrics_file.read_text())
    assert metrics["n"] == 7
    for key in ("label_accuracy", "macro_f1", "per_label", "confusion_matrix", "rouge_l",
                "bertscore_f1", "invalid_rate", "n"):
        assert key in metrics
    assert len(metrics_file.with_suffix(".predictions.jsonl").read_text().splitlines()) == 7
    capsys.readouterr()

    assert main(["--quiet", "predict", str(run), "--premise", "the dog runs",
                 "--hypothesis", "an animal runs", "--json"]) == 0
    rec = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rec["pred_label"] in ("entailment", "neutral", "contradiction")
    assert isinstance(rec["pred_explanation"], str)

    inputs = tmp_path / "in.jsonl"
    inputs.write_text('{"premise": "a dog", "hypothesis": "a cat"}\n{"premise": "x", "hypothesis": "y"}\n')
    assert main(["--quiet", "predict", str(run), "--input", str(inputs)]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 2


def test_eval_of_unfinished_run_is_clear(tmp_path, capsys):
    assert main(["eval", str(tmp_path), "--data-file", "x.json", "--output", str(tmp_path / "m.json")]) == 2
    assert "not a finished rdistill run" in capsys.readouterr().err
