"""Does ``bench/train_step.py`` predict a real run's training loop? Interval by interval.

A finished run's ``metrics.jsonl`` says when each logging step ended (``elapsed_s``); its
config and seed say which batches the loop drew (the train sampler's order comes from the
seed alone: ``EpochSeededLengthGroupedSampler``), so the padded positions of every step can
be rebuilt without a model. The bench's timed steps give seconds per position for the same
recipe on the same machine. Per logging interval: measured seconds vs the bench's rate x the
interval's positions. Intervals in which a dev evaluation or a checkpoint save ran (the
Trainer runs both right after the log line of their step, so they land in the next interval)
are reported apart: they are training's cost, not the step's.

    python bench/loop_vs_run.py RUN_DIR --bench bench/results/train_step.json --output OUT.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
from pathlib import Path

import torch

from rdistill.io import write_json_atomic
from rdistill.methods.rationale.collator import RationaleCollator
from rdistill.methods.rationale.dataset import encode_examples
from rdistill.methods.registry import load_recipe
from rdistill.models import load_tokenizer
from rdistill.tasks.recipe_data import prepare_splits
from rdistill.tasks.registry import get_task
from rdistill.training.arguments import training_arguments
from rdistill.training.run_folder import RunFolder
from rdistill.training.trainer import DistillTrainer


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("run_dir", help="a finished rationale run (decoder-only student)")
    p.add_argument("--bench", required=True, help="bench/train_step.py JSON for the run's recipe")
    p.add_argument("--data-dir", default=os.environ.get("RDISTILL_DATA_DIR"))
    p.add_argument("--output", required=True)
    return p.parse_args(argv)


def step_positions(cfg, data_dir: str | None, steps: int) -> list[int]:
    """Padded positions (``input_ids.numel()``) of each optimizer step the run's loop drew."""
    splits = prepare_splits(cfg, data_dir)
    tokenizer = load_tokenizer(cfg.model.name)
    rows = encode_examples(splits.train, cfg, get_task(cfg.data.dataset), tokenizer, is_seq2seq=False,
                           seed=cfg.seed)
    # The run's own sampler and collator, behind a Trainer that never trains (no model needed).
    args = training_arguments(cfg, Path(tempfile.mkdtemp(prefix="loop-vs-run-")), has_dev=False,
                              group_by_length=cfg.training.group_by_length, disable_tqdm=True)
    trainer = DistillTrainer(model=torch.nn.Linear(1, 1), args=args, train_dataset=rows,
                             data_collator=RationaleCollator(tokenizer.pad_token_id, is_seq2seq=False))
    loader = trainer.get_train_dataloader()
    micro: list[int] = []
    epoch = 0
    while len(micro) < steps * cfg.training.grad_accum:
        loader.set_epoch(epoch)
        micro += [batch["input_ids"].numel() for batch in loader]
        epoch += 1
    accum = cfg.training.grad_accum
    return [sum(micro[i * accum:(i + 1) * accum]) for i in range(steps)]


def run_intervals(metrics_log: Path, save_steps: int | None) -> tuple[list[dict], int]:
    """Logging intervals ``(from, to]`` with their seconds, and whether an evaluation or a save ran
    in them; also the last logged step. ``save_steps`` None: the run saved only when it evaluated
    (a run with dev rows checkpoints at its evaluations)."""
    rows = [json.loads(line) for line in metrics_log.read_text().splitlines() if line.strip()]
    logs = [(r["step"], r["elapsed_s"]) for r in rows if "loss" in r and "elapsed_s" in r]
    evals = {r["step"] for r in rows if any(k.startswith("eval_") for k in r)}
    out = []
    for (a, ta), (b, tb) in zip(logs, logs[1:]):
        out.append({"from": a, "to": b, "seconds": round(tb - ta, 3),
                    "evaluation": any(a <= e < b for e in evals),
                    "save": bool(save_steps) and any(a <= s < b for s in range(save_steps, b, save_steps))})
    return out, logs[-1][0] if logs else 0


