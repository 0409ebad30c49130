"""Callbacks that only observe: a metrics.jsonl file and one compact log line per log step."""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

from transformers import TrainerCallback
from transformers.trainer_callback import ProgressCallback

from rdistill.errors import TrainingError
from rdistill.io import dumps_strict

log = logging.getLogger("rdistill.train")


class MetricsLogCallback(TrainerCallback):
    """Appends every Trainer log dict to ``metrics.jsonl`` and logs a one-line summary."""

    def __init__(self, path: Path):
        self.path = path
        self._t0 = time.perf_counter()

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        record = {"step": state.global_step, "epoch": round(state.epoch or 0.0, 4),
                  "elapsed_s": round(time.perf_counter() - self._t0, 1), **logs}
        with self.path.open("a", encoding="utf-8") as f:
            f.write(dumps_strict(record) + "\n")
        log.info(self.format_line(record))

    @staticmethod
    def format_line(r: dict) -> str:
        def terms(prefix: str) -> str:
            parts = [f"{name} {r[prefix + key]:.3f}" for name, key in (("label", "loss_label"),
                                                                       ("expl", "loss_expl"))
                     if prefix + key in r]
            return f" ({', '.join(parts)})" if parts else ""

        if "eval_loss" in r:
            acc = r.get("eval_label_accuracy")
            acc_s = f" | dev acc {acc:.3f}" if acc is not None else ""
            return f"step {r['step']} | eval loss {r['eval_loss']:.3f}{terms('eval_')}{acc_s}"
        if "loss" in r:
            return (f"step {r['step']} | loss {r['loss']:.3f}{terms('')} | lr {r.get('learning_rate', 0):.2e}"
                    f" | {r['elapsed_s']:.0f}s")
        return " | ".join(f"{k} {v}" for k, v in r.items())


class QuietProgressCallback(ProgressCallback):
    """The Trainer's tqdm bar (rate, ETA) without its raw log dicts: MetricsLogCallback logs those."""

    def on_log(self, args, state, control, logs=None, **kwargs):
        return


class StopOnNonFiniteLoss(TrainerCallback):
    """Stops training at the first logged non-finite loss (or loss term), naming the step and the
    terms; checkpoints written before it stay, so ``--resume`` restarts from the last good one.

    Checked at the logging cadence, when the losses reach the host anyway (``logging_steps``).
    """

    def on_log(self, args, state, control, logs=None, **kwargs):
        losses = {k: v for k, v in (logs or {}).items()
                  if "loss" in k and isinstance(v, float) and not math.isfinite(v)}
        if losses:
            terms = ", ".join(f"{k}={v}" for k, v in sorted((logs or {}).items()) if "loss" in k)
            last = state.best_model_checkpoint or "none yet"
            raise TrainingError(f"step {state.global_step}: the loss is not finite ({terms}); training "
                                f"stopped (check loss weights, learning rate and data); checkpoints written "
                                f"so far are kept in {args.output_dir} (best: {last})")
