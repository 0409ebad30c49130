"""Benches run end to end on the tiny random model and the toy e-SNLI file."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml

BENCH = Path(__file__).resolve().parents[2] / "bench"


def load_bench(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def toy_recipe(tmp_path, tiny_causal_dir, esnli_file, toy_config):
    """A LoRA recipe for the tiny causal student on the toy file (rows split, no dev)."""
    raw = toy_config(tiny_causal_dir, esnli_file, batch_size=4)
    raw["finetune"] = {"mode": "lora", "r": 4, "alpha": 8}
    raw["data"].update({"dev_size": 0, "test_size": 9})
    path = tmp_path / "toy_recipe.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path
