"""``rdistill export``: a trained student as a folder that a serving engine loads, written safely.

Formats:

- ``hf``: the merged Hugging Face folder (LoRA merged; weights + tokenizer), e.g. a teacher.
- ``ctranslate2``: the merged student converted by CTranslate2's own converter, weights in
  ``int8`` (default), ``int8_float32`` or ``float32``, for fast CPU inference. Decoder-only
  Llama-family students (SmolLM2) only: that is what the round-trip test checks.

Every export holds ``rdistill_export.json`` (format, quantization, the run it came from, what
the student is) and ``rdistill_config.yaml`` (the run's recipe), so that ``rdistill predict``
and ``eval`` run on the folder alone, prompting the student exactly as its run trained it.
The folder is written into a temporary folder and renamed into place (no half folder after a
crash); ``check_export_target`` refuses, before any work, a target that holds anything else.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rdistill.errors import ConfigError, ModelError
from rdistill.io import write_json_atomic, write_text_atomic
from rdistill.training.run_folder import EXPORT_MARK

EXPORT_CONFIG = "rdistill_config.yaml"
FORMATS = ("hf", "ctranslate2")
QUANTIZATIONS = ("int8", "int8_float32", "float32")
# CTranslate2 converts more families, but these are the ones whose exports are checked
# against the PyTorch student (tests/training/test_export.py, bench/serving.py).
CTRANSLATE2_MODEL_TYPES = ("llama",)


@dataclass(frozen=True)
class ExportInfo:
    """What ``rdistill_export.json`` says about an export folder."""

    root: Path
    format: str
    quantization: str | None
    kind: str
    end_ids: tuple[int, ...]  # the model's own end tokens (its generation config), for stopping

    @property
    def config(self) -> Path:
        return self.root / EXPORT_CONFIG


def check_export_request(fmt: str, quantization: str | None, meta: dict) -> None:
    """Refuse, before loading anything, an export this student cannot have (``meta``: the run's
    ``student/rdistill.json``)."""
    if fmt not in FORMATS:
        raise ConfigError(f"--format {fmt!r} is not a format; choose one of {', '.join(FORMATS)}")
    if quantization is not None and quantization not in QUANTIZATIONS:
        raise ConfigError(f"--quantization {quantization!r}: choose one of {', '.join(QUANTIZATIONS)}")
    if fmt == "hf":
        if quantization is not None:
            raise ConfigError("--quantization goes with --format ctranslate2 (an hf export keeps the "
                              "run's float32 weights): drop it, or add --format ctranslate2")
        return
    if meta.get("kind") != "causal":
        raise ConfigError(f"--format ctranslate2 exports decoder-only students (Llama family, e.g. "
                          f"SmolLM2); this run's student is {meta.get('kind')!r}: use --format hf")
    if meta.get("method") != "rationale":
        raise ConfigError(f"--format ctranslate2 exports students of the rationale method; this run's "
                          f"method is {meta.get('method')!r}, whose predictor needs PyTorch: use --format hf")
    if importlib.util.find_spec("ctranslate2") is None:
        raise ConfigError("--format ctranslate2 needs the ctranslate2 package: pip install 'rdistill[serve]'")


def check_ctranslate2_model(model) -> None:
    """The architecture check that needs the model's config (after loading, before converting)."""
    model_type = getattr(model.config, "model_type", None)
    if model_type not in CTRANSLATE2_MODEL_TYPES:
        raise ConfigError(f"--format ctranslate2 exports Llama-family students "
                          f"({', '.join(CTRANSLATE2_MODEL_TYPES)}); this student is {model_type!r}: "
                          "use --format hf")


def _end_ids(model) -> list[int]:
    eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    return [int(e) for e in (eos if isinstance(eos, list) else [eos]) if e is not None]


def write_export(model, tokenizer, out_dir: str | Path, *, fmt: str, quantization: str | None,
                 source: str | Path, config_text: str, meta: dict) -> Path:
    """Write the export folder (see the module docstring). Check the target first
    (``run_folder.check_export_target``) and the request (:func:`check_export_request`)."""
    from rdistill.models.cache import atomic_dir
    from rdistill.models.label_head import save_pretrained_with_head

    out_dir = Path(out_dir)
    if fmt == "ctranslate2":
        check_ctranslate2_model(model)
        quantization = quantization or "int8"
    with atomic_dir(out_dir) as tmp:
        if fmt == "hf":  # an encoder label head (model.label_head) in its own file, as in the run
            save_pretrained_with_head(model, tmp)
        else:
            _convert_ctranslate2(model, tokenizer, tmp, quantization)
        tokenizer.save_pretrained(tmp)
        write_text_atomic(tmp / EXPORT_CONFIG, config_text)
        write_json_atomic(tmp / EXPORT_MARK, {
            "source_run": str(Path(source).resolve()), "format": fmt, "quantization": quantization,
            "method": meta.get("method"), "task": meta.get("task"), "kind": meta.get("kind"),
            "base_model": meta.get("base_model"), "model_type": getattr(model.config, "model_type", None),
            "end_ids": _end_ids(model)})
    return out_dir


def _convert_ctranslate2(model, tokenizer, out: Path, quantization: str) -> None:
    """CTranslate2's converter reads a Hugging Face folder (its vocabulary from the tokenizer): the
    merged student is saved into a scratch folder next to ``out`` (same disk), converted into
    ``out``, and the scratch removed."""
    from ctranslate2.converters import TransformersConverter

    scratch = Path(tempfile.mkdtemp(prefix=f".{out.name}.hf-", dir=out.parent))
    try:
        model.save_pretrained(scratch, safe_serialization=True)
        tokenizer.save_pretrained(scratch)
        try:
            TransformersConverter(str(scratch)).convert(str(out), quantization=quantization, force=True)
        except (NotImplementedError, ValueError, KeyError, RuntimeError) as err:
            raise ModelError(f"CTranslate2 could not convert this student ({type(err).__name__}: "
                             f"{str(err).splitlines()[0][:200]}): use --format hf") from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def read_export(path: str | Path) -> ExportInfo | None:
    """The export at ``path``, or None when ``path`` is no ``rdistill export`` folder. An export
    too old to carry its recipe is refused with what to do."""
    root = Path(path)
    mark = root / EXPORT_MARK
    if not mark.is_file():
        return None
    try:
        data = json.loads(mark.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise ModelError(f"{mark} is damaged ({err}): export the run again") from None
    if not isinstance(data, dict) or "format" not in data or not (root / EXPORT_CONFIG).is_file():
        raise ModelError(f"{root} was exported by an older rdistill, without the run's recipe "
                         f"({EXPORT_CONFIG}): export the run again to predict or evaluate with it")
    if data["format"] not in FORMATS:
        raise ModelError(f"{mark}: unknown format {data['format']!r} (known: {', '.join(FORMATS)})")
    return ExportInfo(root=root, format=data["format"], quantization=data.get("quantization"),
                      kind=data.get("kind") or "causal", end_ids=tuple(data.get("end_ids") or ()))
