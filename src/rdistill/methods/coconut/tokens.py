"""The three COCONUT special tokens and making their embedding rows trainable.

``<bot>``/``<eot>`` open and close the latent span; ``<latent>`` is a placeholder whose
input embedding is replaced by a hidden state, so only its position matters. Under
LoRA the base embedding is frozen, so the new rows would stay at their initial values
forever: peft's ``trainable_token_indices`` trains just those rows (a 3 x H delta with
its own optimizer state) instead of ``modules_to_save``, which would train, and keep AdamW
moments for, the whole vocabulary-sized embedding. (peft still saves the resized
embedding with the adapter, so that base model + adapter reload with the new rows.)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
from torch import nn

from rdistill.errors import ModelError

logger = logging.getLogger(__name__)

BOT, EOT, LATENT = "<bot>", "<eot>", "<latent>"


@dataclass(frozen=True)
class CoconutTokens:
    bot_id: int
    eot_id: int
    latent_id: int

    @property
    def ids(self) -> list[int]:
        return [self.bot_id, self.eot_id, self.latent_id]

    @classmethod
    def from_tokenizer(cls, tokenizer) -> CoconutTokens:
        """Ids of the tokens in a tokenizer that already has them (ModelError otherwise)."""
        ids = [tokenizer.convert_tokens_to_ids(t) for t in (BOT, EOT, LATENT)]
        if any(i is None or i == tokenizer.unk_token_id for i in ids):
            raise ModelError(f"tokenizer lacks the COCONUT tokens {BOT} {EOT} {LATENT}; "
                             "call add_coconut_tokens(tokenizer, model) first")
        return cls(*ids)


def add_coconut_tokens(tokenizer, model: nn.Module) -> CoconutTokens:
    """Add ``<bot> <eot> <latent>`` as special tokens and grow the embedding if needed.

    Idempotent (a tokenizer saved with the tokens keeps their ids). Call it before
    LoRA wrapping. New rows (input and, if untied, output) are set to the mean of the
    old rows: an in-distribution start, like the reference code's copy of an existing
    token, and deterministic, unlike transformers' sampled ``mean_resizing``, so that a
    resumed run that rebuilds the student gets the same base rows under its saved deltas.
    """
    added = tokenizer.add_tokens([BOT, EOT, LATENT], special_tokens=True)
    rows = model.get_input_embeddings().weight.shape[0]
    if len(tokenizer) > rows:
        model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
        with torch.no_grad():
            for layer in {model.get_input_embeddings(), model.get_output_embeddings()} - {None}:
                layer.weight[rows:] = layer.weight[:rows].mean(0)
    if added:
        logger.info("added %d COCONUT tokens; vocabulary %d, embedding rows %d", added, len(tokenizer),
                    model.get_input_embeddings().weight.shape[0])
    return CoconutTokens.from_tokenizer(tokenizer)


def make_token_rows_trainable(model: nn.Module, token_ids: list[int]) -> nn.Module:
    """Let the embedding rows ``token_ids`` train; returns ``model`` (changed in place).

    - peft model (LoRA): registers ``trainable_token_indices`` on the active adapter's
      config and wraps the input embedding (and a tied LM head) in peft's
      ``TrainableTokensWrapper``; the rows are saved with the adapter.
    - plain model: the embedding must already train (full fine-tuning); a frozen
      embedding raises, since silently training a 49k x H matrix is not what was asked.
    """
    if not hasattr(model, "peft_config"):
        if not model.get_input_embeddings().weight.requires_grad:
            raise ModelError("the input embedding is frozen, so the COCONUT token rows cannot train; "
                             "use finetune mode 'full' or 'lora'")
        return model
    from peft.utils import set_additional_trainable_modules
    from peft.tuners.tuners_utils import BaseTuner

    adapter = model.active_adapter
    config = model.peft_config[adapter]
    existing = config.trainable_token_indices
    if existing is not None:
        raise ModelError(f"the adapter already trains token rows {existing!r}; pass the COCONUT ids "
                         f"{token_ids} together with them in trainable_token_indices")
    config.trainable_token_indices = list(token_ids)
    inner = model.base_model.model
    set_additional_trainable_modules(model=inner, peft_config=config,
                                     model_config=BaseTuner.get_model_config(inner),
                                     adapter_name=adapter)
    return model
