"""A learned linear map from student to teacher hidden size, one per layer pair.

Owned by the trainer, optimised with the adapter and saved next to it as
``latent_projection.safetensors`` (never attached to the student model).
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

PROJECTION_FILE = "latent_projection.safetensors"


class LayerProjection(nn.Module):
    """``(M, N, H_student)`` -> ``(M, N, H_teacher)``, a separate ``nn.Linear`` per pair."""

    def __init__(self, num_pairs: int, student_size: int, teacher_size: int):
        super().__init__()
        self.student_size, self.teacher_size = student_size, teacher_size
        self.maps = nn.ModuleList(nn.Linear(student_size, teacher_size) for _ in range(num_pairs))

    def forward(self, student_hidden: torch.Tensor) -> torch.Tensor:
        return torch.stack([m(h) for m, h in zip(self.maps, student_hidden)])

    def save(self, folder: str | Path) -> Path:
        path = Path(folder) / PROJECTION_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        save_file({k: v.detach().contiguous().cpu() for k, v in self.state_dict().items()}, str(path))
        return path

    def load(self, folder: str | Path) -> None:
        self.load_state_dict(load_file(str(Path(folder) / PROJECTION_FILE)))


def make_projection(num_pairs: int, student_size: int, teacher_size: int) -> LayerProjection | None:
    """A projection when the hidden sizes differ; None (identity) when they match."""
    return None if student_size == teacher_size else LayerProjection(num_pairs, student_size, teacher_size)
