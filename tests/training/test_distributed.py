"""Several processes on CPU (gloo, 1 thread each) through ``accelerate launch -m rdistill train``.

Equivalence: 2 processes x batch 2 take the same optimizer steps as 1 process x batch 2 x
2 accumulation steps (same global batch of 4, same data order: accelerate hands batch i of
the one-process order to rank i mod 2). Each micro-batch's loss is a mean over its own rows
either way, so the updates are the same sum of the same two gradients: DDP's all-reduce
averages ``(g0 + g1) / 2``, accumulation adds ``g0 / 2 + g1 / 2``. The only difference is
float32 rounding in that sum (a few ulps, ~1e-7 relative per step), which Adam carries into
the next losses; ``RTOL = 1e-5`` leaves two orders of magnitude for it over a few steps,
while a run whose gradients were not all-reduced (each rank stepping on its own shard)
is off by ~1e-2 from step 2 on. The measured difference here has been 0.0.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import yaml

pytestmark = pytest.mark.distributed

ROOT = Path(__file__).resolve().parents[2]
DDP_CPU = ROOT / "configs" / "accelerate" / "ddp-cpu.yaml"
RTOL = 1e-5


def _env() -> dict[str, str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _command(processes: int, config: Path, run: Path, *extra: str) -> list[str]:
    train = ["-m", "rdistill", "--quiet", "train", str(config), "--output-dir", str(run), *extra]
    if processes == 1:
        return [sys.executable, *train]
    return [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(DDP_CPU),
            "--num_processes", str(processes), "--main_process_port", str(_free_port()), *train]


# Runs compared across processes fix what the probes would choose (precision, attention kernel):
# each process probes on its own, and a probe near its margin could choose differently.
PINNED = ("--set", "training.precision=fp32", "--set", "model.attention=sdpa")


def _train(processes: int, config: Path, run: Path, *extra: str) -> None:
    done = subprocess.run(_command(processes, config, run, *PINNED, *extra), env=_env(), capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("run folder:") == 1  # one summary, from the main process


def _losses(run: Path) -> list[float]:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [r["loss"] for r in rows if "loss" in r]


def _assert_same_curve(one: Path, two: Path, steps: int) -> None:
    a, b = _losses(one), _losses(two)
    assert len(a) == len(b) == steps
    assert a[0] != a[-1]  # it trained
    for step, (x, y) in enumerate(zip(a, b), 1):
        assert abs(x - y) <= RTOL * abs(x), (step, x, y)
    # the main process alone wrote the run folder: one set of files, no second rank's copy
    for run in (one, two):
        summary = json.loads((run / "summary.json").read_text())
        assert summary["global_step"] == steps
    assert (two / "eval" / "metrics.json").is_file() and (two / "student").is_dir()
    assert sorted(p.name for p in two.iterdir()) == sorted(p.name for p in one.iterdir())


def _write(path: Path, raw: dict) -> Path:
    path.write_text(yaml.safe_dump(raw))
    return path


def test_rationale_two_processes_match_one(tmp_path, tiny_causal_dir, esnli_file, toy_config):
    raw = toy_config(tiny_causal_dir, esnli_file, max_steps=5, batch_size=2, logging_steps=1,
                     group_by_length=False)
    raw["data"]["test_size"] = 4
    config = _write(tmp_path / "rationale.yaml", raw)
    _train(1, config, tmp_path / "one", "--set", "training.grad_accum=2")
    _train(2, config, tmp_path / "two")
    _assert_same_curve(tmp_path / "one", tmp_path / "two", 5)
    # the dev accuracy is computed on the whole dev split by the main process either way
    dev = [[r.get("eval_label_accuracy") for r in map(json.loads, (tmp_path / run / "metrics.jsonl")
                                                     .read_text().splitlines()) if "eval_loss" in r]
           for run in ("one", "two")]
    assert dev[0] == dev[1] and dev[0]


def test_latent_two_processes_match_one(tmp_path, tiny_causal_dir, esnli_file):
    def raw(cache: str) -> dict:
        return {"name": "latent-ddp", "seed": 0, "method": "latent",
                "data": {"train_file": str(esnli_file), "dev_size": 0, "test_size": 3, "split_by": "row"},
                "model": {"name": str(tiny_causal_dir)},
                "finetune": {"mode": "lora", "r": 4, "alpha": 8, "dropout": 0.0},
                "training": {"max_steps": 4, "batch_size": 2, "lr": 5e-3, "logging_steps": 1, "save_steps": 100,
                             "warmup_ratio": 0.0, "group_by_length": False, "tensorboard": False},
                "generation": {"max_new_tokens": 4},
                "latent": {"teacher": str(tiny_causal_dir), "cache_dir": str(tmp_path / cache), "layers": "last:2",
                           "dtype": "fp32", "examples_per_shard": 8, "mode": "latent"}}

    # each run extracts its own cache (the 2-process run: shard i on rank i % 2)
    _train(1, _write(tmp_path / "one.yaml", raw("cache1")), tmp_path / "one", "--set", "training.grad_accum=2")
    _train(2, _write(tmp_path / "two.yaml", raw("cache2")), tmp_path / "two")
    manifest = json.loads((tmp_path / "cache2" / "manifest.json").read_text())
    n = len(manifest["shards"])  # 57 rows, 8 a shard
    assert manifest["stats"]["shards_extracted_by_rank"] == [list(range(0, n, 2)), list(range(1, n, 2))]
    _assert_same_curve(tmp_path / "one", tmp_path / "two", 4)
    distill = [[r["loss_distill"] for r in map(json.loads, (tmp_path / run / "metrics.jsonl").read_text()
                                               .splitlines()) if "loss_distill" in r] for run in ("one", "two")]
    assert max(distill[0]) > 0 and distill[0] == pytest.approx(distill[1], rel=RTOL)  # the distill term trained


def _rank_process(launcher: subprocess.Popen, rank: int) -> psutil.Process | None:
    for child in psutil.Process(launcher.pid).children(recursive=True):
        try:
            if child.environ().get("RANK") == str(rank) and "rdistill" in " ".join(child.cmdline()):
                return child
        except psutil.Error:
            continue
    return None


def test_kill_one_rank_then_resume_finishes(tmp_path, tiny_causal_dir, esnli_file, toy_config):
    raw = toy_config(tiny_causal_dir, esnli_file, max_steps=60, batch_size=2, logging_steps=10,
                     save_steps=4, group_by_length=False)
    raw["data"].update(dev_size=0, test_size=2)
    config, run = _write(tmp_path / "kill.yaml", raw), tmp_path / "run"
    launcher = subprocess.Popen(_command(2, config, run, *PINNED), env=_env(), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not (run / "checkpoints" / "checkpoint-4" / "trainer_state.json").is_file():
            assert launcher.poll() is None and time.monotonic() < deadline, "no checkpoint before the run ended"
            time.sleep(0.05)
        victim = _rank_process(launcher, 1)
        assert victim is not None
        victim.kill()  # SIGKILL: no handler, no cleanup
        assert launcher.wait(timeout=120) != 0  # the launcher tears the other rank down and fails
    finally:
        if launcher.poll() is None:
            launcher.kill()
    assert not (run / "summary.json").exists()
    _train(2, config, run, "--resume")
    summary = json.loads((run / "summary.json").read_text())
    assert summary["global_step"] == 60
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert 60 in steps


def test_coconut_two_processes_match_one(tmp_path, tiny_causal_dir):
    """The multi-pass COCONUT forward runs inside one module call (``CoconutForward``), so DDP
    all-reduces it like any other: the curriculum's losses match one process's."""
    from rdistill.data.prosqa import generate_prosqa, write_prosqa

    data = tmp_path / "prosqa.json"
    write_prosqa(generate_prosqa(16, seed=0), data)
    raw = {"name": "coconut-ddp", "method": "coconut", "seed": 0,
           "data": {"dataset": "prosqa", "train_file": str(data), "split_by": "row", "dev_size": 0, "test_size": 2},
           "model": {"name": str(tiny_causal_dir)},
           "finetune": {"mode": "lora", "r": 4, "alpha": 8, "dropout": 0.0},
           "training": {"batch_size": 2, "lr": 5e-3, "logging_steps": 1, "save_steps": 100, "warmup_ratio": 0.0,
                        "max_source_tokens": 900, "max_target_tokens": 100, "tensorboard": False},
           "generation": {"batch_size": 2},
           "coconut": {"c_thoughts": 1, "max_stage": 1, "steps_per_stage": 2, "max_new_tokens": 4}}
    config = _write(tmp_path / "coconut.yaml", raw)
    _train(1, config, tmp_path / "one", "--set", "training.grad_accum=2")
    _train(2, config, tmp_path / "two")
    _assert_same_curve(tmp_path / "one", tmp_path / "two", 4)
