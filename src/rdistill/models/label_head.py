"""A classifier on an encoder-decoder student's encoder (``model.label_head: encoder``).

The label comes from the encoder's states (a masked mean over the source tokens, then a
linear layer over the task's labels) while the decoder writes the explanation after the
predicted label, as it was trained to after the gold one. The encoder then learns the
label directly instead of through label words that the decoder must spell.

The head is a submodule of the transformers model (``unwrap(model).rdistill_label_head``),
so the optimizer, device moves, DDP and LoRA merging carry it with the student. It is
saved to its own safetensors file (``LABEL_HEAD_FILE``), both in checkpoints and next to
the saved student, because a LoRA adapter file does not hold it and a full model's
``from_pretrained`` would drop keys it does not know.
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from rdistill.errors import ModelError
from rdistill.models.heads import unwrap

ATTRIBUTE = "rdistill_label_head"
LABEL_HEAD_FILE = "label_head.safetensors"


class EncoderLabelHead(nn.Module):
    """Label logits ``(B, L)`` from encoder states ``(B, S, H)`` and their mask ``(B, S)``:
    the mean of the unmasked states, dropout, one linear layer."""

    def __init__(self, hidden_size: int, num_labels: int, dropout: float = 0.1):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(hidden_size, num_labels)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        weights = mask.to(hidden.dtype).unsqueeze(-1)
        pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)
        return self.classifier(self.dropout(pooled.to(self.classifier.weight.dtype)))


def label_head_of(model) -> EncoderLabelHead | None:
    """The student's encoder label head, or None when it has none."""
    return getattr(unwrap(model), ATTRIBUTE, None)


def attach_label_head(model, num_labels: int, *, seed: int | None = None) -> EncoderLabelHead:
    """A new head on ``model`` (a seq2seq transformers or peft model), trainable, on its device;
    ``seed``: initialise it from this seed (the same head for the same run)."""
    base = unwrap(model)
    is_seq2seq = getattr(base.config, "is_encoder_decoder", False) and hasattr(base, "get_encoder")
    hidden = getattr(getattr(base.get_encoder(), "config", None), "hidden_size", None) if is_seq2seq else None
    if not hidden:
        raise ModelError(f"{type(base).__name__} has no encoder with a hidden size: model.label_head: "
                         "encoder needs an encoder-decoder student")
    with torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(seed)
        head = EncoderLabelHead(int(hidden), num_labels)
    param = next(base.parameters())
    setattr(base, ATTRIBUTE, head.to(device=param.device))
    return head


def encoder_label_logits(model, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """``(B, L)`` label logits from the encoder alone (prediction: the decoder is not run)."""
    base, head = unwrap(model), label_head_of(model)
    if head is None:
        raise ModelError("the student has no encoder label head")
    hidden = base.get_encoder()(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
    return head(hidden, attention_mask)


def save_label_head(model, folder: str | Path) -> None:
    """Write the head's weights to ``folder/LABEL_HEAD_FILE`` (nothing when there is no head)."""
    head = label_head_of(model)
    if head is not None:
        state = {k: v.detach().float().cpu().contiguous() for k, v in head.state_dict().items()}
        save_file(state, str(Path(folder) / LABEL_HEAD_FILE))


def load_label_head(model, folder: str | Path) -> EncoderLabelHead:
    """The head saved in ``folder``, loaded into ``model``'s head (attached first when it has none
    of that size, so a training run keeps its parameters); ModelError naming the file when it is
    missing or does not fit the model."""
    path = Path(folder) / LABEL_HEAD_FILE
    if not path.is_file():
        raise ModelError(f"{path} is missing: the run trained an encoder label head; retrain it")
    try:
        state = load_file(str(path))
        head = label_head_of(model)
        if head is None or head.classifier.out_features != state["classifier.weight"].shape[0]:
            head = attach_label_head(model, int(state["classifier.weight"].shape[0]))
        head.load_state_dict(state)
    except (RuntimeError, OSError, ValueError, KeyError, SafetensorError) as err:
        raise ModelError(f"{path}: the label head does not load ({str(err).splitlines()[0][:200]}); "
                         "retrain the run") from None
    head.to(dtype=next(unwrap(model).parameters()).dtype)
    return head


def save_pretrained_with_head(model, folder: str | Path) -> None:
    """``save_pretrained`` (safetensors) with an encoder label head kept out of the model's files
    (a full model's ``from_pretrained`` would drop its keys) and written to ``LABEL_HEAD_FILE``."""
    from peft import PeftModel

    without_head = None if isinstance(model, PeftModel) else state_dict_without_head(model)
    model.save_pretrained(folder, safe_serialization=True,
                          **({"state_dict": without_head} if without_head is not None else {}))
    save_label_head(model, folder)


def state_dict_without_head(model) -> dict[str, torch.Tensor] | None:
    """The model's state dict minus the head's keys (for ``save_pretrained``); None with no head."""
    if label_head_of(model) is None:
        return None
    return {k: v for k, v in model.state_dict().items() if f"{ATTRIBUTE}." not in k}
