"""User data is never destroyed and bad input is refused up front (the reliability issue's findings)."""

from __future__ import annotations

import json
import os

import pytest
import yaml

from rdistill.cli import main


def test_export_never_destroys_what_is_at_the_target(train_toy_run, tmp_path, capsys):
    run = train_toy_run(max_steps=1)
    (tmp_path / "keep").mkdir()
    (tmp_path / "keep" / "notes.txt").write_text("mine")
    (tmp_path / "file.txt").write_text("mine too")
    for target in (tmp_path / "keep", tmp_path / "file.txt", run, run / "student", tmp_path):
        assert main(["--quiet", "export", str(run), "--output", str(target)]) == 2
        assert "--output" in capsys.readouterr().err
    assert main(["--quiet", "export", str(run), "--output", str(tmp_path / "keep"), "--overwrite"]) == 2
    assert (tmp_path / "keep" / "notes.txt").read_text() == "mine" and (tmp_path / "file.txt").exists()
    assert (run / "summary.json").is_file()

    out = tmp_path / "exported"
    assert main(["--quiet", "export", str(run), "--output", str(out)]) == 0
    assert (out / "config.json").is_file() and (out / "rdistill_export.json").is_file()
    assert oct(out.stat().st_mode & 0o777) == oct(0o777 & ~_umask())  # an ordinary folder, not 0700
    assert main(["--quiet", "export", str(run), "--output", str(out)]) == 2  # not silently replaced
    assert main(["--quiet", "export", str(run), "--output", str(out), "--overwrite"]) == 0


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_resume_skips_a_checkpoint_cut_short_while_saving(train_toy_run, tmp_path, caplog):
    """A kill while a checkpoint is written leaves a folder without trainer_state.json: resume takes
    the newest complete one and says which it skipped."""
    from rdistill.training.run_folder import RunFolder

    run = train_toy_run(max_steps=2)
    folder = RunFolder(run)
    complete = folder.resume_checkpoint()
    assert complete is not None and complete.endswith("checkpoint-2")
    broken = folder.checkpoints / "checkpoint-9"
    broken.mkdir()
    (broken / "README.md").write_text("cut short")
    with caplog.at_level("WARNING"):
        assert folder.resume_checkpoint() == complete
    assert "checkpoint-9" in caplog.text


@pytest.mark.parametrize("limit", ["0", "-1", "x"])
def test_eval_limit_must_be_positive(limit, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["eval", "runs/none", "--output", "x.json", "--limit", limit])
    assert exit_.value.code == 2 and "whole number >= 1" in capsys.readouterr().err


@pytest.mark.parametrize("override", ["loss.alpha=.inf", "training.lr=.nan", "name=../../x", "name=/tmp/x"])
def test_recipes_refuse_non_finite_numbers_and_escaping_names(override, tiny_causal_dir, esnli_file, toy_config,
                                                             tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(toy_config(tiny_causal_dir, esnli_file)))
    assert main(["--quiet", "train", str(config), "--set", override, "--dry-run"]) == 2
    assert override.split("=")[0] in capsys.readouterr().err


