"""``rdistill extract`` and ``rdistill train`` with a ``latent:`` section, through ``main(argv)``."""

import json

import pytest
import yaml

from rdistill.cli import main
from rdistill.config import load_config
from rdistill.errors import ConfigError


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
    out = capsys.readouterr().out
    assert "10 examples" in out and "kB/example" in out and "top-k" in out
    manifest = json.loads((tmp_path / "cache" / "manifest.json").read_text())
    assert manifest["complete"] and manifest["data"]["n_examples"] == 10
    assert main(["--quiet", "train", str(config), "--output-dir", str(tmp_path / "run")]) == 0
    assert (tmp_path / "run" / "student" / "adapter_model.safetensors").is_file()
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["global_step"] == 2
    # the same cache, other layers in the run's pairs: refused with a message, exit 2
    assert main(["--quiet", "train", str(config), "--output-dir", str(tmp_path / "run2"),
                 "--set", "latent.layer_map=[[0, 1]]"]) == 2
    assert "teacher layer 0 is not in the cache" in capsys.readouterr().err


def test_latent_section_is_validated(tmp_path, tiny_causal_dir, latent_config):
    raw = latent_config(tiny_causal_dir, tiny_causal_dir, tmp_path / "c")
    with pytest.raises(ConfigError, match="latent.layer: unknown key"):
        load_config(None, raw=raw, overrides=["latent.layer=3"])
    with pytest.raises(ConfigError, match="needs latent.top_k > 0"):
        load_config(None, raw=raw, overrides=["latent.mode=logit_kd"])
    with pytest.raises(ConfigError, match="'last:x' is not a layer list"):
        load_config(None, raw=raw, overrides=["latent.layers=last:x"])
    with pytest.raises(ConfigError, match="needs latent.teacher"):
        load_config(None, raw={**raw, "latent": {"mode": "latent"}})
