"""What a method is: the one interface the command line, sweeps, ``predict``, ``profile``
and ``eval`` talk to, so that none of them branches on which method a recipe names.

A method owns its config section (``latent:``), its encoding and trainer, its predictor,
and its *phases*: the steps ``rdistill train`` runs in order (latent: extract the
teacher cache, then train + evaluate), each skipped when its output is already complete.
"""

from __future__ import annotations

import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from pydantic import BaseModel

from rdistill.config import RunConfig, dump_config, flatten, read_config_file
from rdistill.errors import ConfigError
from rdistill.models.loading import ALIASES, resolve_model
from rdistill.training.attention import resolve_attention
from rdistill.training.distributed import main_process_says
from rdistill.training.run_folder import RunFolder
from rdistill.training.precision import resolve_precision
from rdistill.training.system_info import system_info
from rdistill.training.threads import choose_threads
from rdistill.training.tracking import check_tracking

log = logging.getLogger("rdistill.methods")


@dataclass(frozen=True)
class Phase:
    """One step of ``rdistill train``: skipped when ``done()`` says its output is complete."""

    name: str
    done: Callable[[], bool]
    run: Callable[[], Any]


@dataclass(frozen=True)
class TrainRequest:
    """What ``rdistill train`` (or a sweep) asks of a method besides the recipe."""

    data_dir: str | None = None
    resume: bool = False
    show_progress: bool = True


@dataclass(frozen=True)
class EvalRequest:
    """What ``rdistill eval`` asks: rows (``data_file`` or the run's own split), where to write,
    and with which scoring settings."""

    output: str | None = None
    data_file: str | None = None
    limit: int | None = None
    skip_invalid: bool = False
    teacher_files: tuple[str, ...] = field(default_factory=tuple)
    data_dir: str | None = None
    judge: bool = True
    show_progress: bool = False
    # ``key=value`` changes to how the saved student is scored (``generation.*``, ``evaluation.*``).
    overrides: tuple[str, ...] = field(default_factory=tuple)


class Method(ABC):
    """A way to train a student. Subclasses set ``name`` (the recipe's ``method:`` value) and,
    when they read one, ``section`` + ``settings`` (their config section and its schema)."""

    name: ClassVar[str]
    section: ClassVar[str | None] = None
    settings: ClassVar[type[BaseModel] | None] = None
    # Whether its trainer reads ``loss.label_softmax`` (the label term over the label words).
    trains_label_words: ClassVar[bool] = False
    # What ``rdistill eval --set`` may change: the keys its evaluation reads (``section.`` = all
    # of a section). A key it would not read is refused rather than silently ignored.
    scoring_keys: ClassVar[tuple[str, ...]] = ("generation.", "evaluation.")

    def check(self, cfg: RunConfig) -> list[tuple[str, str]]:
        """``(key, problem)`` for settings this method cannot honour (reported at load)."""
        return []

    @abstractmethod
    def phases(self, cfg: RunConfig, folder: RunFolder, request: TrainRequest) -> list[Phase]:
        """The steps of a run, in order."""

    @abstractmethod
    def evaluate(self, folder: RunFolder, cfg: RunConfig, request: EvalRequest) -> dict:
        """Score a trained run; writes ``request.output`` (default ``RUN/eval/metrics.json``)."""

    @abstractmethod
    def predictor(self, model, tokenizer, kind: str, cfg: RunConfig, *, show_progress: bool = False):
        """What predicts with a trained student: ``predict(examples) -> records`` and
        ``prompt_forward(examples)``, reading prompts exactly as this method trained them."""

    def train(self, cfg: RunConfig, folder: RunFolder, request: TrainRequest) -> dict:
        """Run every phase not complete yet; returns the run's ``summary.json``."""
        for phase in self.phases(cfg, folder, request):
            # One answer for every rank (the main process's): a rank that looked after the main
            # process had finished the phase would skip it, and miss the phase's waits.
            if main_process_says(phase.done):
                log.info("%s: complete, skipped", phase.name)
                continue
            phase.run()
        return json.loads(folder.summary.read_text())


# A resumed run may get a longer budget, another name, other evaluation settings or
# trackers, nothing that changes what the saved checkpoints mean.
RESUME_MAY_CHANGE = {"name", "training.max_steps", "training.epochs", "training.num_threads"}
RESUME_MAY_CHANGE_SECTIONS = ("generation.", "evaluation.", "tracking.")


def resume_conflicts(saved: dict, new: RunConfig) -> dict[str, tuple[Any, Any]]:
    """Settings that differ between a run folder's ``config.yaml`` (``saved``, as read) and
    ``new`` and forbid resuming. Keys one side lacks (added or renamed since) are not compared."""
    before = flatten(saved)
    after = flatten(new.model_dump(mode="json", exclude={"sweep"}))
    return {k: (before[k], after[k]) for k in sorted(set(before) & set(after))
            if before[k] != after[k] and k not in RESUME_MAY_CHANGE
            and not k.startswith(RESUME_MAY_CHANGE_SECTIONS)}


def evaluation_rows(cfg: RunConfig, request: EvalRequest) -> list:
    """The rows ``rdistill eval`` scores: the first ``request.limit`` rows of ``request.data_file``
    (read by the run's task loader), else the run's held-out split (``request.limit`` or
    ``evaluation.limit`` rows), rebuilt from its config and seed."""
    from pathlib import Path

    from rdistill.tasks.recipe_data import prepare_splits
    from rdistill.tasks.registry import load_dataset_file

    if request.data_file is not None:
        return load_dataset_file(cfg.data.dataset, Path(request.data_file),
                                 skip_invalid=request.skip_invalid).examples[:request.limit]
    return prepare_splits(cfg, request.data_dir).test[: request.limit or cfg.evaluation.limit]


def start_run(cfg: RunConfig, folder: RunFolder, *, resume: bool) -> dict:
    """What every method does first: a resumed folder checked against ``cfg``, trackers checked,
    threads chosen and set, the precision and the attention kernel resolved (recorded in
    system.json), the folder started (config + system.json), the seed set. Returns the system
    info (its git commit goes to the trackers)."""
    from transformers import set_seed

    if resume and folder.config.is_file():
        saved = read_config_file(folder.config)
        changed = resume_conflicts(saved if isinstance(saved, dict) else {}, cfg)
        if changed:
            diffs = ", ".join(f"{k}: {was!r} -> {now!r}" for k, (was, now) in changed.items())
            raise ConfigError(f"--resume with a config that differs from {folder.config} ({diffs}); "
                              "resume with the same settings, or start a new --output-dir")
    check_tracking(cfg.tracking)
    if cfg.model.name not in ALIASES:  # a student folder that is not there: before the run folder exists
        resolve_model(cfg.model.name)
    # Threads first: the precision probe times matmuls on the threads the run will use.
    threads = choose_threads(cfg.training.num_threads)
    if threads.threads:
        torch.set_num_threads(threads.threads)
    info = system_info(cfg.seed)
    info["threads"] = threads.as_json()
    first_start = folder.read_system().get("precision") if resume else None
    info["precision"] = resolve_precision(cfg, first_start).as_json()
    info["attention"] = resolve_attention(cfg, folder.read_system().get("attention") if resume else None).as_json()
    folder.start(dump_config(cfg), info, resume=resume)
    set_seed(cfg.seed)
    return info
