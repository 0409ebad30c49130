"""Length-grouped batches in an order drawn from seed + epoch: a run resumed mid-epoch sees the
batches the uninterrupted run saw, so it ends with the same weights."""

from __future__ import annotations

import shutil

import torch
import yaml
from safetensors.torch import load_file

from rdistill.cli import main
from rdistill.training.sampling import EpochSeededLengthGroupedSampler


def _order(seed: int, epoch: int) -> list[int]:
    lengths = [(i * 7) % 23 + 1 for i in range(40)]
    sampler = EpochSeededLengthGroupedSampler(8, None, lengths=lengths, seed=seed)
    sampler.set_epoch(epoch)
    torch.manual_seed(123 + epoch)  # the global state must not matter
    return list(sampler)


def test_the_order_depends_on_seed_and_epoch_only():
    assert _order(3, 1) == _order(3, 1)
    assert sorted(_order(3, 1)) == list(range(40))
    assert _order(3, 1) != _order(3, 2) and _order(3, 1) != _order(4, 1)


def test_a_run_resumed_mid_epoch_ends_with_the_uninterrupted_weights(tmp_path, tiny_causal_dir, esnli_file,
                                                                     toy_config):
    raw = toy_config(tiny_causal_dir, esnli_file, max_steps=12, save_steps=4, group_by_length=True)
    config = tmp_path / "toy.yaml"
    config.write_text(yaml.safe_dump(raw))
    whole, resumed = tmp_path / "whole", tmp_path / "resumed"
    for run in (whole, resumed):
        assert main(["--quiet", "train", str(config), "--output-dir", str(run)]) == 0
    # What a kill after step 8 leaves: 45 training rows in batches of 8 make 6 steps an epoch, so
    # checkpoint-8 is two steps into the second epoch.
    for lost in ("checkpoints/checkpoint-12", "student", "summary.json", "eval"):
        path = resumed / lost
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    assert main(["--quiet", "train", str(config), "--output-dir", str(resumed), "--resume"]) == 0
    for name, tensor in load_file(whole / "student" / "model.safetensors").items():
        torch.testing.assert_close(load_file(resumed / "student" / "model.safetensors")[name], tensor,
                                   rtol=0, atol=1e-6, msg=name)
