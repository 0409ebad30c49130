"""Batching COCONUT rows so that every row's ``<bot>`` sits in the same column.

``coconut_forward`` cuts the sequence at every column that holds a thought; with
``<bot>`` aligned, the j-th thought of every row shares a column and a batch costs
``max thoughts + 1`` backbone passes instead of one per distinct position. Rows are
therefore left-padded up to the batch's longest question and right-padded after
their answer; position ids are computed from the attention mask, so padding moves
no token's position.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.data import Dataset

from rdistill.losses import IGNORE_INDEX


@dataclass
class CoconutCollator:
    """Features (``EncodedRow.as_features()``) -> ``input_ids``, ``attention_mask``, ``labels``
    (``(B, T)``) and ``thought_positions`` (``(B, T)`` bool)."""

    pad_token_id: int

    def __call__(self, rows: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        bot = max(r["bot_index"] for r in rows)
        width = max(bot - r["bot_index"] + len(r["input_ids"]) for r in rows)
        batch = len(rows)
        input_ids = torch.full((batch, width), self.pad_token_id, dtype=torch.long)
        labels = torch.full((batch, width), IGNORE_INDEX, dtype=torch.long)
        attention_mask = torch.zeros((batch, width), dtype=torch.long)
        thoughts = torch.zeros((batch, width), dtype=torch.bool)
        for i, row in enumerate(rows):
            shift = bot - row["bot_index"]
            n = len(row["input_ids"])
            input_ids[i, shift:shift + n] = torch.tensor(row["input_ids"])
            labels[i, shift:shift + n] = torch.tensor(row["labels"])
            attention_mask[i, shift:shift + n] = 1
            for p in row["thought_positions"]:
                thoughts[i, shift + p] = True
        return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels,
                "thought_positions": thoughts}


class RowDataset(Dataset):
    """Encoded rows held in memory (a torch Dataset, so the Trainer drops no column)."""

    def __init__(self, rows: list[dict[str, Any]]):
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.rows[index]
