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
    printed = capsys.readouterr()
    assert "label accuracy" in printed.out and str(run) in printed.out
    assert "%|" not in printed.err  # --quiet: no progress bar (loading, training, evaluation)

    metrics_file = tmp_path / "eval" / "m.json"
    assert main(["--quiet", "eval", str(run), "--data-file", str(esnli_file), "--limit", "7",
                 "--output", str(metrics_file)]) == 0
    metrics = json.loads(metrics_file.read_text())
    assert metrics["n"] == 7
    for key in ("label_accuracy", "macro_f1", "per_label", "confusion_matrix", "rouge_l",
                "bertscore_f1", "invalid_rate", "n"):
        assert key in metrics
    assert len(metrics_file.with_suffix(".predictions.jsonl").read_text().splitlines()) == 7
    # Without --data-file: the run's own held-out split (test_size 9 in the toy config).
    held_out = tmp_path / "eval" / "held_out.json"
    assert main(["--quiet", "eval", str(run), "--output", str(held_out)]) == 0
    held = json.loads(held_out.read_text())
    trained = json.loads((run / "eval" / "metrics.json").read_text())
    assert held["n"] == 9 and held["label_accuracy"] == trained["label_accuracy"]
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


def test_eval_of_seeds_with_judge_and_teacher_file(toy_yaml, esnli_file, tiny_encoder_dir, tmp_path, capsys):
    runs = []
    for seed in (1, 2):
        run = tmp_path / f"seed{seed}"
        assert main(["--quiet", "train", str(toy_yaml), "--output-dir", str(run), "--set", f"seed={seed}",
                     "--set", "evaluation.judge=true", "--set", f"evaluation.judge_model={tiny_encoder_dir}",
                     "--set", "evaluation.judge_epochs=1"]) == 0
        runs.append(str(run))
        trained = json.loads((run / "eval" / "metrics.json").read_text())
        # The judge trained on the run's training rows and scored the held-out ones.
        assert 0.0 <= trained["faithfulness"] <= 1.0 and trained["judge_ceiling"] is not None
    teacher = tmp_path / "teacher.jsonl"
    from rdistill.tasks.registry import load_dataset_file

    uids = [ex.uid for ex in load_dataset_file("esnli", esnli_file).examples[:3]]
    teacher.write_text("".join(json.dumps({"uid": uid, "rationale": "a dog is an animal",
                                           "label": "entailment"}) + "\n" for uid in uids))
    out = tmp_path / "seeds.json"
    capsys.readouterr()
    assert main(["--quiet", "eval", *runs, "--data-file", str(esnli_file), "--limit", "5",
                 "--teacher-file", str(teacher), "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "mean ± std over 2 runs" in printed
    summary = json.loads(out.read_text())
    assert summary["n_runs"] == 2 and len(summary["runs"]) == 2
    per_run = [json.loads(open(path).read()) for path in summary["runs"]]
    accs = [m["label_accuracy"] for m in per_run]
    assert summary["mean"]["label_accuracy"] == pytest.approx(sum(accs) / 2)
    assert summary["std"]["label_accuracy"] == pytest.approx(abs(accs[0] - accs[1]) / 2 ** 0.5)
    for metrics in per_run:
        # Only 3 of the 5 evaluated rows have a teacher line.
        assert metrics["protocol"]["teacher_agreement"]["n_teacher_label"] == 3
        assert metrics["faithfulness"] is not None and metrics["las"] is not None
        assert set(metrics["difficulty"]) >= {"input_length", "teacher", "input_judge"}
    capsys.readouterr()
    assert main(["--quiet", "eval", runs[0], "--data-file", str(esnli_file), "--limit", "5",
                 "--no-judge", "--output", str(tmp_path / "nojudge.json")]) == 0
    assert json.loads((tmp_path / "nojudge.json").read_text())["faithfulness"] is None


def test_eval_set_scores_with_other_decoding_and_refuses_other_keys(toy_yaml, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["--quiet", "train", str(toy_yaml), "--output-dir", str(run)]) == 0
    saved = (run / "config.yaml").read_text()
    out = tmp_path / "one-token.json"
    assert main(["--quiet", "eval", str(run), "--output", str(out), "--set", "generation.max_new_tokens=1"]) == 0
    metrics, trained = json.loads(out.read_text()), json.loads((run / "eval" / "metrics.json").read_text())
    assert metrics["overrides"] == ["generation.max_new_tokens=1"]
    # The labels are scored, not written: decoding changes the explanations only.
    assert metrics["label_accuracy"] == trained["label_accuracy"]
    rows = [json.loads(line) for line in out.with_suffix(".predictions.jsonl").read_text().splitlines()]
    before = [json.loads(line) for line in (run / "eval" / "metrics.predictions.jsonl").read_text().splitlines()]
    assert sum(len(r["pred_explanation"]) for r in rows) < sum(len(r["pred_explanation"]) for r in before)
    assert (run / "config.yaml").read_text() == saved  # the run's recipe is not rewritten
    capsys.readouterr()
    for bad, key in (("training.lr=1", "training.lr"), ("generation.num_beams=0", "generation.num_beams")):
        assert main(["eval", str(run), "--output", str(tmp_path / "x.json"), "--set", bad]) == 2
        err = capsys.readouterr().err
        assert key in err and "Traceback" not in err
        assert not (tmp_path / "x.json").exists()
