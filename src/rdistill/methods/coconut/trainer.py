"""``CoconutTrainer``: a ``DistillTrainer`` whose loss is the continuous-thought forward.

Only ``compute_loss`` is ours; term logging, loss-only evaluation and the accumulation
contract are the base's (``training.trainer``), checkpointing and scheduling the Trainer's.
One Trainer trains one curriculum stage (``stages.train_curriculum``).
"""

from __future__ import annotations

from rdistill.methods.coconut.thoughts import coconut_forward
from rdistill.training.student_forward import StudentForward
from rdistill.training.trainer import DistillTrainer


class CoconutForward(StudentForward):
    """The multi-pass COCONUT forward (``thoughts.coconut_forward``) as one module call: every pass
    over the KV cache runs inside it, so DDP's wrapper sees one forward and all-reduces the
    gradients of all passes (a parameter used by several passes gets their sum, as in one process)."""

    def forward(self, input_ids, attention_mask, labels, thought_positions) -> dict:
        out = coconut_forward(self.student, input_ids, attention_mask, labels, thought_positions)
        return {"loss": out.loss, "token_losses": out.token_losses}


class CoconutTrainer(DistillTrainer):
    """Trains on batches from ``CoconutCollator``; logs ``loss_coconut`` and ``thoughts_per_row``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, student_forward=CoconutForward, **kwargs)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        out = self.run_forward(model, input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"],
                               labels=inputs["labels"], thought_positions=inputs["thought_positions"])
        thoughts = inputs["thought_positions"].sum(1).float()
        self.log_term(model, "loss_coconut", out["loss"])
        self.log_term(model, "thoughts_per_row", thoughts.sum(), len(thoughts))
        return (out["loss"], {"token_losses": out["token_losses"]}) if return_outputs else out["loss"]
