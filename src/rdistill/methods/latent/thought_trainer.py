"""``ThoughtTrainer``: ``alpha * L_distill + (1 - alpha) * L_task`` for a student distilled from a
COCONUT teacher's thoughts (``latent.teacher_kind: coconut``).

The student's forward is the COCONUT one (``coconut.thoughts.continuous_hidden``: each
thought's input is the previous position's last hidden state, through one KV cache), with
every layer kept; with no thoughts (``student_reasoning: direct``) it is a single plain pass.
``L_task`` is the token-mean CE on ``### answer <eos>``; ``L_distill`` is
``LatentTrainer._latent_loss`` on the rows ``thought_rows.thought_batch`` laid out
(``losses.hidden_state_loss`` over the layer pairs, projected when sizes differ).
Projection ownership, optimisation and saving are ``LatentTrainer``'s.
"""

from __future__ import annotations

import torch

from rdistill.losses import IGNORE_INDEX, token_cross_entropy
from rdistill.methods.coconut.thoughts import continuous_hidden
from rdistill.methods.latent.trainer import LatentTrainer
from rdistill.models.heads import lm_head
from rdistill.training.student_forward import StudentForward


class ThoughtForward(StudentForward):
    """The student's COCONUT forward, every layer kept, and its LM head on target positions, as one
    module call (so DDP's wrapper sees every pass): ``{"hidden_states", "target_logits"}``."""

    def forward(self, input_ids, attention_mask, labels, thought_positions) -> dict:
        states, _ = continuous_hidden(self.student, input_ids, attention_mask, thought_positions, all_layers=True)
        where = labels[:, 1:] != IGNORE_INDEX
        return {"hidden_states": states, "target_logits": lm_head(self.student, states[-1][:, :-1][where])}


class ThoughtTrainer(LatentTrainer):
    """Trains on ``ThoughtCollator`` batches; logs ``loss_task`` and ``loss_distill``."""

    forward_class = ThoughtForward

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        input_ids, labels = inputs["input_ids"], inputs["labels"]
        out = self.run_forward(model, input_ids=input_ids, attention_mask=inputs["attention_mask"],
                               labels=labels, thought_positions=inputs["thought_positions"])
        states, logits = out["hidden_states"], out["target_logits"]
        where = labels[:, 1:] != IGNORE_INDEX
        task_loss = token_cross_entropy(logits, labels[:, 1:][where]).mean() if where.any() else logits.sum() * 0
        distill = torch.zeros((), device=task_loss.device)
        if model.training:
            distill = self._latent_loss(states, inputs, input_ids.shape[0], input_ids.shape[1])
        loss = self.alpha * distill + (1 - self.alpha) * task_loss if model.training else task_loss
        self.log_term(model, "loss_task", task_loss)
        if model.training:
            self.log_term(model, "loss_distill", distill)
        return (loss, {"task_loss": task_loss, "distill_loss": distill}) if return_outputs else loss
