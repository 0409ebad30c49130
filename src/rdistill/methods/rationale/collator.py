"""Dynamic padding for encoded rows (see :func:`rdistill.tasks.layout.encode_row`)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rdistill.losses import IGNORE_INDEX


def _pad(seqs: list[list[int]], value: int, left: bool = False) -> torch.Tensor:
    width = max(len(s) for s in seqs)
    rows = [([value] * (width - len(s)) + s) if left else (s + [value] * (width - len(s))) for s in seqs]
    return torch.tensor(rows, dtype=torch.long)


@dataclass
class RationaleCollator:
    """Pads a list of rows to the longest in the batch (not a global maximum).

    Decoder-only rows are right-padded (positions stay aligned with their
    labels). Seq2seq rows get ``decoder_input_ids`` built from the full target
    (start token + target shifted right), so that marker tokens which carry no
    loss still feed the decoder.
    """

    pad_token_id: int
    is_seq2seq: bool
    decoder_start_token_id: int | None = None

    def __call__(self, rows: list[dict[str, list[int]]]) -> dict[str, torch.Tensor]:
        batch = {
            "input_ids": _pad([r["input_ids"] for r in rows], self.pad_token_id),
            "attention_mask": _pad([r["attention_mask"] for r in rows], 0),
            "labels": _pad([r["labels"] for r in rows], IGNORE_INDEX),
            "span_ids": _pad([r["span_ids"] for r in rows], 0),
        }
        if self.is_seq2seq:
            if self.decoder_start_token_id is None:
                raise ValueError("seq2seq collation needs decoder_start_token_id")
            dec = [[self.decoder_start_token_id] + r["decoder_input_tokens"][:-1] for r in rows]
            batch["decoder_input_ids"] = _pad(dec, self.pad_token_id)
            batch["decoder_attention_mask"] = _pad([[1] * len(d) for d in dec], 0)
        return batch
