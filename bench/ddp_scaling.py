"""Training throughput of the same short rationale run on 1 process vs several (DDP).

CPU: 1 process x 2 threads (batch 2B) vs 2 processes x 1 thread (batch B each, DDP over gloo,
``configs/accelerate/ddp-cpu.yaml``): the same global batch 2B, the same cores (``--control``
adds 1 process x 1 thread, batch 2B: it tells a cost of the 2-thread team from one of DDP). With CUDA, also
1 GPU (batch G x N) vs all N GPUs (batch G each, ``configs/accelerate/ddp-gpu.yaml``, NCCL).

Each setting is one ``rdistill train`` (LoRA r=16 on all linear layers, predict-then-explain on
the first e-SNLI rows, no length grouping) launched as a user would. Examples/s comes from the
run's ``metrics.jsonl`` (one line per optimizer step, main process wall clock): global batch x
steps after ``--warmup`` steps, over the time they took; model loading, the first steps and the
evaluation are outside it. Student: SmolLM2-135M-Instruct when its converted folder is there
(``rdistill.models.resolve_model('smollm2-135m-instruct')``), else a random 4-layer Llama (hidden 256); the
JSON says which. The machine's load average is recorded before and after each setting: on a
shared machine the numbers are only as good as that load.

    python bench/ddp_scaling.py --output bench/results/ddp_scaling.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
ACCELERATE = ROOT / "configs" / "accelerate"


def student(work: Path) -> tuple[str, str]:
    """(model folder, description): SmolLM2 if converted here, else a random small Llama."""
    from rdistill.errors import ModelError
    from rdistill.models import resolve_model

    try:
        path = Path(resolve_model("smollm2-135m-instruct"))
        if (path / "config.json").is_file():
            return str(path), "SmolLM2-135M-Instruct (smollm2 cache)"
    except (ModelError, OSError, ImportError):
        pass
    sys.path.insert(0, str(ROOT / "bench"))
    from chaos_world import build_model

    return str(build_model(work / "random-llama", hidden=256, layers=4)), "random Llama, 4 layers, hidden 256"


def recipe(model: str, train_file: str, batch: int, steps: int) -> dict:
    return {"name": "ddp-scaling", "seed": 0, "method": "rationale",
            "data": {"train_file": train_file, "dev_size": 0, "test_size": 1, "split_by": "row"},
            "model": {"name": model},
            "finetune": {"mode": "lora", "r": 16, "alpha": 32, "dropout": 0.0},
            "training": {"max_steps": steps, "batch_size": batch, "lr": 1e-4, "logging_steps": 1,
                         "save_steps": 10_000, "warmup_ratio": 0.0, "group_by_length": False,
                         "tensorboard": False},
            "generation": {"max_new_tokens": 2, "batch_size": 1},
            "evaluation": {"bertscore": False, "judge": False, "limit": 1}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(name: str, processes: int, threads: int, batch: int, launch_config: str | None, args,
        model: str, train_file: str, work: Path) -> dict:
    config = work / f"{name}.yaml"
    config.write_text(yaml.safe_dump(recipe(model, train_file, batch, args.steps)))
    out = work / name
    train = ["-m", "rdistill", "--quiet", "train", str(config), "--output-dir", str(out)]
    command = [sys.executable, *train] if launch_config is None else [
        sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(ACCELERATE / launch_config),
        "--num_processes", str(processes), "--main_process_port", str(free_port()), *train]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
           "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))}
    load_before, t0 = os.getloadavg(), time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{name} failed:\n{done.stderr[-3000:]}")
    steps = [r for r in map(json.loads, (out / "metrics.jsonl").read_text().splitlines()) if "loss" in r]
    first, last = steps[args.warmup - 1], steps[-1]
    timed = last["step"] - first["step"]
    seconds = last["elapsed_s"] - first["elapsed_s"]
    global_batch = batch * processes
    step_s = [b["elapsed_s"] - a["elapsed_s"] for a, b in zip(steps[args.warmup - 1:], steps[args.warmup:])]
    return {"name": name, "processes": processes, "threads_per_process": threads, "batch_per_process": batch,
            "global_batch": global_batch, "timed_steps": timed, "timed_seconds": round(seconds, 2),
            "examples_per_s": round(global_batch * timed / seconds, 3), "wall_seconds_total": round(wall, 1),
            "step_seconds": [round(x, 2) for x in step_s],
            "loss_first_last": [steps[0]["loss"], last["loss"]],
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="bench/results/ddp_scaling.json")
    parser.add_argument("--batch", type=int, default=4, help="per-process batch of the 2-process run (B)")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=2, help="steps left out of the timing")
    parser.add_argument("--data-file", default="esnli/esnli_valid.json",
                        help="under $RDISTILL_DATA_DIR (default ../shared/data)")
    parser.add_argument("--control", action="store_true", help="also 1 process x 1 thread (batch 2B)")
    parser.add_argument("--note", default="", help="e.g. what else ran on the machine")
    args = parser.parse_args()
    import torch

    # Absolute: the runs start in their own folders, where a relative data root would not resolve.
    data_dir = Path(os.environ.get("RDISTILL_DATA_DIR", "../shared/data")).resolve()
    train_file = str(data_dir / args.data_file)
    with tempfile.TemporaryDirectory(prefix="ddp-scaling-") as tmp:
        work = Path(tmp)
        model, described = student(work)
        runs = [run("cpu-1proc-2threads", 1, 2, 2 * args.batch, None, args, model, train_file, work),
                run("cpu-2proc-1thread", 2, 1, args.batch, "ddp-cpu.yaml", args, model, train_file, work)]
        if args.control:  # is a difference the process split or the 2-thread team?
            runs.append(run("cpu-1proc-1thread", 1, 1, 2 * args.batch, None, args, model, train_file, work))
        gpus = torch.cuda.device_count()
        if gpus:
            runs.append(run("gpu-1", 1, 1, gpus * args.batch, None, args, model, train_file, work))
            if gpus > 1:
                runs.append(run(f"gpu-{gpus}", gpus, 1, args.batch, "ddp-gpu.yaml", args, model, train_file, work))
    cpu = {r["name"]: r["examples_per_s"] for r in runs}
    result = {
        "student": described, "finetune": "LoRA r=16, all linear layers", "data": args.data_file,
        "steps": args.steps, "warmup_steps": args.warmup, "cores": os.cpu_count(), "gpus": gpus,
        "cpu": platform.processor() or platform.machine(), "torch": torch.__version__, "note": args.note,
        "runs": runs,
        "speedup_2proc_vs_1proc": round(cpu["cpu-2proc-1thread"] / cpu["cpu-1proc-2threads"], 3),
    }
    if gpus > 1:
        result[f"speedup_{gpus}gpu_vs_1gpu"] = round(cpu[f"gpu-{gpus}"] / cpu["gpu-1"], 3)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=2))
    for r in runs:
        print(f"{r['name']}: {r['examples_per_s']} examples/s (global batch {r['global_batch']}, "
              f"load {r['loadavg_before'][0]} -> {r['loadavg_after'][0]})")


if __name__ == "__main__":
    main()
