"""Kill rdistill's long commands with SIGKILL at random points, resume them, and check the result.

For each command (``train``, ``teach``, ``extract``, ``eval``, ``sweep``) in the small offline
world of ``bench/chaos_world.py``:

1. a reference run goes uninterrupted (its wall time ``T`` sets the kill window);
2. each trial starts the command in a fresh output folder, sends SIGKILL to its whole process
   group after a uniform random delay in ``[0.05 T, 0.95 T]``, records what was durably
   complete at the kill, then runs the resume command to the end. A command that finished
   before its kill (the machine got faster than during the reference) sets ``T`` to the time
   it took, so that later kills land inside the run again; it still counts as a trial: a
   finished command must also survive being "resumed";
3. the trial passes when (a) nothing complete at the kill is lost or redone — checkpoints are
   resumed from the newest complete one, cached teacher rows are not asked again, finished cache
   shards and sweep variants are not rewritten — and (b) the resumed result equals the reference
   (same seed): student weights (max |diff|), metrics, teacher rationales, cached hidden states.

    python bench/chaos.py --trials 20 --output bench/results/chaos.json

The JSON holds, per command: trials, passes, kill times, what was complete at each kill, the
largest weight difference seen, and every failure with its reason. Run it on a quiet machine:
all commands run on one thread.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from chaos_world import build_world  # noqa: E402

RDISTILL = [str(Path(sys.executable).with_name("rdistill"))]  # the installed console script
COMMANDS = ("train", "teach", "extract", "eval", "sweep")
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1",
       "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "PYTHONUNBUFFERED": "1"}


@dataclass
class Scenario:
    """How to run, resume and read back one command; ``out`` is the trial's output folder."""
    name: str
    start: list[str]
    resume: list[str] = field(default_factory=list)

    def argv(self, out: Path, resuming: bool) -> list[str]:
        args = self.resume if resuming and self.resume else self.start
        return [*RDISTILL, *[a.replace("{out}", str(out)) for a in args]]


def scenarios(world: dict[str, Path], reference_run: Path) -> dict[str, Scenario]:
    return {
        "train": Scenario("train", ["train", str(world["train"]), "--output-dir", "{out}"],
                          ["train", str(world["train"]), "--output-dir", "{out}", "--resume"]),
        "teach": Scenario("teach", ["teach", str(world["teach"]), "--output-dir", "{out}"]),
        "extract": Scenario("extract", ["extract", str(world["extract"]), "--output-dir", "{out}"]),
        "eval": Scenario("eval", ["eval", str(reference_run), "--data-file", str(world["rows"]),
                                  "--limit", "48", "--no-judge", "--output", "{out}/metrics.json"]),
        "sweep": Scenario("sweep", ["sweep", str(world["sweep"]), "--output-dir", "{out}"]),
    }


def run(argv: list[str], log: Path, timeout: float = 900) -> tuple[int, float]:
    log.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    with log.open("a") as f:
        rc = subprocess.run(argv, stdout=f, stderr=subprocess.STDOUT, env=ENV, timeout=timeout).returncode
    return rc, time.monotonic() - t0


def run_and_kill(argv: list[str], log: Path, delay: float) -> tuple[bool, float]:
    """Start ``argv`` in its own process group and SIGKILL the group after ``delay`` seconds;
    (True when the kill landed, i.e. the command was still running; seconds it ran)."""
    t0 = time.monotonic()
    with log.open("a") as f:
        proc = subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT, env=ENV, start_new_session=True)
        try:
            proc.wait(timeout=delay)
            return False, time.monotonic() - t0
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return True, time.monotonic() - t0


# ---- what is durably complete in an output folder (read at the kill) ----

def complete_checkpoints(folder: Path) -> list[int]:
    steps = []
    for ckpt in folder.glob("**/checkpoints/checkpoint-*"):
        try:
            json.loads((ckpt / "trainer_state.json").read_text())
            steps.append(int(ckpt.name.rsplit("-", 1)[1]))
        except (OSError, ValueError):
            pass
    return sorted(steps)


