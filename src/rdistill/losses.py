"""Loss functions: pure functions of tensors, no model or config in sight."""

from __future__ import annotations

import torch
import torch.nn.functional as F

IGNORE_INDEX = -100


def token_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Per-token cross-entropy, 0 where ``labels == -100``.

    Args:
        logits: ``(N, V)`` or ``(B, T, V)`` unnormalised scores, already aligned
            with ``labels`` (decoder-only callers shift by one beforehand).
        labels: ``(N,)`` or ``(B, T)`` target ids, ``-100`` marks no target.

    Returns:
        Tensor of ``labels``' shape, float32 (computed in fp32 so bf16 logits do
        not lose the small differences that matter near convergence).
    """
    flat = F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]).float(),
        labels.reshape(-1),
        ignore_index=IGNORE_INDEX,
        reduction="none",
    )
    return flat.view(labels.shape)


def span_mean(token_losses: torch.Tensor, span_ids: torch.Tensor, span: int) -> torch.Tensor:
    """Mean of ``token_losses`` over the tokens whose ``span_ids == span``; 0 if there are none.

    Shapes: ``token_losses`` and ``span_ids`` alike, ``(B, T)`` or ``(N,)``.
    Normalising each span by its own token count keeps a long explanation from
    swamping the one- or two-token label (measured on e-SNLI: an unweighted
    token-summed loss lost 8 points of label accuracy).
    """
    mask = span_ids == span
    count = mask.sum()
    total = (token_losses * mask).sum()
    return total / count.clamp(min=1)


def rationale_loss(
    token_losses: torch.Tensor,
    span_ids: torch.Tensor,
    *,
    alpha: float,
    beta: float,
    label_span: int = 1,
    explanation_span: int = 2,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``alpha * L_label + beta * L_explanation`` (Hsieh et al. 2023, "Distilling step-by-step").

    Args:
        token_losses: ``(B, T)`` per-token cross-entropy, 0 at ignored positions.
        span_ids: ``(B, T)`` ints: ``label_span`` on label tokens,
            ``explanation_span`` on explanation tokens, anything else ignored.
        alpha, beta: weights of the two terms.

    Returns:
        ``(loss, label_loss, explanation_loss)``, each a scalar; each term is a
        token mean over its own span across the whole batch.
    """
    label_loss = span_mean(token_losses, span_ids, label_span)
    explanation_loss = span_mean(token_losses, span_ids, explanation_span)
    return alpha * label_loss + beta * explanation_loss, label_loss, explanation_loss
