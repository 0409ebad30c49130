"""``rdistill extract`` and ``rdistill train`` with a ``latent:`` section, through ``main(argv)``."""

import json

import pytest
import torch
import yaml

from rdistill.methods.registry import load_recipe
from rdistill.cli import main
from rdistill.errors import ConfigError
from rdistill.models import load_model
from rdistill.training.run_folder import load_student


def _write(tmp_path, raw):
    path = tmp_path / "latent.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_extract_then_train_from_the_cli(tmp_path, tiny_causal_dir, esnli_file, latent_config, capsys):
    raw = latent_config(tiny_causal_dir, tiny_causal_dir, tmp_path / "cache", top_k=4)
    raw["data"] = {"train_file": str(esnli_file), "dev_size": 0, "test_size": 50, "split_by": "row"}
    raw["training"]["max_steps"] = 2
    config = _write(tmp_path, raw)
    assert main(["--quiet", "extract", str(config)]) == 0
    captured = capsys.readouterr()
    out = captured.out
    assert "%|" not in captured.err  # --quiet: no extraction bar
    assert "10 examples" in out and "kB/example" in out and "top-k" in out
    manifest = json.loads((tmp_path / "cache" / "manifest.json").read_text())
    assert manifest["complete"] and manifest["data"]["n_examples"] == 10
    assert main(["--quiet", "train", str(config), "--output-dir", str(tmp_path / "run")]) == 0
    printed = capsys.readouterr()
    assert "answer accuracy" in printed.out  # trained, then evaluated on the 50 test rows
    assert "%|" not in printed.err  # --quiet: no progress bar (training, evaluation)
    assert (tmp_path / "run" / "student" / "adapter_model.safetensors").is_file()
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["global_step"] == 2 and summary["eval"]["n"] == 50
    # export: the adapter merged into a plain folder that gives the student's own logits
    assert main(["--quiet", "export", str(tmp_path / "run"), "--output", str(tmp_path / "merged")]) == 0
    student, tokenizer, _, _ = load_student(tmp_path / "run")
    merged, _ = load_model(tmp_path / "merged", kind="causal")
    ids = torch.tensor([tokenizer("a man is walking", add_special_tokens=False)["input_ids"]])
    assert torch.allclose(student(input_ids=ids).logits, merged(input_ids=ids).logits, atol=1e-5)
    assert not (tmp_path / "merged" / "adapter_config.json").exists()
    # rdistill eval knows a latent run: its own held-out split, or the first rows of a data file
    before = json.loads((tmp_path / "run" / "eval" / "metrics.json").read_text())
    assert main(["--quiet", "eval", str(tmp_path / "run"), "--output", str(tmp_path / "again.json")]) == 0
    again = json.loads((tmp_path / "again.json").read_text())
    assert again["answer_accuracy"] == before["answer_accuracy"] and again["n"] == 50
    assert again["overrides"] == []
    # eval --set changes what a latent run's scoring reads, and refuses what it would ignore
    assert main(["--quiet", "eval", str(tmp_path / "run"), "--output", str(tmp_path / "short.json"),
                 "--set", "generation.max_new_tokens=1"]) == 0
    short = json.loads((tmp_path / "short.json").read_text())
    assert short["overrides"] == ["generation.max_new_tokens=1"]
    rows = (tmp_path / "short.predictions.jsonl").read_text().splitlines()
    tokens = [json.loads(line)["generated_tokens"] for line in rows]
    assert len(tokens) == 50 and max(tokens) == 1
    assert main(["--quiet", "eval", str(tmp_path / "run"), "--output", str(tmp_path / "beams.json"),
                 "--set", "generation.num_beams=4"]) == 2
    assert "generation.max_new_tokens" in capsys.readouterr().err and not (tmp_path / "beams.json").exists()
    assert (tmp_path / "again.layer_similarity.json").is_file()
    assert main(["--quiet", "eval", str(tmp_path / "run"), "--data-file", str(esnli_file), "--limit", "7",
                 "--output", str(tmp_path / "file.json")]) == 0
    assert json.loads((tmp_path / "file.json").read_text())["n"] == 7
    # the same cache, other layers in the run's pairs: refused with a message, exit 2
    assert main(["--quiet", "train", str(config), "--output-dir", str(tmp_path / "run2"),
                 "--set", "latent.layer_map=[[0, 1]]"]) == 2
    assert "teacher layer 0 is not in the cache" in capsys.readouterr().err


def test_latent_section_is_validated(tmp_path, tiny_causal_dir, latent_config):
    raw = latent_config(tiny_causal_dir, tiny_causal_dir, tmp_path / "c")
    with pytest.raises(ConfigError, match="latent.layer: unknown key"):
        load_recipe(None, raw=raw, overrides=["latent.layer=3"])
    with pytest.raises(ConfigError, match="needs latent.top_k > 0"):
        load_recipe(None, raw=raw, overrides=["latent.mode=logit_kd"])
    with pytest.raises(ConfigError, match="'last:x' is not a layer list"):
        load_recipe(None, raw=raw, overrides=["latent.layers=last:x"])
    with pytest.raises(ConfigError, match="needs latent.teacher"):
        load_recipe(None, raw={**raw, "latent": {"mode": "latent"}})


