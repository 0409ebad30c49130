"""Load students and teachers (alias, folder, PyPI-shipped GGUF, Hub id) and set up LoRA."""

from rdistill.models.cache import cache_dir
from rdistill.models.encoder_decoder import build_minilm_encoder_decoder
from rdistill.models.gguf import convert_gguf, load_gguf
from rdistill.models.loading import (
    ALIASES,
    converted_gguf_folder,
    load_model,
    load_tokenizer,
    resolve_model,
)
from rdistill.models.lora import apply_finetuning, count_parameters
from rdistill.models.packaged import minilm_dir, smollm2_gguf_path

__all__ = [
    "ALIASES",
    "apply_finetuning",
    "build_minilm_encoder_decoder",
    "cache_dir",
    "convert_gguf",
    "converted_gguf_folder",
    "count_parameters",
    "load_gguf",
    "load_model",
    "load_tokenizer",
    "minilm_dir",
    "resolve_model",
    "smollm2_gguf_path",
]
