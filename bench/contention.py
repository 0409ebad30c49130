"""Training beside another torch job: alone vs beside a one-thread torch neighbour, before and after.

The neighbour is what an evaluation or a second run does: matmuls on one torch thread
(``F.linear`` of a 64-token batch through SmolLM2-sized layers, as decoding does), started
in its own session (``setsid``) at ``nice 15``, as a job launched from another terminal is.
With the kernel's autogroup scheduling (``/proc/sys/kernel/sched_autogroup_enabled``) nice
only ranks processes *within* a session, so the niced neighbour still takes its fair share
of a core. The trainer is ``bench/train_step.py --loop-only``: the recipe's own
``trainer.train()`` for a few steps, seconds per step. Scenarios, one after another:

- ``alone``: the trainer on torch's default threads (one per core), nothing beside it;
- ``alone_auto``: the same with ``training.num_threads: auto`` (on a quiet machine, the
  same threads as ``alone``; on a shared one, fewer);
- ``before``: the same beside the neighbour (the old default: ``num_threads`` unset);
- ``after``: beside the neighbour with ``training.num_threads: auto`` (the new default),
  which counts the neighbour's core as taken;
- ``neighbour_alone``: the neighbour's own rate with nothing beside it.

Each scenario's slowdown is its median step over ``alone``'s; the neighbour's matmul rate
in each says what it got meanwhile. The cause the numbers show: torch's threads meet at a
barrier after every operator; 2 threads on 2 cores beside a third busy thread means one
of them is time-sliced, and every barrier waits for it.

    python bench/contention.py --output bench/results/contention.json
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--output", help="JSON file to write")
    p.add_argument("--role", choices=("bench", "neighbour"), default="bench", help=argparse.SUPPRESS)
    p.add_argument("--report", help=argparse.SUPPRESS)
    p.add_argument("--recipe", default=str(HERE.parent / "configs" / "esnli-smollm2-lora.yaml"))
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--steps", type=int, default=3, help="timed training steps per scenario")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--neighbour-nice", type=int, default=15)
    p.add_argument("--neighbour-seconds", type=float, default=8.0,
                   help="how long the neighbour runs alone (its baseline rate)")
    p.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto",
                   help="one precision for every scenario (auto: chosen once, here, on the free cores)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="recipe override passed to the trainer (repeatable)")
    args = p.parse_args(argv)
    if args.role == "bench" and not args.output:
        p.error("--output is required")
    return args


def neighbour(report: str) -> int:
    """Matmuls on one thread until SIGTERM; then ``{"calls", "seconds"}`` to ``report``."""
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(1)
    x, w_up, w_down = torch.randn(64, 576), torch.randn(1536, 576), torch.randn(576, 1536)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    Path(report + ".ready").touch()
    calls, t0 = 0, time.perf_counter()
    while not stop:
        F.linear(F.linear(x, w_up), w_down)
        calls += 1
    Path(report).write_text(json.dumps({"calls": calls, "seconds": time.perf_counter() - t0}))
    return 0


class Neighbour:
    """The neighbour process: its own session, niced, one torch thread."""

    def __init__(self, nice: int, workdir: Path, name: str) -> None:
        self.report = workdir / f"{name}.json"
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        self.proc = subprocess.Popen(
            ["nice", "-n", str(nice), sys.executable, __file__, "--role", "neighbour", "--report",
             str(self.report)], env=env, start_new_session=True)
        # Busy (torch imported, handler set) before anything is timed beside it.
        ready, deadline = Path(f"{self.report}.ready"), time.monotonic() + 300
        while not ready.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the neighbour process did not start (exit code {self.proc.poll()})")
            time.sleep(0.05)

    def stop(self) -> dict:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)
        out = json.loads(self.report.read_text())
        out["calls_per_s"] = round(out["calls"] / out["seconds"], 2)
        return out


def busy_cores_now(seconds: float = 0.5) -> float | None:
    from rdistill.training.threads import allowed_cpus, busy_cores

    return busy_cores(allowed_cpus(), seconds)


def shared_precision(args: argparse.Namespace) -> str:
    """The precision all scenarios use, so that they differ in their threads alone (a probe run
    on threads that share a core with the neighbour measures the convoy, not the arithmetic)."""
    if args.precision != "auto":
        return args.precision
    import torch

    from rdistill.methods.registry import load_recipe
    from rdistill.training.precision import resolve_precision
    from rdistill.training.threads import choose_threads

    cfg = load_recipe(args.recipe, [*args.overrides, f"training.batch_size={args.batch_size}"])
    torch.set_num_threads(choose_threads("auto").threads)
    return resolve_precision(cfg).choice


def train(args: argparse.Namespace, workdir: Path, name: str, num_threads: str) -> dict:
    """The trainer's loop in a child process; its JSON (``loop_step_s`` ...)."""
    out = workdir / f"{name}.json"
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}  # torch's own default
    cmd = [sys.executable, str(HERE / "train_step.py"), "--output", str(out), "--loop-only",
           "--recipe", args.recipe,
           "--batch-size", str(args.batch_size), "--steps", str(args.steps), "--warmup", str(args.warmup),
           "--train-rows", "200", "--set", f"training.num_threads={num_threads}",
           "--set", f"training.precision={args.precision}"]
    for o in args.overrides:
        cmd += ["--set", o]
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    result = json.loads(out.read_text())
    result["wall_s"] = round(time.perf_counter() - t0, 1)
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.role == "neighbour":
        return neighbour(args.report)
    from rdistill.io import write_json_atomic

    workdir = Path(tempfile.mkdtemp(prefix="bench-contention-"))
    scenarios: dict[str, dict] = {}
    load_before = {"busy_cores": busy_cores_now(), "load_avg_1m": round(os.getloadavg()[0], 2)}
    args.precision = shared_precision(args)
    scenarios["alone"] = train(args, workdir, "alone", "null")
    scenarios["alone_auto"] = train(args, workdir, "alone_auto", "auto")
    for name, threads in (("before", "null"), ("after", "auto")):
        n = Neighbour(args.neighbour_nice, workdir, f"neighbour_{name}")
        time.sleep(1.0)  # the neighbour has been busy a while when the run samples the load
        scenarios[name] = train(args, workdir, name, threads)
        scenarios[name]["neighbour"] = n.stop()
    n = Neighbour(args.neighbour_nice, workdir, "neighbour_alone")
    time.sleep(args.neighbour_seconds)
    scenarios["neighbour_alone"] = {"neighbour": n.stop()}

    alone = scenarios["alone"]["loop_step_s"]
    ratio = lambda s: round(scenarios[s]["loop_step_s"] / alone, 3)  # noqa: E731
    base_rate = scenarios["neighbour_alone"]["neighbour"]["calls_per_s"]
    autogroup = Path("/proc/sys/kernel/sched_autogroup_enabled")
    result = {
        "alone_step_s": alone,
        "before_step_s": scenarios["before"]["loop_step_s"],
        "after_step_s": scenarios["after"]["loop_step_s"],
        "alone_auto_step_s": scenarios["alone_auto"]["loop_step_s"],
        "slowdown_before": ratio("before"), "slowdown_after": ratio("after"),
        # The neighbour's cost to a run on the new default: beside it vs without it.
        "after_over_alone_auto": round(scenarios["after"]["loop_step_s"]
                                       / scenarios["alone_auto"]["loop_step_s"], 3),
        "threads": {s: scenarios[s]["torch_threads"] for s in ("alone", "alone_auto", "before", "after")},
        "neighbour_rate_share": {s: round(scenarios[s]["neighbour"]["calls_per_s"] / base_rate, 3)
                                 for s in ("before", "after")},
        "scenarios": scenarios,
        "precision": args.precision,
        "neighbour_nice": args.neighbour_nice,
        "sched_autogroup_enabled": autogroup.read_text().strip() if autogroup.is_file() else None,
        "batch_size": args.batch_size, "steps": args.steps, "warmup": args.warmup,
        "recipe": args.recipe, "overrides": args.overrides,
        "machine_before": load_before,
        "cpu_count": os.cpu_count(),
        "allowed_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
    }
    write_json_atomic(args.output, result)
    print(f"alone {alone:.2f} s/step | beside a torch neighbour: before {result['before_step_s']:.2f} s "
          f"({result['slowdown_before']}x, {result['threads']['before']} threads), after "
          f"{result['after_step_s']:.2f} s ({result['slowdown_after']}x, {result['threads']['after']} "
          f"threads) -> {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
