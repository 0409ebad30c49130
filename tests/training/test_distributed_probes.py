"""Under several processes the main one probes precision and attention, and every rank takes its
answer: two ranks whose own probes would disagree train with the same precision and kernel."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.distributed

ROOT = Path(__file__).resolve().parents[2]

# Each rank's (mocked) probes report the opposite figures: rank 0 finds bf16 and eager faster,
# rank 1 finds fp32 and sdpa faster. Probing on its own, rank 1 would choose differently.
RANK_SCRIPT = """
import json, os, sys
from rdistill.methods.registry import load_recipe
from rdistill.training import attention, precision
from rdistill.training.precision import ProbeResult

rank = int(os.environ["RANK"])
asked = []

def matmul(tokens, hidden, intermediate, **_):
    asked.append("precision")
    fp32, bf16 = (100.0, 300.0) if rank == 0 else (300.0, 100.0)
    return ProbeResult(fp32, bf16, ((tokens, hidden, intermediate),), 0.1)

def kernels(*_, **__):
    asked.append("attention")
    return (30.0, 10.0) if rank == 0 else (10.0, 30.0)

precision.probe_matmul, attention.probe_attention = matmul, kernels
attention.memory_bytes = lambda: 10**15
cfg = load_recipe(None, raw={"data": {"train_file": "x"}, "model": {"name": sys.argv[1]},
                             "training": {"batch_size": 4}})
out = {"precision": precision.resolve_precision(cfg).choice,
       "attention": attention.resolve_attention(cfg).choice,
       "again": precision.resolve_precision(cfg).choice, "probed": asked}
open(sys.argv[2], "w").write(json.dumps(out))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ranks_take_the_main_process_choices(tmp_path, tiny_causal_dir):
    script = tmp_path / "rank.py"
    script.write_text(RANK_SCRIPT)
    port = str(_free_port())
    procs = []
    try:
        for rank in (0, 1):
            env = dict(os.environ, OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="", WORLD_SIZE="2",
                       RANK=str(rank), LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1", MASTER_PORT=port)
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
            with open(tmp_path / f"rank{rank}.log", "w") as log:  # a file: a full pipe would stall a rank
                procs.append(subprocess.Popen([sys.executable, str(script), str(tiny_causal_dir),
                                               str(tmp_path / f"rank{rank}.json")], env=env,
                                              stdout=log, stderr=subprocess.STDOUT))
        for rank, proc in enumerate(procs):
            assert proc.wait(timeout=300) == 0, (tmp_path / f"rank{rank}.log").read_text()[-3000:]
    finally:
        for proc in procs:  # a rank left waiting on the other must not outlive the test
            if proc.poll() is None:
                proc.kill()
    main, other = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    assert main["precision"] == other["precision"] == other["again"] == "bf16"
    assert main["attention"] == other["attention"] == "eager"
    assert main["probed"] == ["precision", "attention"]
    assert other["probed"] == []  # only the main process probes
