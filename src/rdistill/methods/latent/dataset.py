"""Training rows for latent runs and their collator.

The dataset reads each example's teacher signals from the cache in ``__getitem__``
(I/O stays out of the collator); the collator pads and lays them out by
:mod:`rdistill.methods.latent.batch`.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch.utils.data import Dataset

from rdistill.data.example import Example
from rdistill.methods.latent.batch import latent_batch, topk_batch
from rdistill.methods.latent.cache import LatentCache
from rdistill.methods.latent.teacher_signal import pad_right
from rdistill.tasks.latent_layout import encode_latent, latent_text
from rdistill.losses import IGNORE_INDEX


def encode_examples(examples: list[Example], tokenizer, *, max_prompt_tokens: int,
                    max_target_tokens: int, with_reasoning: bool = True) -> list[dict]:
    rows = []
    for ex in examples:
        row = encode_latent(latent_text(ex, with_reasoning), tokenizer, max_prompt_tokens=max_prompt_tokens,
                            max_target_tokens=max_target_tokens)
        row["uid"] = ex.uid
        rows.append(row)
    return rows


class LatentRows(Dataset):
    """Student rows; with ``cache`` each row also carries ``teacher`` (its cached signals, the
    ``teacher_layers`` only); with ``teacher_rows`` (online mode) the teacher's own encoding."""

    def __init__(self, rows: list[dict], cache: LatentCache | None = None,
                 teacher_layers: list[int] | None = None, teacher_rows: list[dict] | None = None):
        self.rows, self.cache, self.teacher_layers, self.teacher_rows = rows, cache, teacher_layers, teacher_rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict:
        row = dict(self.rows[i])
        if self.cache is not None:
            row["teacher"] = self.cache.get(row["uid"], self.teacher_layers)
        if self.teacher_rows is not None:
            row["teacher_row"] = self.teacher_rows[i]
        return row


@dataclass
class LatentCollator:
    """Pads student rows (right); lays out cached teacher signals when rows carry them."""

    pad_token_id: int
    positions: str = "target"
    token_alignment: str = "offsets"
    hidden: bool = True
    top_k: bool = False

    def __call__(self, rows: list[dict]) -> dict:
        batch = {"input_ids": pad_right([r["input_ids"] for r in rows], self.pad_token_id),
                 "attention_mask": pad_right([r["attention_mask"] for r in rows], 0),
                 "labels": pad_right([r["labels"] for r in rows], IGNORE_INDEX)}
        width = batch["input_ids"].shape[1]
        if "teacher" in rows[0]:
            items = [r["teacher"] for r in rows]
            if self.hidden:
                batch.update(latent_batch(rows, items, positions=self.positions,
                                          token_alignment=self.token_alignment, width=width))
            if self.top_k:
                batch.update(topk_batch(rows, items))
        if "teacher_row" in rows[0]:
            # Online mode: the trainer runs the teacher; it needs the raw rows to lay signals out.
            batch["student_rows"] = [{k: r[k] for k in ("offsets", "target_positions", "answer_positions",
                                                        "labels", "uid")} for r in rows]
            batch["teacher_rows"] = [r["teacher_row"] for r in rows]
        return batch

