"""The LM head applied only where logits are needed (decoder-only models).

A decoder-only forward returns ``(B, T, V)`` logits, 49k wide for SmolLM2;
training needs them only at target positions and label scoring only at one
position per row. Running the backbone and then the head on the wanted hidden
states gives the same numbers for a fraction of the head's FLOPs and memory.
"""

from __future__ import annotations

import torch


def unwrap(model):
    """The transformers model inside peft / accelerate wrappers (LoRA layers stay injected)."""
    model = getattr(model, "module", model)
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def causal_hidden(model, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Last hidden states ``(B, T, H)`` of a decoder-only model, before its LM head."""
    return unwrap(model).base_model(input_ids=input_ids, attention_mask=attention_mask,
                                    use_cache=False).last_hidden_state


def lm_head(model, hidden: torch.Tensor) -> torch.Tensor:
    """Logits ``(..., V)`` for hidden states ``(..., H)``, with the model's final soft-cap if any."""
    base = unwrap(model)
    logits = base.get_output_embeddings()(hidden)
    softcap = getattr(base.config, "final_logit_softcapping", None)
    return torch.tanh(logits / softcap) * softcap if softcap else logits
