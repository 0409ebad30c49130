"""``accelerate launch -m rdistill extract`` with 2 processes (gloo on CPU, 1 thread each).

One launch covers the three promises of sharded extraction: it finishes a cache that a
one-process extraction left half done (shards are complete or not, whoever wrote them), each
remaining shard is extracted by exactly one rank (shard i by rank i % 2), and the finished cache
is the one-process cache, tensor for tensor (same rows per shard, same batches: identical
arithmetic, so equality is exact).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file

from rdistill.methods.latent.run import extract_cache
from rdistill.methods.registry import load_recipe

pytestmark = pytest.mark.distributed

ROOT = Path(__file__).resolve().parents[3]
DDP_CPU = ROOT / "configs" / "accelerate" / "ddp-cpu.yaml"


class Crash(Exception):
    pass


def _launch(*args: str) -> str:
    """``accelerate launch`` of 2 ranks as tests/training/test_distributed.py does it."""
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(DDP_CPU),
               "--num_processes", "2", "--main_process_port", str(port), "-m", "rdistill", *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_two_processes_finish_a_cache_each_shard_once(tmp_path, tiny_causal_dir, esnli_file, latent_config):
    raw = latent_config(tiny_causal_dir, tiny_causal_dir, tmp_path / "whole", top_k=4, examples_per_shard=3)
    raw["data"] = {"train_file": str(esnli_file), "dev_size": 0, "test_size": 50, "split_by": "row"}
    config = tmp_path / "latent.yaml"
    config.write_text(yaml.safe_dump(raw))
    whole = extract_cache(load_recipe(config), data_dir=str(tmp_path))  # 10 rows -> 4 shards, 1 process

    def crash_after_first(i: int) -> None:
        raise Crash(i)

    with pytest.raises(Crash):  # a 1-process extraction that stopped after shard 0
        extract_cache(load_recipe(config, [f"latent.cache_dir={tmp_path / 'split'}"]), data_dir=str(tmp_path),
                      after_shard=crash_after_first)
    out = _launch("--quiet", "extract", str(config), "--output-dir", str(tmp_path / "split"))
    assert out.count("10 examples") == 1  # one summary, from the main process

    split = json.loads((tmp_path / "split" / "manifest.json").read_text())
    stats = split["stats"]
    assert split["complete"] and stats["processes"] == 2 and stats["shards_reused"] == 1
    assert stats["shards_extracted_by_rank"] == [[2], [1, 3]]  # shard 0 re-used, the rest once each
    sidecars = [json.loads((tmp_path / "split" / f"shard-{i:05d}.json").read_text()) for i in range(4)]
    uids = [entry[0] for side in sidecars for entry in side["entries"]]
    assert len(uids) == len(set(uids)) == 10  # every row in exactly one shard
    assert json.loads((tmp_path / "split" / "index.json").read_text()) == \
        json.loads((tmp_path / "whole" / "index.json").read_text())
    assert [s["sha256"] for s in split["shards"]] == [s["sha256"] for s in whole["shards"]]
    for i in range(4):
        a = load_file(tmp_path / "whole" / f"shard-{i:05d}.safetensors")
        b = load_file(tmp_path / "split" / f"shard-{i:05d}.safetensors")
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
