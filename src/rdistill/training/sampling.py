"""Length-grouped batches whose order depends on the seed and the epoch only.

``transformers.LengthGroupedSampler`` draws each epoch's order from torch's global random
state at the moment the epoch starts. A run resumed mid-epoch restores that state as it was at
the *checkpoint*, not at the epoch's start, so the resumed epoch saw other batches than the
uninterrupted run: measured with ``bench/chaos.py``, a kill at step 100 of 240 and a resume
ended with weights 0.15 away from the uninterrupted run's. Seeding a generator from
``seed + epoch`` (the Trainer calls ``set_epoch`` before skipping the batches already done)
makes the resumed order the uninterrupted one; accelerate's seedable sampler does the same for
plain random order.
"""

from __future__ import annotations

import torch
from transformers.trainer_pt_utils import LengthGroupedSampler, get_length_grouped_indices


class EpochSeededLengthGroupedSampler(LengthGroupedSampler):
    """Batches of similar length (``batch_size`` = the per-step batch across accumulation steps),
    in an order drawn from ``seed + epoch``."""

    def __init__(self, batch_size: int, dataset, *, seed: int, **kwargs):
        super().__init__(batch_size, dataset=dataset, **kwargs)
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        return iter(get_length_grouped_indices(self.lengths, self.batch_size, generator=generator))