def test_a_non_finite_loss_stops_training_naming_the_step(tiny_causal_dir, esnli_file, toy_config, tmp_path,
                                                         capsys, monkeypatch):
    import torch

    from rdistill.methods.rationale import trainer as rationale_trainer

    real = rationale_trainer.rationale_loss

    def poisoned(token_losses, spans, *, alpha, beta):
        loss, label, expl = real(token_losses, spans, alpha=alpha, beta=beta)
        return loss * torch.tensor(float("nan")), label, expl

    monkeypatch.setattr(rationale_trainer, "rationale_loss", poisoned)
    config = tmp_path / "c.yaml"
    raw = toy_config(tiny_causal_dir, esnli_file, max_steps=3)
    raw["training"]["logging_steps"] = 1
    config.write_text(yaml.safe_dump(raw))
    assert main(["--quiet", "train", str(config), "--output-dir", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "step 1: the loss is not finite" in err and "Traceback" not in err
    logged = [json.loads(line, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
              for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert logged[-1]["step"] == 1 and logged[-1]["loss"] is None  # the bad step is logged, as null


def test_predict_escapes_what_it_prints(train_toy_run, tmp_path, capsys):
    run = train_toy_run(max_steps=1)
    capsys.readouterr()
    rows = tmp_path / "in.jsonl"
    rows.write_text(json.dumps({"uid": "a\tb\n\x1b[31mforged", "premise": "A dog runs.",
                                "hypothesis": "An animal moves."}) + "\n")
    assert main(["--quiet", "predict", str(run), "--input", str(rows)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith("a\\tb\\n\\x1b[31mforged\t") and "\x1b" not in out[0]
    (tmp_path / "empty.jsonl").write_text("\n")
    assert main(["--quiet", "predict", str(run), "--input", str(tmp_path / "empty.jsonl")]) == 2
    assert "holds no rows" in capsys.readouterr().err


def test_non_utf8_files_and_bad_override_values_get_one_clear_error(tmp_path, capsys, tiny_causal_dir, esnli_file,
                                                                   toy_config):
    config = tmp_path / "c.yaml"
    config.write_bytes(b"name: toy\nseed: 1\ndata:\n  train_file: caf\xe9.json\n")
    assert main(["--quiet", "train", str(config), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "line 4: not UTF-8" in err and "Traceback" not in err

    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(toy_config(tiny_causal_dir, esnli_file)))
    assert main(["--quiet", "train", str(good), "--set", "training.lr=[1", "--dry-run"]) == 2
    assert "not valid YAML" in capsys.readouterr().err

    data = tmp_path / "bad.jsonl"
    data.write_bytes(esnli_file.read_bytes() + b'{"premise": "\xff"}\n')
    raw = toy_config(tiny_causal_dir, data)
    good.write_text(yaml.safe_dump(raw))
    assert main(["--quiet", "train", str(good), "--output-dir", str(tmp_path / "run")]) == 2
    assert "not UTF-8" in capsys.readouterr().err


def test_damaged_run_folders_are_named_and_never_sent_to_the_hub(train_toy_run, tmp_path, capsys, tiny_causal_dir,
                                                                esnli_file, toy_config):
    import shutil

    run = train_toy_run(max_steps=1)
    meta = run / "student" / "rdistill.json"
    meta.write_text(meta.read_text()[:20])
    assert main(["--quiet", "predict", str(run), "--premise", "A", "--hypothesis", "B"]) == 2
    assert "rdistill.json is damaged" in capsys.readouterr().err

    raw = toy_config(tiny_causal_dir, esnli_file, max_steps=1)
    raw["finetune"] = {"mode": "lora", "r": 2, "alpha": 4}
    (tmp_path / "lora.yaml").write_text(yaml.safe_dump(raw))
    lora = tmp_path / "lora-run"
    assert main(["--quiet", "train", str(tmp_path / "lora.yaml"), "--output-dir", str(lora)]) == 0
    shutil.move(lora / "student" / "adapter_model.safetensors", tmp_path / "adapter.bak")
    capsys.readouterr()
    assert main(["--quiet", "predict", str(lora), "--premise", "A", "--hypothesis", "B"]) == 2
    assert "adapter_model.safetensors" in capsys.readouterr().err
    (lora / "student" / "adapter_model.safetensors").write_bytes(b"\x00" * 10)  # truncated
    assert main(["--quiet", "predict", str(lora), "--premise", "A", "--hypothesis", "B"]) == 2
    assert "the adapter does not load" in capsys.readouterr().err


def test_unwritable_outputs_are_refused_before_the_work(train_toy_run, tmp_path, capsys, monkeypatch):
    """A folder that cannot hold the output (here: a file stands where it should be; the tests run
    as root, which writes into read-only folders) is refused before the evaluation runs."""
    import rdistill.methods.registry as registry

    run = train_toy_run(max_steps=1)
    (tmp_path / "a-file").write_text("x")
    monkeypatch.setattr(registry, "evaluate_run", lambda *a, **k: pytest.fail("evaluated anyway"))
    assert main(["--quiet", "eval", str(run), "--output", str(tmp_path / "a-file" / "m.json")]) == 2
    assert "--output" in (err := capsys.readouterr().err) and "cannot write there" in err
    assert main(["--quiet", "train", str(run / "config.yaml"), "--output-dir", str(tmp_path / "a-file" / "r")]) == 2
    assert "cannot write there" in capsys.readouterr().err


def test_repeated_uids_and_bad_rows_are_refused_before_any_run_folder(tmp_path, capsys, tiny_causal_dir,
                                                                       toy_config):
    rows = [{"uid": "r1", "premise": "A dog runs.", "hypothesis": "An animal moves.", "label": "entailment"},
            {"uid": "r1", "premise": "A cat sleeps.", "hypothesis": "A cat rests.", "label": "entailment"}]
    data = tmp_path / "anli.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    raw = toy_config(tiny_causal_dir, data)
    raw["data"]["dataset"] = "anli"
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(raw))
    assert main(["--quiet", "train", str(config), "--output-dir", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "uid 'r1' appears twice" in err and str(data) in err
    assert not (tmp_path / "run").exists()  # no half run folder for report/plot to accept
