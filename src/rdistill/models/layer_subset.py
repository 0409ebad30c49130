"""A student made from its teacher by keeping a subset of the teacher's blocks.

Keeping every other block halves depth while the student inherits the teacher's
embeddings, tokenizer and a good initialisation (cf. DistilBERT), so teacher and
student share a vocabulary and logit KD stays possible.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from torch import nn

from rdistill.errors import ModelError
from rdistill.io import write_json_atomic

log = logging.getLogger(__name__)
MARKER = "rdistill_layer_subset.json"


def kept_blocks(spec: str | list[int], num_layers: int) -> list[int]:
    """0-based block indices: ``"every_other"`` = 1, 3, 5, ... (the last block is kept), or a list."""
    if spec == "every_other":
        return list(range(num_layers - 1, -1, -2))[::-1]
    blocks = sorted(set(spec))
    if not blocks or blocks[0] < 0 or blocks[-1] >= num_layers:
        raise ModelError(f"layers to keep {spec!r} must be block indices in 0..{num_layers - 1}")
    return blocks


def keep_layers(model: nn.Module, blocks: list[int]) -> nn.Module:
    """Drop every decoder block not in ``blocks`` (in place) and fix the config to match."""
    body = getattr(model, "model", None)
    layers = getattr(body, "layers", None)
    if not isinstance(layers, nn.ModuleList):
        raise ModelError(f"{type(model).__name__} has no model.layers block list; layer subsets "
                         "support Llama/Gemma/Qwen-style decoders")
    body.layers = nn.ModuleList(layers[i] for i in blocks)
    for new_index, layer in enumerate(body.layers):
        attn = getattr(layer, "self_attn", None)
        if attn is not None and hasattr(attn, "layer_idx"):
            attn.layer_idx = new_index  # the KV cache is indexed by position in the new stack
    cfg = model.config
    if isinstance(getattr(cfg, "layer_types", None), list):
        cfg.layer_types = [cfg.layer_types[i] for i in blocks]
    cfg.num_hidden_layers = len(blocks)
    return model


def build_layer_subset(teacher_dir: str | Path, spec: str | list[int], out_dir: str | Path) -> Path:
    """Save a layer-subset copy of the model in ``teacher_dir`` (model + tokenizer) to ``out_dir``.

    Re-uses an existing ``out_dir`` built from the same teacher and blocks.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = Path(out_dir)
    config = json.loads((Path(teacher_dir) / "config.json").read_text())
    blocks = kept_blocks(spec, config["num_hidden_layers"])
    record = {"teacher": str(teacher_dir), "blocks": blocks}
    marker = out / MARKER
    if marker.is_file() and json.loads(marker.read_text()) == record:
        return out
    model = AutoModelForCausalLM.from_pretrained(teacher_dir)
    keep_layers(model, blocks)
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(teacher_dir).save_pretrained(out)
    write_json_atomic(marker, record)
    log.info("layer-subset student: blocks %s of %s -> %s", blocks, teacher_dir, out)
    return out
