"""The run folder: where each artefact of a run lives, and how a trained student is reloaded.

Layout::

    RUN/config.yaml          resolved config (after --set overrides)
    RUN/system.json          versions, hardware, git commit, seed
    RUN/data_summary.json    rows read / skipped (by reason) / split sizes
    RUN/metrics.jsonl        one line per Trainer log step
    RUN/checkpoints/         Trainer checkpoints (resume from the last)
    RUN/tensorboard/         TensorBoard event files
    RUN/wandb/               W&B run files (tracking.wandb; offline-run-* by default)
    RUN/student/             final adapter (LoRA) or full weights, + tokenizer
    RUN/student/rdistill.json  how to rebuild the student (base model, kind, format)
    RUN/eval/metrics.json    held-out evaluation (+ metrics.predictions.jsonl)
    RUN/summary.json         written last: times, best checkpoint, headline metrics, config_hash
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from rdistill.config import RunConfig, load_config
from rdistill.errors import ModelError
from rdistill.io import write_json_atomic


@dataclass(frozen=True)
class RunPaths:
    root: Path

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
    def eval_metrics(self) -> Path:
        return self.root / "eval" / "metrics.json"

    @property
    def summary(self) -> Path:
        return self.root / "summary.json"


def save_student(model, tokenizer, paths: RunPaths, cfg: RunConfig, kind: str,
                 base_model: str | None = None) -> None:
    """Adapter only for LoRA (a few MB), full safetensors weights otherwise.

    ``base_model``: what the adapter sits on when it is not ``model.name`` (a latent
    student built from its teacher's layers).
    """
    model.save_pretrained(paths.student, safe_serialization=True)
    tokenizer.save_pretrained(paths.student)
    write_json_atomic(paths.student / "rdistill.json", {
        "base_model": base_model or cfg.model.name,
        "format": "latent" if cfg.latent is not None else "sequence",
        "kind": kind,
        "finetune": cfg.finetune.mode,
        "task": cfg.data.dataset,
        "output_order": cfg.loss.output_order,
        "task_prefix": cfg.loss.task_prefix,
        "explains": cfg.loss.beta > 0,
    })


def is_latent_run(run_dir: str | Path) -> bool:
    """A run trained by ``train_latent``: it writes ``<reasoning>\nAnswer: <answer>`` to a plain prompt."""
    meta = RunPaths(Path(run_dir)).student / "rdistill.json"
    return meta.is_file() and json.loads(meta.read_text()).get("format") == "latent"


def load_student(run_dir: str | Path, dtype: torch.dtype = torch.float32):
    """``(model, tokenizer, kind, cfg)`` of a trained run, ready for prediction."""
    from peft import PeftModel

    from rdistill.models import load_model, load_tokenizer

    paths = RunPaths(Path(run_dir))
    meta_file = paths.student / "rdistill.json"
    if not meta_file.is_file():
        raise ModelError(f"'{run_dir}' is not a finished rdistill run: {meta_file} is missing "
                         "(train it first, or resume it with `rdistill train CONFIG --resume`)")
    meta = json.loads(meta_file.read_text())
    cfg = load_config(paths.config)
    trust = cfg.model.trust_remote_code
    tokenizer = load_tokenizer(str(paths.student), trust_remote_code=trust)
    if meta["finetune"] == "lora":
        base, kind = load_model(meta["base_model"], kind=meta["kind"], dtype=dtype, trust_remote_code=trust)
        model = PeftModel.from_pretrained(base, str(paths.student))
        # Merged weights generate faster than an unmerged adapter (MACHINE-NOTES: up to 2.5x).
        model = model.merge_and_unload()
    else:
        model, kind = load_model(str(paths.student), kind=meta["kind"], dtype=dtype, trust_remote_code=trust)
    model.eval()
    return model, tokenizer, kind, cfg


def export_merged(run_dir: str | Path, out_dir: str | Path) -> Path:
    """A plain model folder of a trained run (LoRA merged into its base, + tokenizer).

    What a later step names as a model: e.g. a fine-tuned teacher for ``latent.teacher``.
    Written atomically: a crash leaves no half-written folder.
    """
    from rdistill.models.cache import atomic_dir

    model, tokenizer, _kind, _cfg = load_student(run_dir)
    with atomic_dir(out_dir) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
    return Path(out_dir)
