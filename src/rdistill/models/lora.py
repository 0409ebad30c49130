"""Choose what a student trains: LoRA adapters, every weight, or everything but the encoder."""

from __future__ import annotations

import logging
from typing import Literal

from peft import LoraConfig, TaskType, get_peft_model
from torch import nn

from rdistill.errors import ModelError

logger = logging.getLogger(__name__)

Mode = Literal["lora", "full", "frozen_encoder"]

# BERT2BERT blocks (EncoderDecoderModel): attention projections and the feed-forward
# "dense" layers, but not the unused encoder pooler nor the decoder's LM head
# (cls.predictions.*). peft full-matches a string target against module names.
BERT2BERT_TARGETS = r"^(?!.*(?:pooler|cls\.predictions)).*\.(?:query|key|value|dense)$"


def default_target_modules(model: nn.Module) -> str:
    """LoRA targets when none are given: BERT2BERT blocks, else every linear layer.

    peft's ``"all-linear"`` already leaves out the output layer (the LM head).
    """
    if getattr(model.config, "model_type", None) == "encoder-decoder":
        return BERT2BERT_TARGETS
    return "all-linear"


def count_parameters(model: nn.Module) -> dict[str, int]:
    """``{"params_total", "params_trainable"}``; tied weights are counted once."""
    params = list(model.parameters())  # parameters() already de-duplicates shared tensors
    return {
        "params_total": sum(p.numel() for p in params),
        "params_trainable": sum(p.numel() for p in params if p.requires_grad),
    }


def apply_finetuning(
    model: nn.Module,
    kind: Literal["causal", "seq2seq"],
    mode: Mode,
    *,
    r: int = 16,
    alpha: int = 32,
    dropout: float = 0.05,
    target_modules: list[str] | str | None = None,
) -> tuple[nn.Module, dict[str, int]]:
    """Prepare ``model`` for fine-tuning; returns ``(model, parameter counts)``.

    - ``lora``: wrap in a peft LoRA model (rank ``r``, scale ``alpha / r``); only the
      adapters train. ``target_modules`` is a list of module-name suffixes, a regex
      string that peft full-matches, ``"all-linear"``, or ``None`` for
      ``default_target_modules``.
    - ``full``: every weight trains.
    - ``frozen_encoder`` (seq2seq only): the encoder is frozen, the decoder and
      cross-attention train. Embeddings shared with the encoder (T5's ``shared``)
      freeze with it.
    The LoRA/frozen-encoder arguments are ignored by the other modes.
    """
    if kind not in ("causal", "seq2seq"):
        raise ModelError(f"model kind {kind!r} is not one of: causal, seq2seq")
    if mode == "lora":
        targets = target_modules if target_modules is not None else default_target_modules(model)
        task = TaskType.CAUSAL_LM if kind == "causal" else TaskType.SEQ_2_SEQ_LM
        config = LoraConfig(
            task_type=task, r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=targets
        )
        try:
            model = get_peft_model(model, config)
        except ValueError as err:
            raise ModelError(
                f"LoRA target_modules {targets!r} match no layer of this model "
                f"({err}); use 'all-linear' or names from model.named_modules()"
            ) from err
    elif mode == "full":
        for param in model.parameters():
            param.requires_grad_(True)
    elif mode == "frozen_encoder":
        if kind != "seq2seq":
            raise ModelError(
                "finetuning mode 'frozen_encoder' needs an encoder-decoder student, but this "
                "model is causal; use mode 'lora' or 'full'"
            )
        for param in model.parameters():
            param.requires_grad_(True)
        for param in model.get_encoder().parameters():
            param.requires_grad_(False)
    else:
        raise ModelError(f"finetuning mode {mode!r} is not one of: lora, full, frozen_encoder")
    counts = count_parameters(model)
    logger.info(
        "finetuning %s: %d of %d parameters trainable (%.2f%%)",
        mode,
        counts["params_trainable"],
        counts["params_total"],
        100.0 * counts["params_trainable"] / max(counts["params_total"], 1),
    )
    return model, counts
