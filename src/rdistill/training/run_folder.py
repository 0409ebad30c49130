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
import logging
from dataclasses import dataclass
from pathlib import Path

import torch

from rdistill.errors import ConfigError, ModelError
from rdistill.io import check_writable, file_sha256, write_json_atomic, write_text_atomic
from rdistill.training.distributed import is_main_process, wait_for_everyone

log = logging.getLogger("rdistill.run_folder")

STUDENT_META = "rdistill.json"
EXPORT_MARK = "rdistill_export.json"  # marks a folder `rdistill export` wrote (may be replaced with --overwrite)


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

    def resume_checkpoint(self) -> str | None:
        """The newest complete Trainer checkpoint of the run (see :func:`last_complete_checkpoint`)."""
        return last_complete_checkpoint(self.checkpoints)

    def finished(self) -> bool:
        """``summary.json`` is written last: its presence marks a finished run."""
        return self.summary.is_file()

    def read_meta(self) -> dict:
        """``student/rdistill.json``; ModelError when the run has no saved student."""
        if not self.student_meta.is_file():
            raise ModelError(f"'{self.root}' is not a finished rdistill run: {self.student_meta} is missing "
                             "(train it first, or resume it with `rdistill train CONFIG --resume`)")
        try:
            meta = json.loads(self.student_meta.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as err:
            raise ModelError(f"{self.student_meta} is damaged ({err}): retrain the run, or restore the file") from None
        missing = [k for k in ("base_model", "kind", "finetune") if not isinstance(meta, dict) or k not in meta]
        if missing:
            raise ModelError(f"{self.student_meta} lacks {', '.join(missing)}: retrain the run, or restore the file")
        allowed = {"kind": ("causal", "seq2seq"), "finetune": ("lora", "full", "frozen_encoder")}
        for key, values in allowed.items():
            if meta[key] not in values:
                raise ModelError(f"{self.student_meta}: {key} is {meta[key]!r}, not one of {', '.join(values)}: "
                                 "retrain the run, or restore the file")
        return meta

    def read_system(self) -> dict:
        """``system.json`` as the run's first start wrote it (atomically); {} when there is none."""
        try:
            saved = json.loads(self.system.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return saved if isinstance(saved, dict) else {}

    # ---- writing -----------------------------------------------------------------------
    def start(self, config_text: str, system: dict, *, resume: bool) -> None:
        """Create the folder and write ``config.yaml`` + ``system.json``; a folder that already
        holds checkpoints is only reused with ``resume`` (never overwritten by accident).
        Every rank checks; the main process alone writes, and the others wait for it."""
        if self.root.exists() and not self.root.is_dir():
            raise ConfigError(f"'{self.root}' is a file, not a run folder: choose another --output-dir")
        if self.has_checkpoints() and not resume:
            raise ConfigError(f"'{self.root}' already holds checkpoints: pass --resume to continue "
                              "that run, or choose another --output-dir")
        if is_main_process():
            check_writable(self.root, "--output-dir")
            write_text_atomic(self.config, config_text)
            write_json_atomic(self.system, system)
        wait_for_everyone()

    def write_summary(self, summary: dict | None) -> None:
        """The main process writes ``summary`` (other ranks pass theirs or None); every rank
        returns once it is on disk."""
        if is_main_process():
            write_json_atomic(self.summary, summary)
        wait_for_everyone()

    def check_config_unchanged(self) -> None:
        """ConfigError when ``config.yaml`` is not the file the finished run trained with: its
        ``summary.json`` holds ``config_hash``, the sha256 of exactly that text. A file cut or
        edited later may still parse, and would then describe another run."""
        try:
            recorded = json.loads(self.summary.read_text(encoding="utf-8")).get("config_hash")
        except (OSError, ValueError, AttributeError):
            return  # unfinished (or a summary without it): nothing to compare with
        if recorded and recorded != file_sha256(self.config):
            raise ConfigError(f"{self.config} has changed since the run finished (its sha256 is not "
                              "summary.json's config_hash): cut or edited; restore it, or retrain the run")

def save_student(model, tokenizer, folder: RunFolder, meta: dict) -> None:
    """Adapter only for LoRA (a few MB), full safetensors weights otherwise, the tokenizer,
    and ``rdistill.json`` (``meta``: method, base model, kind, finetune, task, ...). Written by
    the main process; every rank returns once it is there."""
    if is_main_process():
        from rdistill.models.label_head import save_pretrained_with_head

        save_pretrained_with_head(model, folder.student)
        tokenizer.save_pretrained(folder.student)
        write_json_atomic(folder.student_meta, meta)
    wait_for_everyone()


def load_student(folder: RunFolder | str | Path, *, trust_remote_code: bool = False,
                 dtype: torch.dtype = torch.float32):
    """``(model, tokenizer, kind, meta)`` of a trained run, LoRA merged, in eval mode, in ``dtype``
    (loaded and merged in fp32 first, so the adapter is not rounded before it is added)."""
    from peft import PeftModel
    from safetensors import SafetensorError

    from rdistill.models import load_model, load_tokenizer

    folder = folder if isinstance(folder, RunFolder) else RunFolder(Path(folder))
    meta = folder.read_meta()
    tokenizer = load_tokenizer(str(folder.student), trust_remote_code=trust_remote_code)
    if meta["finetune"] == "lora":
        # A run folder never reaches the network: without these files peft would look the
        # folder's name up on the Hub.
        missing = [f for f in ("adapter_config.json", "adapter_model.safetensors") if not (folder.student / f).is_file()]
        if missing:
            raise ModelError(f"{folder.student} lacks {', '.join(missing)}: the run's adapter is gone; retrain it")
        base, kind = load_model(meta["base_model"], kind=meta["kind"], dtype=torch.float32,
                                trust_remote_code=trust_remote_code)
        try:
            model = PeftModel.from_pretrained(base, str(folder.student), local_files_only=True)
        except (OSError, ValueError, RuntimeError, KeyError, SafetensorError) as err:  # truncated, other rank
            raise ModelError(f"{folder.student}: the adapter does not load ({type(err).__name__}: "
                             f"{str(err).splitlines()[0][:200]}); retrain the run") from None
        model = model.merge_and_unload()
    else:
        model, kind = load_model(str(folder.student), kind=meta["kind"], dtype=torch.float32,
                                 trust_remote_code=trust_remote_code)
    if meta.get("label_head", "none") != "none":
        from rdistill.models.label_head import load_label_head

        load_label_head(model, folder.student)
    return inference_model(model, dtype), tokenizer, kind, meta


def inference_model(model, dtype: torch.dtype = torch.float32):
    """``model`` ready to predict: a LoRA adapter merged into its base (merged weights generate
    faster than an unmerged adapter, MACHINE-NOTES: up to 2.5x), the library's attention kernel,
    cast to ``dtype``, eval mode.
    Merging changes the model in place: call it once training is over."""
    from peft import PeftModel

    if isinstance(model, PeftModel):
        model = model.merge_and_unload()
    if getattr(model.config, "_attn_implementation", None) == "eager":
        # Trained with eager attention (model.attention): predict with the fused kernel the
        # reloaded student gets, so that a run scores the same in memory and from its folder.
        try:
            model.set_attn_implementation("sdpa")
        except (ValueError, ImportError):  # a model without sdpa stays as it was loaded
            pass
    if dtype != torch.float32:
        model = model.to(dtype)
    return model.eval()


def check_export_target(out_dir: str | Path, run_root: str | Path, *, overwrite: bool = False) -> None:
    """Refuse, before any work, an export that would destroy something: the run itself or a folder
    around or inside it, a file, a non-empty folder (``overwrite`` replaces only a previous export)."""
    out, run = Path(out_dir).resolve(), Path(run_root).resolve()
    if out == run or run in out.parents or out in run.parents:
        raise ConfigError(f"--output {out_dir} overlaps the run being exported ({run_root}): "
                          "choose a folder outside it")
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--output {out_dir} is a file: choose a folder to write the model into")
    check_writable(out.parent, "--output")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise ConfigError(f"--output {out_dir} is not empty: choose a new folder, or pass --overwrite "
                              "to replace a previous export")
        if not (out / EXPORT_MARK).is_file():
            raise ConfigError(f"--output {out_dir} is not a folder `rdistill export` wrote (no {EXPORT_MARK}): "
                              "--overwrite only replaces a previous export")


def last_complete_checkpoint(folder: str | Path) -> str | None:
    """The newest *complete* ``checkpoint-N`` under ``folder``: the Trainer writes ``trainer_state.json``
    last, so a checkpoint without a readable one was cut short (a kill while saving) and is skipped,
    with a warning naming it."""
    def step(path: Path) -> int:
        tail = path.name.rsplit("-", 1)[-1]
        return int(tail) if tail.isdigit() else -1

    skipped = []
    for checkpoint in sorted(Path(folder).glob("checkpoint-*"), key=step, reverse=True):
        try:
            json.loads((checkpoint / "trainer_state.json").read_text())
        except (OSError, ValueError):
            skipped.append(checkpoint.name)
            continue
        if skipped:
            log.warning("skipped incomplete checkpoint(s) %s (no readable trainer_state.json: cut short "
                        "while saving)", ", ".join(skipped))
        log.info("resuming from %s", checkpoint)
        return str(checkpoint)
    if skipped:
        log.warning("no complete checkpoint (skipped %s): training starts afresh", ", ".join(skipped))
    return None