def file_stamps(folder: Path, pattern: str) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.stat().st_size)
            for p in sorted(folder.glob(pattern)) if p.is_file()}


def teacher_done(folder: Path) -> int:
    db = folder / "teacher_cache.sqlite"
    if not db.is_file():
        return 0
    with sqlite3.connect(db) as con:  # the cache's own table: rows whose answer is stored
        return con.execute("SELECT COUNT(*) FROM requests WHERE status = 'done'").fetchone()[0]


def at_kill(name: str, out: Path) -> dict:
    if name == "train":
        return {"checkpoints": complete_checkpoints(out), "finished": (out / "summary.json").is_file()}
    if name == "teach":
        return {"rows_done": teacher_done(out)}
    if name == "extract":
        return {"shards_done": file_stamps(out, "*.json")}
    if name == "sweep":
        return {"variants_done": file_stamps(out, "runs/*/summary.json")}
    return {"outputs": file_stamps(out, "*.json")}


# ---- the result of a finished command, to compare with the reference ----

def weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return {f"{p.relative_to(folder)}:{k}": v for p in sorted(folder.glob("**/student/*.safetensors"))
            for k, v in load_file(p).items()}


def result(name: str, out: Path) -> dict:
    if name in ("train", "sweep"):
        summaries = {str(p.relative_to(out)): json.loads(p.read_text())["eval"]
                     for p in sorted(out.glob("**/summary.json"))}
        return {"weights": weights(out), "metrics": summaries}
    if name == "teach":
        rows = [json.loads(line) for line in (out / "rationales.jsonl").read_text().splitlines()]
        return {"rationales": sorted((r["uid"], r.get("rationale"), r.get("label")) for r in rows)}
    if name == "extract":
        from safetensors.torch import load_file

        return {"weights": {f"{p.name}:{k}": v for p in sorted(out.glob("*.safetensors"))
                            for k, v in load_file(p).items()}}
    metrics = json.loads((out / "metrics.json").read_text())
    return {"metrics": {k: v for k, v in metrics.items() if "second" not in k and "time" not in k}}


def compare(ref: dict, got: dict) -> tuple[list[str], float]:
    problems, worst = [], 0.0
    for key, ref_value in ref.items():
        if key == "weights":
            if set(ref_value) != set(got[key]):
                problems.append(f"tensors differ: {sorted(set(ref_value) ^ set(got[key]))[:4]}")
                continue
            for name, tensor in ref_value.items():
                worst = max(worst, float((tensor.float() - got[key][name].float()).abs().max()))
            if worst > 1e-5:
                problems.append(f"weights differ from the reference by up to {worst:.3g}")
        elif ref_value != got[key]:
            problems.append(f"{key} differ from the reference")
    return problems, worst


def nothing_lost(name: str, before: dict, out: Path, log_text: str) -> list[str]:
    """Problems with what was complete at the kill, judged after the resume."""
    if name == "train" and before["finished"]:
        if "train + evaluate: complete, skipped" not in log_text:
            return ["a run finished before the kill was run again"]
    elif name == "train" and before["checkpoints"]:
        newest = max(before["checkpoints"])
        if f"resuming from {out / 'checkpoints' / f'checkpoint-{newest}'}" not in log_text:
            return [f"did not resume from checkpoint-{newest}, the newest complete one at the kill"]
    if name == "teach" and before["rows_done"]:
        asked = re.findall(r"(\d+) cached, \d+ to ask", log_text)
        cached = int(asked[-1]) if asked else 0
        if cached < before["rows_done"]:
            return [f"{before['rows_done']} rows were done at the kill, only {cached} reused"]
    if name in ("extract", "sweep"):
        key = "shards_done" if name == "extract" else "variants_done"
        after = file_stamps(out, "*.json" if name == "extract" else "runs/*/summary.json")
        redone = [f for f, stamp in before[key].items() if after.get(f) != stamp and f != "manifest.json"]
        if redone:
            return [f"rewritten although complete at the kill: {redone[:3]}"]
    if name == "eval":
        for f in before["outputs"]:
            try:
                json.loads((out / f).read_text())
            except ValueError:
                return [f"{f} was left truncated"]
    return []


