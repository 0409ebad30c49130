"""Teacher signals laid out against a padded student batch (pure tensor work, no I/O).

Shared by the cached collator and the online trainer, so that both modes feed the
loss the same tensors. Distillation rows ``R``: one per student token at the
distilled positions, or one per example when pooling (``positions=mean`` or
``token_alignment=mean``).
"""

from __future__ import annotations

import torch

from rdistill.errors import DataError
from rdistill.tasks.latent_layout import distill_positions
from rdistill.methods.latent.token_alignment import align_teacher, mean_pool


def pooled(positions: str, token_alignment: str) -> bool:
    # A COCONUT teacher's rows are pooled too (thought_rows.thought_batch: one index per thought row).
    return positions in ("mean", "thoughts") or token_alignment == "mean"


def latent_batch(rows: list[dict], items: list[dict], *, positions: str, token_alignment: str,
                 width: int) -> dict[str, torch.Tensor]:
    """``distill_index`` ``(K,)`` flat positions into ``(B*width)``; ``distill_row`` ``(K,)`` their row
    in R; ``teacher_hidden`` ``(R, M, H)``; ``teacher_mask`` ``(R,)`` (rows with a teacher match).
    """
    pool = pooled(positions, token_alignment)
    index, row_of, teacher, mask = [], [], [], []
    for b, (row, item) in enumerate(zip(rows, items)):
        pos = distill_positions(row, positions)
        if not pos or len(item["hidden"]) == 0:
            continue  # e.g. the answer was truncated away: nothing to distill for this example
        if pool:
            hidden = item["hidden"] if positions == "mean" else mean_pool(item["hidden"])
            index += [b * width + p for p in pos]
            row_of += [len(teacher)] * len(pos)
            teacher.append(hidden.float())
            mask.append(torch.ones(1, dtype=torch.bool))
            continue
        student_offsets = torch.tensor([row["offsets"][p] for p in pos]).reshape(-1, 2)
        aligned, ok = align_teacher(student_offsets, item["hidden"], item["offsets"])
        start = sum(len(t) for t in teacher)
        index += [b * width + p for p in pos]
        row_of += list(range(start, start + len(pos)))
        teacher.append(aligned.float())
        mask.append(ok)
    if not teacher:
        return {"distill_index": torch.zeros(0, dtype=torch.long), "distill_row": torch.zeros(0, dtype=torch.long),
                "teacher_hidden": torch.zeros(0, *items[0]["hidden"].shape[1:]),
                "teacher_mask": torch.zeros(0, dtype=torch.bool)}
    return {"distill_index": torch.tensor(index, dtype=torch.long),
            "distill_row": torch.tensor(row_of, dtype=torch.long),
            "teacher_hidden": torch.cat(teacher), "teacher_mask": torch.cat(mask)}


def topk_batch(rows: list[dict], items: list[dict]) -> dict[str, torch.Tensor]:
    """Stored top-k teacher log-probs concatenated in the student's target-token order."""
    for row, item in zip(rows, items):
        n_targets = sum(1 for t, label in enumerate(row["labels"]) if label != -100 and t > 0)
        if len(item["topk_ids"]) != n_targets:
            raise DataError(f"example {row.get('uid')!r}: the cache has top-k for {len(item['topk_ids'])} "
                            f"target tokens, the student has {n_targets}; teacher and student must "
                            "tokenise alike for logit KD (same tokenizer and max_*_tokens)")
    return {"topk_logprobs": torch.cat([it["topk_logprobs"] for it in items]),
            "topk_ids": torch.cat([it["topk_ids"] for it in items]).long(),
            "rest_logmass": torch.cat([it["rest_logmass"] for it in items])}