def _spy_prompts(monkeypatch):
    """Record the prompts the latent predictor generates from (the real decoding still runs)."""
    import rdistill.prediction.latent as latent_prediction

    prompts, real = [], latent_prediction.greedy_decode

    def spy(model, batch, **kwargs):
        prompts.extend(batch)
        return real(model, batch, **kwargs)

    monkeypatch.setattr(latent_prediction, "greedy_decode", spy)
    return prompts


def test_predict_and_profile_prompt_a_latent_run_as_it_was_trained(tmp_path, tiny_causal_dir, esnli_file,
                                                                   latent_config, monkeypatch, capsys):
    """A latent run reads `Name: value` lines (tasks.latent_layout), not the rationale prompt with its
    instruction line: predict and profile must ask it that way (they used the rationale predictor)."""
    from rdistill.data.example import Example
    from rdistill.tasks.latent_layout import latent_prompt

    raw = latent_config(tiny_causal_dir, tiny_causal_dir, tmp_path / "cache", mode="sft")
    raw["data"] = {"train_file": str(esnli_file), "dev_size": 0, "test_size": 6, "split_by": "row"}
    raw["generation"] = {"max_new_tokens": 4}
    run = tmp_path / "run"
    assert main(["--quiet", "train", str(_write(tmp_path, raw)), "--output-dir", str(run)]) == 0
    _, tokenizer, _, _ = load_student(run)
    prompts = _spy_prompts(monkeypatch)

    assert main(["--quiet", "predict", str(run), "--premise", "A man sleeps.", "--hypothesis", "A person rests.",
                 "--json"]) == 0
    pair = Example(uid="1", label="", fields={"premise": "A man sleeps.", "hypothesis": "A person rests."})
    assert prompts == [tokenizer(latent_prompt(pair), add_special_tokens=False)["input_ids"]]
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["uid"] == "1"

    prompts.clear()
    assert main(["--quiet", "profile", str(run), "--examples", "2", "--latency-examples", "1",
                 "--batch-sizes", "2"]) == 0
    texts = {tokenizer.decode(p).lower() for p in prompts}  # this tiny tokenizer lower-cases
    assert texts and all(t.startswith("premise") and "hypothesis" in t for t in texts)
    assert not any("does the premise entail" in t for t in texts)  # the rationale prompt's instruction
    assert json.loads((run / "profile.json").read_text())["latency_ms_p50"] > 0


def test_the_cache_has_one_name_from_extract_to_train(tmp_path, tiny_causal_dir, esnli_file, latent_config,
                                                       monkeypatch, capsys):
    """`extract --output-dir X` is `latent.cache_dir=X`: training with that setting reads X and runs no
    second extraction; a recipe trained without a cache extracts it first (its first phase)."""
    monkeypatch.chdir(tmp_path)
    raw = latent_config(tiny_causal_dir, tiny_causal_dir, tmp_path / "unused")
    del raw["latent"]["cache_dir"]
    raw["data"] = {"train_file": str(esnli_file), "dev_size": 0, "test_size": 4, "split_by": "row"}
    raw["generation"] = {"max_new_tokens": 4}
    config = _write(tmp_path, raw)
    chosen = tmp_path / "my-cache"
    assert main(["--quiet", "extract", str(config), "--output-dir", str(chosen)]) == 0
    assert str(chosen.resolve()) in capsys.readouterr().out
    stamp = (chosen / "manifest.json").stat().st_mtime_ns

    assert main(["--quiet", "train", str(config), "--output-dir", "run", "--set", f"latent.cache_dir={chosen}"]) == 0
    assert (chosen / "manifest.json").stat().st_mtime_ns == stamp  # read, not extracted again
    assert not (tmp_path / "latent_cache").exists()

    assert main(["--quiet", "train", str(config), "--output-dir", "run2"]) == 0
    manifest = json.loads((tmp_path / "latent_cache" / "latent-toy" / "manifest.json").read_text())
    assert manifest["complete"] and json.loads((tmp_path / "run2" / "summary.json").read_text())["global_step"] == 3


def test_a_latent_run_gets_the_whole_run_folder(tmp_path, tiny_causal_dir, esnli_file, latent_config):
    """system.json, trackers, dev evaluation with the best checkpoint kept: as rationale runs have."""
    raw = latent_config(tiny_causal_dir, tiny_causal_dir, tmp_path / "cache", mode="sft")
    raw["data"] = {"train_file": str(esnli_file), "dev_size": 4, "test_size": 4, "split_by": "row"}
    raw["training"].update(eval_steps=1, early_stopping_patience=5)
    raw["generation"] = {"max_new_tokens": 4}
    run = tmp_path / "run"
    assert main(["--quiet", "train", str(_write(tmp_path, raw)), "--output-dir", str(run)]) == 0
    assert json.loads((run / "system.json").read_text())["seed"] == 0
    assert any((run / "tensorboard").iterdir())
    logged = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    dev = [x for x in logged if "eval_loss" in x]
    assert [x["step"] for x in dev] == [1, 2, 3] and all(0 <= x["eval_label_accuracy"] <= 1 for x in dev)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["best_checkpoint"] and summary["best_metric"] == max(x["eval_label_accuracy"] for x in dev)
