"""Match student tokens to teacher tokens by the characters they cover.

Both models read the same text; a student token takes the mean of the teacher
tokens whose ``[start, end)`` spans overlap its own. Tokens that overlap nothing
(e.g. an empty EOS span) are masked out. With identical tokenizers this is the
identity, which is detected and skipped.
"""

from __future__ import annotations

import torch


def overlap_matrix(student_offsets: torch.Tensor, teacher_offsets: torch.Tensor) -> torch.Tensor:
    """``(S, T)`` row-normalised weights: 1/count for each teacher token overlapping a student token.

    Args:
        student_offsets: ``(S, 2)`` character spans ``[start, end)``.
        teacher_offsets: ``(T, 2)``.
    Rows with no overlap are all zero.
    """
    s0, s1 = student_offsets[:, None, 0], student_offsets[:, None, 1]
    t0, t1 = teacher_offsets[None, :, 0], teacher_offsets[None, :, 1]
    overlap = ((s0 < t1) & (t0 < s1)).float()
    return overlap / overlap.sum(-1, keepdim=True).clamp(min=1)


def align_teacher(student_offsets: torch.Tensor, teacher_hidden: torch.Tensor,
                  teacher_offsets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Teacher states on the student's tokens: ``((S, L, H), mask (S,) bool)``.

    ``teacher_hidden`` is ``(T, L, H)``. Identical spans short-cut to the input.
    """
    if student_offsets.shape == teacher_offsets.shape and torch.equal(student_offsets.long(),
                                                                       teacher_offsets.long()):
        return teacher_hidden, torch.ones(len(teacher_hidden), dtype=torch.bool)
    weights = overlap_matrix(student_offsets.long(), teacher_offsets.long())
    aligned = torch.einsum("st,tlh->slh", weights, teacher_hidden.float())
    return aligned, weights.sum(-1) > 0


def mean_pool(hidden: torch.Tensor) -> torch.Tensor:
    """``(n, L, H)`` -> ``(1, L, H)``; the fallback when tokens cannot be matched one by one."""
    return hidden.mean(0, keepdim=True)
