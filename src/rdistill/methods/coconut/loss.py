"""The COCONUT training loss: token-mean cross-entropy, summed the way transformers sums it."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from rdistill.losses import IGNORE_INDEX


def token_mean_loss(token_losses: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean of ``token_losses`` over positions with a target; 0 (with a graph) when there is none.

    Args:
        token_losses: ``(B, T)`` float CE aligned with ``labels`` (position ``t`` holds the
            loss of predicting ``labels[:, t]`` from position ``t - 1``; 0 where no target).
        labels: ``(B, T)`` target ids, ``-100`` = no target (Hao et al. 2024: question,
            ``<bot>``, thoughts and ``<eot>`` carry none).

    Returns:
        Scalar: sum over targets / number of targets in the batch (one token mean over
        the whole batch, not a mean of row means).

    Why ``nll_loss``: a plain ``.sum() / n`` adds the same numbers in a different order
    than the dense ``cross_entropy(..., ignore_index=-100)`` inside ``model(labels=...)``
    and differs in the last bits. Running ``nll_loss`` over a ``(B*T, 1)`` column laid
    out like transformers' shifted labels reproduces its reduction exactly, so stage 0
    (no thoughts) *is* CoT-SFT, bit for bit.
    """
    targets = F.pad(labels[:, 1:], (0, 1), value=IGNORE_INDEX)  # position t predicts labels[t + 1]
    if not (targets != IGNORE_INDEX).any():
        return token_losses.sum() * 0.0
    per_position = F.pad(token_losses[:, 1:], (0, 1))
    column_target = torch.where(targets != IGNORE_INDEX, 0, IGNORE_INDEX).reshape(-1)
    return F.nll_loss(-per_position.reshape(-1, 1), column_target, ignore_index=IGNORE_INDEX,
                      reduction="mean")
