"""The coconut method through the command line: a recipe names it, ``rdistill train`` runs the
curriculum and the evaluation into a run folder; eval, predict and resume work like any method's."""

from __future__ import annotations

import json

import yaml

from rdistill.cli import main
from rdistill.data.prosqa import generate_prosqa, write_prosqa
from rdistill.methods.registry import load_recipe


def _recipe(tmp_path, tiny_causal_dir, **coconut):
    data = tmp_path / "prosqa.json"
    write_prosqa(generate_prosqa(24, seed=0), data)
    raw = {"name": "coconut-toy", "method": "coconut", "seed": 0,
           "data": {"dataset": "prosqa", "train_file": str(data), "split_by": "row", "dev_size": 0,
                    "test_size": 4},
           "model": {"name": str(tiny_causal_dir)},
           "finetune": {"mode": "lora", "r": 4, "alpha": 8, "dropout": 0.0},
           "training": {"batch_size": 4, "lr": 1e-3, "logging_steps": 1, "save_steps": 100, "warmup_ratio": 0.0,
                        "max_source_tokens": 900, "max_target_tokens": 100},
           "generation": {"batch_size": 4},
           "coconut": {"c_thoughts": 1, "max_stage": 2, "steps_per_stage": 2, "max_new_tokens": 6, **coconut}}
    path = tmp_path / "coconut.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_coconut_recipe_trains_evaluates_predicts_and_resumes(tmp_path, tiny_causal_dir, capsys):
    config = _recipe(tmp_path, tiny_causal_dir)
    assert load_recipe(config).coconut.max_stage == 2
    run = tmp_path / "run"
    assert main(["--quiet", "train", str(config), "--output-dir", str(run)]) == 0
    summary = json.loads((run / "summary.json").read_text())
    assert [s["stage"] for s in summary["stages"]] == [0, 1, 2] and summary["global_step"] == 6
    assert [s["thoughts_per_row"] for s in summary["stages"]][0] == 0  # stage 0 = chain-of-thought SFT
    metrics = json.loads((run / "eval" / "metrics.json").read_text())
    assert metrics["n"] == 4 and metrics["thoughts"] == 2 and 1 <= metrics["generated_tokens_mean"] <= 6
    assert json.loads((run / "student" / "rdistill.json").read_text())["method"] == "coconut"

    capsys.readouterr()
    assert main(["--quiet", "predict", str(run), "--question", "Tom is a wumpus. Is Tom a wumpus or a rempus?",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["uid"] == "1"
    assert main(["--quiet", "eval", str(run), "--output", str(tmp_path / "again.json")]) == 0
    assert json.loads((tmp_path / "again.json").read_text())["answer_accuracy"] == metrics["answer_accuracy"]
    # eval --set: COCONUT's decoding length is its own key; a decoding key it never reads is refused
    assert main(["--quiet", "eval", str(run), "--output", str(tmp_path / "short.json"),
                 "--set", "coconut.max_new_tokens=1"]) == 0
    short = json.loads((tmp_path / "short.json").read_text())
    assert short["generated_tokens_mean"] == 1 and short["overrides"] == ["coconut.max_new_tokens=1"]
    capsys.readouterr()
    assert main(["eval", str(run), "--output", str(tmp_path / "beams.json"), "--set", "generation.num_beams=4"]) == 2
    err = capsys.readouterr().err
    assert "generation.num_beams=4" in err and "coconut.max_new_tokens" in err
    assert not (tmp_path / "beams.json").exists()

    # a plain rerun is refused (the folder holds stages); --resume finds every phase complete
    assert main(["--quiet", "train", str(config), "--output-dir", str(run)]) == 2
    stamp = (run / "summary.json").stat().st_mtime_ns
    assert main(["--quiet", "train", str(config), "--output-dir", str(run), "--resume"]) == 0
    assert (run / "summary.json").stat().st_mtime_ns == stamp


def test_coconut_refuses_a_task_without_steps(tmp_path, tiny_causal_dir, esnli_file, capsys):
    config = _recipe(tmp_path, tiny_causal_dir)
    assert main(["--quiet", "train", str(config), "--output-dir", str(tmp_path / "run"),
                 "--set", "data.dataset=esnli", "--set", f"data.train_file={esnli_file}"]) == 2
    assert "needs reasoning steps" in capsys.readouterr().err



def test_rows_without_steps_train_as_question_answer_and_are_counted(caplog):
    import pytest

    from rdistill.data.example import Example
    from rdistill.errors import DataError
    from rdistill.methods.coconut.run import check_steps

    with_steps = Example(uid="a", fields={"question": "q"}, label="1", steps=("x = 1",))
    without = Example(uid="b", fields={"question": "q"}, label="2", steps=())
    assert check_steps([with_steps, without, with_steps], "gsm8k") == 1
    assert "1 of 3 training rows have no reasoning steps (first: b)" in caplog.text
    assert check_steps([with_steps], "gsm8k") == 0
    with pytest.raises(DataError, match="none of the 2 training rows"):
        check_steps([without, without], "esnli")
