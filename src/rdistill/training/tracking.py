"""Experiment tracking for one run: TensorBoard event files and Weights & Biases.

``metrics.jsonl`` (``training.callbacks.MetricsLogCallback``) and ``summary.json``
(every method's run) are always written; this module adds the optional trackers as
Trainer callbacks, all writing inside the run folder by default:

- TensorBoard: transformers' ``TensorBoardCallback`` with a writer on ``RUN/tensorboard``.
- W&B: rdistill starts the W&B run itself, with explicit arguments (project, name,
  mode, folder and the resolved rdistill config), and transformers' built-in
  ``WandbCallback`` then logs into that active run. Explicit arguments instead of
  ``WANDB_*`` environment variables: nothing process-wide is changed, and the W&B
  config holds the rdistill settings (loss weights, LoRA rank...) that sweeps compare,
  not only the Trainer's arguments. Offline mode (the default) needs neither network
  nor API key; ``wandb sync RUN/wandb/offline-run-*`` uploads such a run later.

No secret is passed to W&B: rdistill never reads an API key (online mode uses the
user's own ``wandb login``), the Trainer's arguments are logged with tokens redacted
by transformers, and git metadata collection is off because a remote URL can carry
credentials (the commit is taken from ``system.json`` instead).
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from rdistill.config import RunConfig, TrackingConfig, config_hash
from rdistill.errors import ConfigError, RdistillError
from rdistill.training.distributed import is_main_process
from rdistill.training.run_folder import RunFolder

log = logging.getLogger("rdistill.training.tracking")


class TrackingError(RdistillError):
    """A tracker could not start (e.g. W&B online without a login)."""


def check_tracking(tracking: TrackingConfig) -> None:
    """Fail before any work when a requested tracker is not installed."""
    if tracking.wandb and importlib.util.find_spec("wandb") is None:
        raise ConfigError("tracking.wandb is true but wandb is not installed: "
                          "pip install 'rdistill[wandb]', or set tracking.wandb=false")


def wandb_folder(tracking: TrackingConfig, paths: RunFolder) -> Path:
    """The folder W&B writes into (it adds ``wandb/<mode>-run-<time>-<id>/`` below it)."""
    return Path(tracking.wandb_dir) if tracking.wandb_dir else paths.root


def _start_wandb(cfg: RunConfig, paths: RunFolder, quiet: bool, git_commit: str | None):
    import wandb

    folder = wandb_folder(cfg.tracking, paths)
    folder.mkdir(parents=True, exist_ok=True)
    config = {**cfg.model_dump(mode="json", exclude={"sweep"}), "config_hash": config_hash(cfg),
              "git_commit": git_commit}
    try:
        run = wandb.init(project=cfg.tracking.wandb_project, name=cfg.name, dir=str(folder),
                         mode=cfg.tracking.wandb_mode, config=config,
                         settings=wandb.Settings(disable_git=True, silent=quiet))
    except Exception as e:  # wandb raises its own error types (UsageError, CommError, ...)
        hint = (" (online mode needs `wandb login`; tracking.wandb_mode=offline works without one)"
                if cfg.tracking.wandb_mode == "online" else "")
        raise TrackingError(f"W&B could not start: {type(e).__name__}: {e}{hint}") from e
    log.info("W&B %s run %s in %s", cfg.tracking.wandb_mode, run.id, folder / "wandb")
    return run


@dataclass
class Trackers:
    """What ``tracking_session`` hands the training pipeline."""

    callbacks: list[TrainerCallback] = field(default_factory=list)
    wandb_run: Any = None

    def log_final(self, metrics: dict[str, Any]) -> None:
        """Held-out headline metrics into the W&B run summary (``test/<name>``), numbers only."""
        if self.wandb_run is not None:
            self.wandb_run.summary.update({f"test/{k}": v for k, v in metrics.items()
                                           if isinstance(v, (int, float)) and not isinstance(v, bool)})


@contextmanager
def tracking_session(cfg: RunConfig, paths: RunFolder, *, quiet: bool = False,
                     git_commit: str | None = None) -> Iterator[Trackers]:
    """The trackers ``cfg.tracking`` asks for; they are closed on exit, even on errors.

    A W&B run is finished on exit so that the next run in the same process (a sweep)
    starts its own instead of logging into this one, and W&B's background service is
    stopped so that the run's files are complete when this returns. Under several processes
    only the main one tracks (the Trainer logs the loss gathered over ranks there).
    """
    check_tracking(cfg.tracking)
    trackers = Trackers()
    if not is_main_process():
        yield trackers
        return
    writer, failed = None, False
    try:
        if cfg.tracking.tensorboard:
            from torch.utils.tensorboard import SummaryWriter
            from transformers.integrations import TensorBoardCallback

            writer = SummaryWriter(log_dir=str(paths.tensorboard))
            trackers.callbacks.append(TensorBoardCallback(tb_writer=writer))
        if cfg.tracking.wandb:
            from transformers.integrations import WandbCallback

            trackers.wandb_run = _start_wandb(cfg, paths, quiet, git_commit)
            trackers.callbacks.append(WandbCallback())
        yield trackers
    except BaseException:
        failed = True  # W&B then shows the run as failed, not finished
        raise
    finally:
        if writer is not None:
            writer.close()
        if trackers.wandb_run is not None:
            import wandb

            trackers.wandb_run.finish(exit_code=1 if failed else 0)
            # finish() can return before W&B's service process has written the run file;
            # stopping the service waits for it, so a returned train() has its run on disk.
            wandb.teardown()