def compare(intervals: list[dict], positions: list[int], rate: float) -> dict:
    """Each interval's positions and predicted seconds; totals by kind of interval."""
    for iv in intervals:
        iv["positions"] = sum(positions[iv["from"]:iv["to"]])  # steps from+1 .. to (0-based from..to-1)
        iv["predicted_s"] = round(rate * iv["positions"], 3)
        iv["measured_over_predicted"] = round(iv["seconds"] / iv["predicted_s"], 3)

    def totals(chosen: list[dict]) -> dict | None:
        if not chosen:
            return None
        steps = sum(iv["to"] - iv["from"] for iv in chosen)
        measured, predicted = sum(iv["seconds"] for iv in chosen), sum(iv["predicted_s"] for iv in chosen)
        ratios = [iv["measured_over_predicted"] for iv in chosen]
        return {"intervals": len(chosen), "steps": steps, "measured_step_s": round(measured / steps, 3),
                "predicted_step_s": round(predicted / steps, 3), "measured_over_predicted": round(measured / predicted, 3),
                "ratio_median": round(statistics.median(ratios), 3),
                "ratio_range": [min(ratios), max(ratios)], "positions_per_step": round(
                    sum(iv["positions"] for iv in chosen) / steps)}

    plain = [iv for iv in intervals if not iv["evaluation"] and not iv["save"]]
    seconds = [iv["seconds"] / (iv["to"] - iv["from"]) for iv in plain]
    per_step_positions = [iv["positions"] / (iv["to"] - iv["from"]) for iv in plain]
    return {
        "steps_only": totals(plain),
        "with_saves": totals([iv for iv in intervals if iv["save"] and not iv["evaluation"]]),
        "with_evaluations": totals([iv for iv in intervals if iv["evaluation"]]),
        # How much of the interval-to-interval variation the batches' sizes explain.
        "positions_seconds_correlation": (round(statistics.correlation(per_step_positions, seconds), 3)
                                          if len(plain) > 2 else None),
    }


def bench_rate(bench: dict) -> tuple[float, str]:
    """Seconds per padded position of the bench's timed rdistill steps (a ratio estimator), and
    which timings it came from: the separately timed steps, else trainer.train()'s own."""
    for times, positions, source in (("rdistill_step_s_all", "positions_per_batch", "rdistill steps"),
                                     ("loop_step_s_all", "loop_positions_per_batch", "trainer.train() steps")):
        if bench.get(times) and bench.get(positions) and len(bench[times]) == len(bench[positions]):
            return sum(bench[times]) / sum(bench[positions]), source
    raise SystemExit("the bench JSON has no timed steps with their positions (rdistill_step_s_all + "
                     "positions_per_batch, or loop_step_s_all + loop_positions_per_batch)")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    folder = RunFolder(Path(args.run_dir))
    cfg = load_recipe(folder.config, ["training.precision=fp32"])  # no precision probe: batches only
    bench = json.loads(Path(args.bench).read_text())
    rate, source = bench_rate(bench)
    intervals, last_step = run_intervals(folder.metrics_log, None if cfg.data.dev_size else cfg.training.save_steps)
    positions = step_positions(cfg, args.data_dir, last_step)
    result = {"run": str(args.run_dir), "bench": args.bench, "bench_recipe": bench.get("recipe"),
              "bench_timings": source, "bench_seconds_per_1k_positions": round(1000 * rate, 4),
              **compare(intervals, positions, rate), "intervals": intervals}
    write_json_atomic(args.output, result)
    steps = result["steps_only"]
    print(f"{args.run_dir}: steps between logs without evaluation or save: measured {steps['measured_step_s']} s, "
          f"bench predicts {steps['predicted_step_s']} s (x{steps['measured_over_predicted']}) -> {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
