"""``CoconutTrainer``: a ``transformers.Trainer`` whose loss is the continuous-thought forward.

Only ``compute_loss`` is ours (plus merging its logged terms into the Trainer's log
line); checkpointing, resuming, accumulation, scheduling and logging are the Trainer's.
One Trainer trains one curriculum stage (``stages.train_curriculum``).
"""

from __future__ import annotations

from collections import defaultdict

import torch
from transformers import Trainer

from rdistill.methods.coconut.thoughts import coconut_forward


class CoconutTrainer(Trainer):
    """Trains on batches from ``CoconutCollator``; logs ``loss_coconut`` and ``thoughts_per_row``."""

    # compute_loss returns the micro-batch token mean, so the Trainer divides by accumulation steps.
    loss_is_scaled_for_ga = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # coconut_forward calls the inner model (several passes over one KV cache), which
        # bypasses DDP's forward and hence its gradient all-reduce: refuse rather than diverge.
        if self.accelerator.num_processes > 1:
            raise ValueError("COCONUT training runs in one process; launch without torchrun/accelerate")
        self._terms: dict[str, list[torch.Tensor]] = defaultdict(list)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        # accelerate applies mixed precision to model.forward only; the inner passes need autocast here.
        with self.accelerator.autocast():
            out = coconut_forward(model, inputs["input_ids"], inputs["attention_mask"], inputs["labels"],
                                  inputs["thought_positions"])
        prefix = "train" if model.training else "eval"
        with torch.no_grad():
            thoughts = inputs["thought_positions"].sum(1).float()
            self._terms[f"{prefix}_loss_coconut"].append(torch.stack([out.loss.detach().float(),
                                                                      torch.ones((), device=thoughts.device)]))
            self._terms[f"{prefix}_thoughts_per_row"].append(torch.stack([thoughts.sum(),
                                                                          thoughts.new_tensor(len(thoughts))]))
        return (out.loss, {"token_losses": out.token_losses}) if return_outputs else out.loss

    def prediction_step(self, model, inputs, prediction_loss_only, ignore_keys=None):
        with torch.no_grad():
            loss = self.compute_loss(model, inputs)
        return loss.detach(), None, None

    def log(self, logs: dict[str, float], *args, **kwargs) -> None:
        # Terms are averaged over the micro-batches since the last log line.
        prefix = "eval" if any(k.startswith("eval_") for k in logs) else "train"
        for key in [k for k in self._terms if k.startswith(prefix)]:
            total, count = torch.stack(self._terms.pop(key)).sum(0).tolist()
            name = key if prefix == "eval" else key[len("train_"):]
            if count:
                logs[name] = round(total / count, 4)
        super().log(logs, *args, **kwargs)
