"""Run the teacher on encoded rows and cut out what the student learns from.

One function serves both extraction (whose output is stored) and the online mode
(whose output is used at once), so the two give the same numbers for the same batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from rdistill.tasks.latent_layout import distill_positions
from rdistill.losses import IGNORE_INDEX
from rdistill.models.heads import lm_head, unwrap


def pad_right(seqs: list[list[int]], value: int) -> torch.Tensor:
    width = max(len(s) for s in seqs)
    return torch.tensor([s + [value] * (width - len(s)) for s in seqs], dtype=torch.long)


def kd_positions(row: dict) -> list[int]:
    """Positions whose next-token distribution predicts a target token (``t-1`` for each target ``t``)."""
    return [t - 1 for t, label in enumerate(row["labels"]) if label != IGNORE_INDEX and t > 0]


@torch.no_grad()
def teacher_signals(teacher, rows: list[dict], *, layers: list[int], positions: str, top_k: int,
                    temperature: float, pad_token_id: int, full_logits: bool = False) -> list[dict]:
    """Per row: ``hidden`` ``(n, L, H)`` fp32 at the distilled positions (one pooled row for
    ``positions="mean"``), ``offsets`` ``(n, 2)`` int32 character spans; with ``top_k`` also
    ``topk_logprobs`` ``(m, k)`` (log-softmax at ``temperature``), ``topk_ids`` ``(m, k)`` int32
    and ``rest_logmass`` ``(m,)``, for the m target tokens; ``full_logits`` adds ``logits``
    ``(m, V)`` (online KD). Rows are right-padded, so real tokens see no padding.
    """
    device = next(teacher.parameters()).device
    input_ids = pad_right([r["input_ids"] for r in rows], pad_token_id).to(device)
    attention_mask = pad_right([r["attention_mask"] for r in rows], 0).to(device)
    out = unwrap(teacher).base_model(input_ids=input_ids, attention_mask=attention_mask,
                                     output_hidden_states=True, use_cache=False)
    stacked = torch.stack([out.hidden_states[layer] for layer in layers], dim=2)  # (B, T, L, H)
    items = []
    for i, row in enumerate(rows):
        pos = distill_positions(row, positions)
        hidden = stacked[i, pos].float()
        offsets = torch.tensor([row["offsets"][p] for p in pos], dtype=torch.int32).reshape(-1, 2)
        if positions == "mean" and pos:
            hidden = hidden.mean(0, keepdim=True)
            offsets = torch.tensor([[offsets[:, 0].min(), offsets[:, 1].max()]], dtype=torch.int32)
        item = {"hidden": hidden.contiguous().cpu(), "offsets": offsets}
        if top_k or full_logits:
            logits = lm_head(teacher, out.last_hidden_state[i, kd_positions(row)]).float()
            if full_logits:
                item["logits"] = logits.cpu()
            if top_k:
                logprobs = F.log_softmax(logits / temperature, dim=-1)
                values, ids = logprobs.topk(min(top_k, logprobs.shape[-1]), dim=-1)
                # The rest bucket from the full distribution: exact, unlike 1 - sum(rounded top-k).
                rest = torch.log1p(-values.exp().sum(-1).clamp(max=1 - 1e-6))
                item.update(topk_logprobs=values.cpu(), topk_ids=ids.int().cpu(), rest_logmass=rest.cpu())
        items.append(item)
    return items
