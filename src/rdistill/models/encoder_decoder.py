"""A small encoder-decoder student warm-started from two copies of all-MiniLM-L6-v2.

Both halves start from the same BERT checkpoint (Rothe et al., 2020, "Leveraging
Pre-trained Checkpoints for Sequence Generation Tasks"); cross-attention and the
decoder's LM-head transform start random, so the model must be fine-tuned before
it produces anything useful.

Labels: the model builds ``decoder_input_ids`` by shifting ``labels`` right and
prepending ``decoder_start_token_id`` ([CLS]), so labels should be the target ids
*without* a leading [CLS] and ending with [SEP] (pad positions set to -100).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import transformers
from transformers import AutoTokenizer, EncoderDecoderModel

from rdistill.errors import ModelError
from rdistill.models.cache import atomic_dir
from rdistill.models.packaged import minilm_dir

logger = logging.getLogger(__name__)

# BERT's special tokens double as the decoder's start/end: [CLS] starts, [SEP] ends, [PAD] pads.
CLS_ID, SEP_ID, PAD_ID = 101, 102, 0
SOURCE_FILE = "rdistill_source.json"


def build_minilm_encoder_decoder(out_dir: str | Path, base_dir: str | Path | None = None) -> Path:
    """Build a BERT2BERT model from MiniLM (``base_dir``, default the packaged copy) at ``out_dir``.

    ~49 M parameters; encoder and decoder weights are not tied. The folder holds
    safetensors weights, the BERT tokenizer and a generation config with
    ``decoder_start_token_id=101``, ``eos_token_id=102``, ``pad_token_id=0``; it
    loads with ``AutoModelForSeq2SeqLM``. Written atomically; returns ``out_dir``.
    """
    base = Path(base_dir) if base_dir is not None else minilm_dir()
    out_dir = Path(out_dir)
    logger.info("building MiniLM encoder-decoder from %s -> %s", base, out_dir)
    tokenizer = AutoTokenizer.from_pretrained(base)
    if (tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id) != (
        CLS_ID,
        SEP_ID,
        PAD_ID,
    ):
        raise ModelError(
            f"{base} does not use the BERT uncased vocabulary ([CLS]=101, [SEP]=102, [PAD]=0); "
            "give an all-MiniLM-L6-v2 folder"
        )
    # Missing cross-attention weights are expected here; silence the long load report.
    verbosity = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()
    try:
        model = EncoderDecoderModel.from_encoder_decoder_pretrained(
            str(base), str(base), tie_encoder_decoder=False
        )
    finally:
        transformers.logging.set_verbosity(verbosity)
    # Set on both: the model reads config for label shifting, generate() reads generation_config.
    for cfg in (model.config, model.generation_config):
        cfg.decoder_start_token_id = CLS_ID
        cfg.eos_token_id = SEP_ID
        cfg.pad_token_id = PAD_ID
    model.config.vocab_size = model.config.decoder.vocab_size
    model.eval()
    with atomic_dir(out_dir) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        source = {
            "base": str(base),
            "recipe": "EncoderDecoderModel.from_encoder_decoder_pretrained(base, base)",
            "transformers": transformers.__version__,
        }
        (tmp / SOURCE_FILE).write_text(json.dumps(source, indent=2) + "\n")
    return out_dir
