"""Rows, teacher signals and batches for distilling a COCONUT teacher's continuous thoughts.

Teacher and student rows share the COCONUT layout of the all-latent stage
(``methods.coconut.curriculum.encode_row``)::

    question\\n <bot> <latent> x n <eot> ### answer <eos>

with ``n`` fixed per run: the teacher's thoughts (``latent.thoughts``), and for the student
as many (``student_reasoning: thoughts``) or none (``direct``: ``<bot> <eot>`` and no thought
between, so it answers straight after the question). The *answer positions* are the tokens of
``### answer`` (``<eos>`` excluded).

What is stored per row (``thought_signals``): ``n`` thought states then the answer states,
at each stored layer, thoughts fed back exactly as ``coconut_forward`` does. What is matched
(``thought_batch``), one distillation row each (``R`` rows, read as in ``batch.latent_batch``):

- ``thoughts``: the student's thought j <-> the teacher's thought j (one to one);
- ``direct``: the student's state at ``<eot>`` (the last position before it writes, having
  read the whole question) <-> the mean of the teacher's thought states;
- both: the mean of the student's answer states <-> the mean of the teacher's (pooled, so
  that tokenizers may differ).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rdistill.data.example import Example
from rdistill.errors import DataError
from rdistill.methods.coconut.collator import CoconutCollator
from rdistill.methods.coconut.curriculum import encode_row
from rdistill.methods.coconut.stages import default_question
from rdistill.methods.coconut.thoughts import continuous_hidden
from rdistill.methods.coconut.tokens import CoconutTokens


def thought_row(tokenizer, example: Example, n_thoughts: int, tokens: CoconutTokens,
                max_length: int | None = None) -> dict:
    """One row with exactly ``n_thoughts`` thoughts replacing every step (the all-latent stage)."""
    row = encode_row(tokenizer, default_question(example), example.steps, example.label, stage=n_thoughts,
                     c=1, tokens=tokens, max_stage=n_thoughts, pad_thoughts_to_max=True,
                     max_length=max_length).as_features()
    eot = row["bot_index"] + 1 + n_thoughts
    end = len(row["input_ids"]) - (row["input_ids"][-1] == tokenizer.eos_token_id)
    row.update(uid=example.uid, n_thoughts=n_thoughts, eot_index=eot, answer_positions=list(range(eot + 1, end)))
    return row


def encode_thought_rows(examples: list[Example], tokenizer, tokens: CoconutTokens, n_thoughts: int,
                        max_length: int | None = None) -> list[dict]:
    return [thought_row(tokenizer, ex, n_thoughts, tokens, max_length) for ex in examples]


@torch.no_grad()
def thought_signals(teacher, rows: list[dict], *, layers: list[int], pad_token_id: int) -> list[dict]:
    """Per row: ``hidden`` ``(n + a, L, H)`` fp32 (n thoughts, then the a answer tokens),
    ``offsets`` ``(n + a, 2)`` int32 (token spans ``[p, p + 1)`` in the unpadded row: a thought
    covers no text) and ``n_thoughts``."""
    device = next(teacher.parameters()).device
    batch = {k: v.to(device) for k, v in CoconutCollator(pad_token_id)(rows).items()}
    states, _ = continuous_hidden(teacher, batch["input_ids"], batch["attention_mask"],
                                  batch["thought_positions"], all_layers=True)
    stacked = torch.stack([states[layer] for layer in layers], dim=2)  # (B, T, L, H)
    bot = max(r["bot_index"] for r in rows)
    items = []
    for i, row in enumerate(rows):
        pos = list(row["thought_positions"]) + list(row["answer_positions"])
        shift = bot - row["bot_index"]
        items.append({"hidden": stacked[i, [shift + p for p in pos]].float().contiguous().cpu(),
                      "offsets": torch.tensor([[p, p + 1] for p in pos], dtype=torch.int32).reshape(-1, 2),
                      "n_thoughts": len(row["thought_positions"])})
    return items


def thought_batch(rows: list[dict], items: list[dict], *, width: int, bot: int,
                  direct: bool) -> dict[str, torch.Tensor]:
    """``distill_index`` ``(K,)`` flat positions into ``(B*width)``, ``distill_row`` ``(K,)`` their
    row in R, ``teacher_hidden`` ``(R, M, H)``, ``teacher_mask`` ``(R,)`` (module docstring)."""
    index, row_of, teacher = [], [], []

    def add(positions: list[int], target: torch.Tensor) -> None:
        index.extend(positions)
        row_of.extend([len(teacher)] * len(positions))
        teacher.append(target)

    for b, (row, item) in enumerate(zip(rows, items)):
        n, hidden = item["n_thoughts"], item["hidden"]
        base = b * width + bot - row["bot_index"]  # the row's offset in the flat, left-padded batch
        if direct:
            if n:
                add([base + row["eot_index"]], hidden[:n].mean(0))
        else:
            if len(row["thought_positions"]) != n:
                raise DataError(f"example {row.get('uid')!r}: the student row has {len(row['thought_positions'])} "
                                f"thoughts, the cache {n}; set latent.thoughts={n} (or re-extract)")
            for j, p in enumerate(row["thought_positions"]):
                add([base + p], hidden[j])
        if row["answer_positions"] and len(hidden) > n:  # an answer cut by max_length has nothing to match
            add([base + p for p in row["answer_positions"]], hidden[n:].mean(0))
    if not teacher:
        shape = items[0]["hidden"].shape[1:] if items else (0, 0)
        return {"distill_index": torch.zeros(0, dtype=torch.long), "distill_row": torch.zeros(0, dtype=torch.long),
                "teacher_hidden": torch.zeros(0, *shape), "teacher_mask": torch.zeros(0, dtype=torch.bool)}
    return {"distill_index": torch.tensor(index, dtype=torch.long),
            "distill_row": torch.tensor(row_of, dtype=torch.long),
            "teacher_hidden": torch.stack(teacher).float(), "teacher_mask": torch.ones(len(teacher), dtype=torch.bool)}


@dataclass
class ThoughtCollator:
    """COCONUT batches (``<bot>`` aligned, ``thought_positions``) plus the cached teacher states
    laid out by ``thought_batch`` when rows carry them (``LatentRows`` with a cache)."""

    pad_token_id: int
    direct: bool = False

    def __call__(self, rows: list[dict]) -> dict:
        batch = CoconutCollator(self.pad_token_id)(rows)
        if "teacher" in rows[0]:
            batch.update(thought_batch(rows, [r["teacher"] for r in rows], width=batch["input_ids"].shape[1],
                                       bot=max(r["bot_index"] for r in rows), direct=self.direct))
        return batch