def trial(scenario: Scenario, reference: dict, ref_seconds: float, rng: random.Random, work: Path) -> dict:
    out = work / "out"
    log = work / "log.txt"
    delay = rng.uniform(0.05, 0.95) * ref_seconds
    killed, ran_s = run_and_kill(scenario.argv(out, resuming=False), log, delay)
    before = at_kill(scenario.name, out) if out.exists() else {}
    # Read what the kill left in the log first: the resume's own lines come after it.
    offset = log.stat().st_size
    rc, _ = run(scenario.argv(out, resuming=True), log)
    log_text = log.read_bytes()[offset:].decode(errors="replace")
    record = {"delay_s": round(delay, 2), "ran_s": round(ran_s, 2), "killed": killed, "at_kill": _summarise(before), "resume_rc": rc}
    problems = [f"resume exited {rc}: {log_text.strip().splitlines()[-1:]}"] if rc else []
    if not rc:
        problems += nothing_lost(scenario.name, before, out, log_text) if before else []
        diff, worst = compare(reference, result(scenario.name, out))
        problems += diff
        record["max_weight_diff"] = worst
    record["problems"] = problems
    return record


def _summarise(before: dict) -> dict:
    return {k: (len(v) if isinstance(v, dict) else v) for k, v in before.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--trials", type=int, default=20, help="kills per command")
    p.add_argument("--commands", default=",".join(COMMANDS), help=f"comma-separated, of {COMMANDS}")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--work-dir", help="where the world and the trial folders go (default: a temp folder)")
    p.add_argument("--output", required=True, help="JSON summary to write")
    args = p.parse_args(argv)
    commands = [c for c in args.commands.split(",") if c]
    unknown = sorted(set(commands) - set(COMMANDS))
    if unknown:
        p.error(f"--commands: unknown {unknown}; choose from {COMMANDS}")
    work = Path(args.work_dir or tempfile.mkdtemp(prefix="rdistill-chaos-"))
    world = build_world(work / "world")
    reference_run = work / "reference" / "train"
    rng = random.Random(args.seed)
    summary = {"trials_per_command": args.trials, "seed": args.seed, "commands": {}}
    references: dict[str, tuple[dict, float]] = {}
    plan = scenarios(world, reference_run)
    for name in (["train"] if "eval" in commands and "train" not in commands else []) + commands:
        if name in references:
            continue
        out = work / "reference" / name
        rc, seconds = run(plan[name].argv(out, resuming=False), work / "reference" / f"{name}.log")
        if rc:
            raise SystemExit(f"chaos: the reference {name} run failed (exit {rc}); see {work}/reference/{name}.log")
        references[name] = (result(name, out), seconds)
    for name in commands:
        reference, seconds = references[name]
        window, records = seconds, []
        for i in range(args.trials):
            folder = work / "trials" / name / f"{i:02d}"
            folder.mkdir(parents=True, exist_ok=True)
            records.append(trial(plan[name], reference, window, rng, folder))
            if not records[-1]["killed"]:  # it finished sooner than the window: shrink the window
                window = min(window, records[-1]["ran_s"])
            print(f"{name} {i + 1}/{args.trials}: killed={records[-1]['killed']} "
                  f"problems={records[-1]['problems']}", flush=True)
        summary["commands"][name] = {
            "reference_s": round(seconds, 2), "trials": len(records),
            "killed": sum(r["killed"] for r in records),
            "killed_with_progress": sum(r["killed"] and any(r["at_kill"].values()) for r in records),
            "passed": sum(not r["problems"] for r in records),
            "max_weight_diff": max((r.get("max_weight_diff", 0.0) for r in records), default=0.0),
            "records": records,
        }
    from rdistill.io import write_json_atomic

    write_json_atomic(args.output, summary)
    failed = {n: c["trials"] - c["passed"] for n, c in summary["commands"].items() if c["passed"] < c["trials"]}
    print(f"chaos: {args.output}; " + (f"FAILED {failed}" if failed else "every trial passed"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
