"""``CoconutTrainer``: a ``DistillTrainer`` whose loss is the continuous-thought forward.

Only ``compute_loss`` is ours; term logging, loss-only evaluation and the accumulation
contract are the base's (``training.trainer``), checkpointing and scheduling the Trainer's.
One Trainer trains one curriculum stage (``stages.train_curriculum``).
"""

from __future__ import annotations

from rdistill.methods.coconut.thoughts import coconut_forward
from rdistill.training.trainer import DistillTrainer


class CoconutTrainer(DistillTrainer):
    """Trains on batches from ``CoconutCollator``; logs ``loss_coconut`` and ``thoughts_per_row``."""

    single_process = "COCONUT training"  # several passes over one KV cache call the inner model

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        # accelerate applies mixed precision to model.forward only; the inner passes need autocast here.
        with self.accelerator.autocast():
            out = coconut_forward(model, inputs["input_ids"], inputs["attention_mask"], inputs["labels"],
                                  inputs["thought_positions"])
        thoughts = inputs["thought_positions"].sum(1).float()
        self.log_term(model, "loss_coconut", out.loss)
        self.log_term(model, "thoughts_per_row", thoughts.sum(), len(thoughts))
        return (out.loss, {"token_losses": out.token_losses}) if return_outputs else out.loss
