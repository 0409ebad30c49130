"""From examples to encoded training rows, as the config's loss and explanation source say."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

from torch.utils.data import Dataset

from rdistill.config import RunConfig
from rdistill.data.example import Example
from rdistill.data.teachers import select_targets
from rdistill.tasks.layout import encode_row
from rdistill.tasks.registry import Task


@dataclass
class EncodedRows(Dataset):
    """A list of encoded rows; ``counts`` says how they were made (for the run summary)."""

    rows: list[dict[str, list[int]]]
    counts: Counter = field(default_factory=Counter)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict[str, list[int]]:
        return self.rows[i]


def encode_examples(examples: list[Example], cfg: RunConfig, fmt: Task, tokenizer,
                    *, is_seq2seq: bool, seed: int) -> EncodedRows:
    """One row per (example, explanation target), two per target with step-by-step prefixes.

    With ``loss.beta == 0`` no explanation is encoded at all (label-only rows are
    short and cheap). An example left with no explanation target (``gold_match``
    with every teacher wrong) still trains its label when ``alpha > 0``, and is
    counted under ``no_explanation_target``.
    """
    rng = random.Random(seed)
    explain = cfg.loss.beta > 0
    with_label = cfg.loss.alpha > 0 or not cfg.loss.task_prefix
    rows, counts = [], Counter()
    for ex in examples:
        targets = (select_targets(ex, source=cfg.data.explanation_source,
                                  multi_teacher=cfg.data.multi_teacher, rng=rng) if explain else [])
        if explain and not targets:
            counts["no_explanation_target"] += 1
            if cfg.loss.alpha == 0:
                continue
        pieces = fmt.training_rows(ex, targets, with_label=with_label,
                                   with_explanation=explain and bool(targets),
                                   order=cfg.loss.output_order, task_prefix=cfg.loss.task_prefix)
        for p in pieces:
            row = encode_row(p, tokenizer, is_seq2seq=is_seq2seq,
                             max_source_tokens=cfg.training.max_source_tokens,
                             max_target_tokens=cfg.training.max_target_tokens)
            counts["explanation_truncated"] += row.pop("truncated")
            rows.append(row)
        counts["examples"] += 1
    counts["rows"] = len(rows)
    return EncodedRows(rows, counts)
