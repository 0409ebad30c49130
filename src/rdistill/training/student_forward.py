"""The student's training forward as one ``nn.Module`` call, so that DDP sees it.

DistributedDataParallel all-reduces gradients only for a forward that went through its own
``forward`` (that is where it arms its backward hooks and, with gradient accumulation,
``no_sync``). A loss that calls the inner model directly (the target-only LM head below, the
multi-pass COCONUT forward) would train each rank on its own shard and silently diverge.
So each such forward is a small module holding the student, and ``DistillTrainer`` hands
*that* module to accelerate to wrap (DDP on several processes, itself alone on one); the
student stays ``trainer.model``, saved and evaluated as before. The module adds no
parameter: its ``state_dict`` is the student's, under ``student.``.
"""

from __future__ import annotations

import torch
from torch import nn

from rdistill.losses import IGNORE_INDEX, token_cross_entropy
from rdistill.models.heads import lm_head, unwrap
from rdistill.models.label_head import label_head_of


class StudentForward(nn.Module):
    """Base: holds the student (``self.student``: the transformers or peft model)."""

    def __init__(self, student: nn.Module):
        super().__init__()
        self.student = student


class TargetOnlyLM(StudentForward):
    """A decoder-only student's forward with its LM head applied only where a target is.

    The prompt makes up most of each row and needs no logits: running the 49k-way head on
    target positions alone saves most of its FLOPs and the ``(B, T, V)`` logits tensor.
    Position ``t``'s hidden state predicts ``labels[:, t + 1]``.

    Returns a dict:
        ``token_losses``: ``(B, T)`` float32 CE aligned with ``labels`` (0 where no target, and
            at column 0);
        ``target_logits``: ``(N, V)``, row-major over the positions ``t`` with a target at ``t + 1``;
        ``hidden_states``: the backbone's per-layer states (``output_hidden_states`` layout:
            0 = embeddings, last = after the final norm), or None unless asked for.
    """

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor,
                output_hidden_states: bool = False) -> dict[str, torch.Tensor | tuple | None]:
        out = unwrap(self.student).base_model(input_ids=input_ids, attention_mask=attention_mask,
                                              output_hidden_states=output_hidden_states, use_cache=False)
        targets = labels[:, 1:]
        where = targets != IGNORE_INDEX
        logits = lm_head(self.student, out.last_hidden_state[:, :-1][where])
        token_losses = torch.zeros_like(labels, dtype=torch.float32)
        token_losses[:, 1:][where] = token_cross_entropy(logits, targets[where])
        return {"token_losses": token_losses, "target_logits": logits,
                "hidden_states": out.hidden_states if output_hidden_states else None}


class EncoderLabelSeq2Seq(StudentForward):
    """An encoder-decoder student's forward with its encoder label head (``model.label_head``).

    One pass: the decoder's logits for the target and the head on the encoder's last states,
    so that DDP all-reduces the head's gradient with the student's.

    Returns a dict:
        ``token_losses``: ``(B, T)`` float32 CE aligned with ``labels`` (0 where no target);
        ``label_logits``: ``(B, K)`` the head's scores over the task's K labels.
    """

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, decoder_input_ids: torch.Tensor,
                decoder_attention_mask: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        out = self.student(input_ids=input_ids, attention_mask=attention_mask,
                           decoder_input_ids=decoder_input_ids, decoder_attention_mask=decoder_attention_mask)
        return {"token_losses": token_cross_entropy(out.logits, labels),
                "label_logits": label_head_of(self.student)(out.encoder_last_hidden_state, attention_mask)}
