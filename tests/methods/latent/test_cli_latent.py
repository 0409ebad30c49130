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
