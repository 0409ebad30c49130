"""The COCONUT forward: continuous thoughts fed back through successive passes over a KV cache.

A thought position takes as input embedding the last-layer hidden state (after the
final norm) of the position before it (Hao et al. 2024, section 3). That hidden state
only exists once the positions before it have run, so the sequence is cut at every
thought column:

    pass 0: [0, p_0)          the prefix, up to and including <bot>
    pass j: [p_{j-1}, p_j)    thought j-1 alone; its input is pass j-1's last hidden state
    pass N: [p_{N-1}, T)      the last thought and everything after it

Each pass appends to the KV cache of the ones before, so a row costs N + 1 backbone
calls but no recomputation, and autograd follows the cache: the loss reaches every
thought, every earlier hidden state and the prefix. With no thoughts there is a single
pass, i.e. exactly the plain CoT-SFT forward.

Cuts are per *column*: rows are expected to be aligned (``<bot>`` at the same index,
see ``CoconutCollator``) so that the j-th thought of every row sits in one column. A row
with fewer thoughts keeps its token embedding in the later thought columns.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rdistill.losses import IGNORE_INDEX, token_cross_entropy
from rdistill.methods.coconut.loss import token_mean_loss
from rdistill.models.heads import lm_head, unwrap


@dataclass
class CoconutOutput:
    """``loss``: token-mean CE over targets (scalar); ``token_losses``: ``(B, T)`` aligned with
    ``labels`` (0 where no target); ``target_logits``: ``(N_targets, V)``, row-major over the
    positions with a target; ``n_passes``: backbone calls made."""

    loss: torch.Tensor
    token_losses: torch.Tensor
    target_logits: torch.Tensor
    n_passes: int


def position_ids_from_mask(attention_mask: torch.Tensor) -> torch.Tensor:
    """``(B, T)`` positions counting only attended tokens, so a left-padded row starts at 0."""
    return (attention_mask.long().cumsum(-1) - 1).clamp(min=0)


def thought_mask_from_positions(thought_positions: torch.Tensor, seq_len: int) -> torch.Tensor:
    """``(B, N)`` long positions (``-1`` = none) -> ``(B, T)`` bool mask."""
    mask = torch.zeros(thought_positions.shape[0], seq_len + 1, dtype=torch.bool,
                       device=thought_positions.device)
    index = torch.where(thought_positions >= 0, thought_positions, seq_len)
    mask.scatter_(1, index, True)
    return mask[:, :seq_len]


def continuous_hidden(model, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                      thought_mask: torch.Tensor, *, all_layers: bool = False):
    """Last hidden states ``(B, T, H)`` with thoughts fed back; also the number of passes.

    ``all_layers=True`` returns every layer instead of the last, as ``output_hidden_states``
    lays them out (a tuple: 0 = embeddings, ``l`` = block ``l``, the last after the final
    norm), each ``(B, T, H)`` over the whole sequence: what latent distillation reads.

    Args:
        input_ids: ``(B, T)``; ids at thought positions are placeholders (never embedded
            into the result).
        attention_mask: ``(B, T)``, 0 on padding (left and/or right).
        thought_mask: ``(B, T)`` bool, True where the input is the previous position's
            last hidden state. Column 0 cannot be a thought.
    """
    if thought_mask.shape != input_ids.shape:
        raise ValueError(f"thought_mask {tuple(thought_mask.shape)} must match input_ids {tuple(input_ids.shape)}")
    if thought_mask[:, 0].any():
        raise ValueError("position 0 cannot be a thought: it has no previous hidden state")
    if (thought_mask & (attention_mask == 0)).any():
        raise ValueError("a thought sits on a padded position")
    base = unwrap(model)
    backbone = base.base_model
    embeds = base.get_input_embeddings()(input_ids)
    positions = position_ids_from_mask(attention_mask)
    seq_len = input_ids.shape[1]
    columns = thought_mask.any(0).nonzero().flatten().tolist()
    cuts = [0, *columns, seq_len]
    hiddens: list[torch.Tensor] = []
    layers: list[tuple[torch.Tensor, ...]] = []
    cache = None
    for start, end in zip(cuts[:-1], cuts[1:]):
        chunk = embeds[:, start:end]
        if hiddens:  # `start` is a thought column: rows with a thought there take the fed-back state
            fed = torch.where(thought_mask[:, start, None], hiddens[-1][:, -1].to(chunk.dtype), chunk[:, 0])
            chunk = torch.cat([fed[:, None], chunk[:, 1:]], dim=1)
        out = backbone(inputs_embeds=chunk, attention_mask=attention_mask[:, :end],
                       position_ids=positions[:, start:end], cache=cache, use_cache=end < seq_len,
                       output_hidden_states=all_layers)
        cache = out.cache
        hiddens.append(out.last_hidden_state)
        if all_layers:
            layers.append(out.hidden_states)
    if all_layers:
        return tuple(torch.cat(per_pass, dim=1) for per_pass in zip(*layers)), len(hiddens)
    return torch.cat(hiddens, dim=1) if len(hiddens) > 1 else hiddens[0], len(hiddens)


def coconut_forward(model, input_ids: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor,
                    thought_positions: torch.Tensor) -> CoconutOutput:
    """Per-token CE of a decoder-only model that reasons in continuous thoughts.

    Args:
        input_ids, attention_mask, labels: ``(B, T)``; labels ``-100`` where no target
            (question, ``<bot>``, thoughts, ``<eot>``, padding), not yet shifted.
        thought_positions: ``(B, T)`` bool mask of thought positions, or ``(B, N)`` long
            positions padded with ``-1``.

    Position ``t``'s hidden state predicts ``labels[:, t + 1]``; the LM head runs only on
    positions with a target. Loss: ``token_mean_loss`` (the token mean ``model(..., labels=...)``
    gives, bit for bit), so zero thoughts reproduce CoT-SFT exactly.
    """
    if thought_positions.dtype != torch.bool:
        thought_positions = thought_mask_from_positions(thought_positions, input_ids.shape[1])
    hidden, n_passes = continuous_hidden(model, input_ids, attention_mask, thought_positions)
    targets = labels[:, 1:]
    where = targets != IGNORE_INDEX
    target_logits = lm_head(model, hidden[:, :-1][where])
    token_losses = torch.zeros_like(labels, dtype=torch.float32)
    token_losses[:, 1:][where] = token_cross_entropy(target_logits, targets[where])
    loss = token_mean_loss(token_losses, labels)
    return CoconutOutput(loss=loss, token_losses=token_losses, target_logits=target_logits, n_passes=n_passes)
