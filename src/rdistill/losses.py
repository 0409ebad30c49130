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


def label_set_cross_entropy(logits: torch.Tensor, target_ids: torch.Tensor,
                            label_ids: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over the task's label set only, at each label's first token.

    A classification head on the position before the label whose class weights are the label
    words' output embeddings: the softmax runs over the ``K`` candidate first tokens, as
    prediction scores them, instead of the whole vocabulary.

    Args:
        logits: ``(N, V)`` scores at the N positions that predict a label's first token.
        target_ids: ``(N,)`` the gold first-token ids there.
        label_ids: ``(K,)`` the first-token id of each label, all distinct.

    Returns:
        Scalar float32 mean over the N rows; 0 (with a gradient path) when N is 0.

    Raises:
        ValueError: a target id is not one of ``label_ids``.
    """
    return label_classifier_loss(logits[:, label_ids], target_ids, label_ids)


def label_classifier_loss(class_logits: torch.Tensor, target_ids: torch.Tensor,
                          label_ids: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of a classification head over the task's labels (``model.label_head``).

    Args:
        class_logits: ``(N, K)`` scores, column k for the k-th label.
        target_ids: ``(N,)`` the gold label's first-token id in each row's target.
        label_ids: ``(K,)`` the first-token id of each label, all distinct (names the class).

    Same returns and errors as :func:`label_set_cross_entropy`, which is this loss on the
    label words' columns of the vocabulary.
    """
    if class_logits.shape[0] == 0:
        return class_logits.float().sum() * 0.0
    match = target_ids[:, None] == label_ids[None, :]
    if not bool(match.any(dim=1).all()):
        missing = sorted(set(target_ids[~match.any(dim=1)].tolist()))
        raise ValueError(f"label token ids {missing} are not the first token of any label "
                         f"(label first tokens: {label_ids.tolist()})")
    return F.cross_entropy(class_logits.float(), match.int().argmax(dim=1))


# ---- latent (hidden-state) distillation and logit KD ----

HIDDEN_LOSSES = ("mse", "smooth_l1", "cosine", "normalized_mse")


def hidden_state_loss(
    student_hidden: torch.Tensor,
    teacher_hidden: torch.Tensor,
    mask: torch.Tensor,
    kind: str = "mse",
    eps: float = 1e-6,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``1/M sum_l loss(h_S^l, h_T^l)`` over M layer pairs, each a mean over the masked rows.

    Args:
        student_hidden: ``(M, N, H)`` student states (already projected to the teacher's H).
        teacher_hidden: ``(M, N, H)`` teacher states; detached here (the teacher is a target).
        mask: ``(N,)`` bool/0-1, rows that count (token positions, or pooled rows).
        kind: per row, ``mse`` = mean_h (s-t)^2; ``smooth_l1`` = mean_h Huber(beta=1);
            ``cosine`` = 1 - cos(s, t); ``normalized_mse`` = mse / var_l, with var_l the
            teacher's variance over the masked rows and all dims of layer l (so layers
            whose activations differ in scale by 100x weigh alike, cf. TinyBERT's
            per-layer normalisation).
    Returns:
        ``(loss, per_layer)``: a scalar and the ``(M,)`` per-pair values. 0 when no row counts.
    """
    if kind not in HIDDEN_LOSSES:
        raise ValueError(f"hidden-state loss {kind!r} is not one of {', '.join(HIDDEN_LOSSES)}")
    teacher = teacher_hidden.detach().float()
    student = student_hidden.float()
    weights = mask.to(student.dtype)
    count = weights.sum().clamp(min=1)
    if kind == "cosine":
        per_row = 1 - F.cosine_similarity(student, teacher, dim=-1, eps=eps)
    elif kind == "smooth_l1":
        per_row = F.smooth_l1_loss(student, teacher, reduction="none", beta=1.0).mean(-1)
    else:
        per_row = (student - teacher).pow(2).mean(-1)
    per_layer = (per_row * weights).sum(-1) / count  # (M,)
    if kind == "normalized_mse":
        rows = mask.bool()
        kept = teacher[:, rows]  # (M, n, H)
        var = kept.reshape(kept.shape[0], -1).var(dim=-1, unbiased=False) if rows.any() else 1
        per_layer = per_layer / (var + eps)
    return per_layer.mean(), per_layer


def kl_divergence_full(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    temperature: float = 1.0,
    direction: str = "forward",
) -> torch.Tensor:
    """KL between teacher and student next-token distributions over the full vocabulary.

    Args:
        student_logits, teacher_logits: ``(N, V)``, rows = the target positions only
            (callers select them; no mask here). Same vocabulary on both sides.
        temperature: both sides are softened by ``T``; the result is scaled by ``T^2``
            so gradients keep their size across temperatures (Hinton et al. 2015).
        direction: ``forward`` = KL(p_T || p_S) (mean-seeking, classic KD);
            ``reverse`` = KL(p_S || p_T) (mode-seeking, Gu et al. 2024 "MiniLLM").
    Returns:
        Scalar: mean over the N rows of the summed-over-vocabulary KL, times ``T^2``.
    """
    s = F.log_softmax(student_logits.float() / temperature, dim=-1)
    t = F.log_softmax(teacher_logits.detach().float() / temperature, dim=-1)
    p, q = (t, s) if direction == "forward" else (s, t)
    kl = (p.exp() * (p - q)).sum(-1)
    return kl.mean() * temperature**2 if kl.numel() else kl.sum()


def _log1mexp(log_mass: torch.Tensor) -> torch.Tensor:
    """log(1 - exp(x)) for x <= 0, clamped so that a mass of exactly 1 stays finite."""
    return torch.log1p(-log_mass.exp().clamp(max=1 - 1e-6))


def kl_divergence_topk(
    student_logits: torch.Tensor,
    teacher_topk_logprobs: torch.Tensor,
    teacher_topk_ids: torch.Tensor,
    temperature: float = 1.0,
    direction: str = "forward",
    teacher_rest_logmass: torch.Tensor | None = None,
) -> torch.Tensor:
    """KL over the teacher's top-k tokens plus one bucket holding the remaining mass.

    The offline form of logit KD: the cache holds, per target position, the teacher's
    ``k`` largest log-probabilities (already at ``temperature``) and their ids. Both
    distributions are coarsened to k+1 buckets (the k ids, "everything else"), where the
    KL is exact; the rest bucket's log-mass is ``log(1 - sum exp(topk))``.

    Args:
        student_logits: ``(N, V)`` at the target positions.
        teacher_topk_logprobs: ``(N, k)`` teacher log-probs at ``temperature``.
        teacher_topk_ids: ``(N, k)`` int64 token ids.
        temperature, direction: as in :func:`kl_divergence_full` (result scaled by T^2).
        teacher_rest_logmass: ``(N,)`` the stored log of the teacher's remaining mass
            (computed from the full distribution at extraction); None: from the top-k.
    Returns:
        Scalar, the mean over rows.
    """
    s_all = F.log_softmax(student_logits.float() / temperature, dim=-1)
    s_top = s_all.gather(-1, teacher_topk_ids.long())
    t_top = teacher_topk_logprobs.detach().float()
    s_rest = _log1mexp(torch.logsumexp(s_top, dim=-1, keepdim=True))
    t_rest = (_log1mexp(torch.logsumexp(t_top, dim=-1, keepdim=True)) if teacher_rest_logmass is None
              else teacher_rest_logmass.detach().float().unsqueeze(-1))
    s, t = torch.cat([s_top, s_rest], -1), torch.cat([t_top, t_rest], -1)
    p, q = (t, s) if direction == "forward" else (s, t)
    kl = (p.exp() * (p - q)).sum(-1)
    return kl.mean() * temperature**2 if kl.numel() else kl.sum()
