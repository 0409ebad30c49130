"""The run folder: every file a run writes, for every method, and how a student is saved and reloaded.

Layout::

    RUN/config.yaml          resolved config (after --set overrides)
    RUN/system.json          versions, hardware, git commit, seed
    RUN/data_summary.json    rows read / skipped (by reason) / split sizes
    RUN/teachers.json        per-teacher coverage, parse rate, accuracy (when there are teachers)
    RUN/metrics.jsonl        one line per Trainer log step (each loss term on its own)
    RUN/checkpoints/         Trainer checkpoints (resume from the last; the best is kept)
    RUN/tensorboard/         TensorBoard event files
    RUN/wandb/               W&B run files (tracking.wandb; offline-run-* by default)
    RUN/student/             final adapter (LoRA) or full weights, + tokenizer (+ a method's extras)
    RUN/student/rdistill.json  how to rebuild the student (method, base model, kind, task)
    RUN/eval/metrics.json    held-out evaluation (+ metrics.predictions.jsonl)
    RUN/layer_similarity.json  latent runs: per-layer similarity to the teacher
    RUN/summary.json         written last: times, best checkpoint, headline metrics, config_hash

Only the folder's shape lives here; what goes into the files is the method's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from rdistill.errors import ConfigError, ModelError
from rdistill.io import write_json_atomic, write_text_atomic

STUDENT_META = "rdistill.json"


@dataclass(frozen=True)
class RunFolder:
    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def system(self) -> Path:
        return self.root / "system.json"

    @property
    def data_summary(self) -> Path:
        return self.root / "data_summary.json"

    @property
    def teachers(self) -> Path:
        return self.root / "teachers.json"

    @property
    def metrics_log(self) -> Path:
        return self.root / "metrics.jsonl"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def tensorboard(self) -> Path:
        return self.root / "tensorboard"

    @property
    def student(self) -> Path:
        return self.root / "student"

    @property
    def student_meta(self) -> Path:
        return self.student / STUDENT_META

    @property
    def eval_metrics(self) -> Path:
        return self.root / "eval" / "metrics.json"

    @property
    def layer_similarity(self) -> Path:
        return self.root / "layer_similarity.json"

    @property
    def summary(self) -> Path:
        return self.root / "summary.json"

    # ---- state -------------------------------------------------------------------------
    def has_checkpoints(self) -> bool:
        """Trainer checkpoints, or the stages of a curriculum (``stage-k/``)."""
        return any(self.checkpoints.glob("checkpoint-*")) or any(self.checkpoints.glob("stage-*"))

    def finished(self) -> bool:
        """``summary.json`` is written last: its presence marks a finished run."""
        return self.summary.is_file()

    def read_meta(self) -> dict:
        """``student/rdistill.json``; ModelError when the run has no saved student."""
        if not self.student_meta.is_file():
            raise ModelError(f"'{self.root}' is not a finished rdistill run: {self.student_meta} is missing "
                             "(train it first, or resume it with `rdistill train CONFIG --resume`)")
        return json.loads(self.student_meta.read_text())

    # ---- writing -----------------------------------------------------------------------
    def start(self, config_text: str, system: dict, *, resume: bool) -> None:
        """Create the folder and write ``config.yaml`` + ``system.json``; a folder that already
        holds checkpoints is only reused with ``resume`` (never overwritten by accident)."""
        if self.root.exists() and not self.root.is_dir():
            raise ConfigError(f"'{self.root}' is a file, not a run folder: choose another --output-dir")
        if self.has_checkpoints() and not resume:
            raise ConfigError(f"'{self.root}' already holds checkpoints: pass --resume to continue "
                              "that run, or choose another --output-dir")
        self.root.mkdir(parents=True, exist_ok=True)
        write_text_atomic(self.config, config_text)
        write_json_atomic(self.system, system)

    def write_summary(self, summary: dict) -> None:
        write_json_atomic(self.summary, summary)


def save_student(model, tokenizer, folder: RunFolder, meta: dict) -> None:
    """Adapter only for LoRA (a few MB), full safetensors weights otherwise, the tokenizer,
    and ``rdistill.json`` (``meta``: method, base model, kind, finetune, task, ...)."""
    model.save_pretrained(folder.student, safe_serialization=True)
    tokenizer.save_pretrained(folder.student)
    write_json_atomic(folder.student_meta, meta)


def load_student(folder: RunFolder | str | Path, *, trust_remote_code: bool = False,
                 dtype: torch.dtype = torch.float32):
    """``(model, tokenizer, kind, meta)`` of a trained run, LoRA merged, in eval mode."""
    from peft import PeftModel

    from rdistill.models import load_model, load_tokenizer

    folder = folder if isinstance(folder, RunFolder) else RunFolder(Path(folder))
    meta = folder.read_meta()
    tokenizer = load_tokenizer(str(folder.student), trust_remote_code=trust_remote_code)
    if meta["finetune"] == "lora":
        base, kind = load_model(meta["base_model"], kind=meta["kind"], dtype=dtype,
                                trust_remote_code=trust_remote_code)
        model = PeftModel.from_pretrained(base, str(folder.student))
        # Merged weights generate faster than an unmerged adapter (MACHINE-NOTES: up to 2.5x).
        model = model.merge_and_unload()
    else:
        model, kind = load_model(str(folder.student), kind=meta["kind"], dtype=dtype,
                                 trust_remote_code=trust_remote_code)
    model.eval()
    return model, tokenizer, kind, meta


def export_merged(model, tokenizer, out_dir: str | Path) -> Path:
    """A plain model folder (weights + tokenizer), written atomically: a crash leaves no half folder."""
    from rdistill.models.cache import atomic_dir

    with atomic_dir(out_dir) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
    return Path(out_dir)
