"""Phase 2 for a COCONUT teacher (``latent.teacher_kind: coconut``): run it with its thoughts
and store its states at the thought and answer positions, in the ordinary cache format.

The manifest adds ``coconut`` (thoughts per row, what the stored rows are); each index entry
gains a sixth number, the row's thought count. ``positions`` is ``thoughts``, ``top_k`` 0.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rdistill.data.example import Example
from rdistill.errors import ConfigError
from rdistill.methods.coconut.tokens import CoconutTokens
from rdistill.methods.latent.extract import extract
from rdistill.methods.latent.layers import parse_layers
from rdistill.methods.latent.thought_rows import encode_thought_rows, thought_signals
from rdistill.models import load_model, load_tokenizer, resolve_model

STORED_ROWS = "n thought states, then one per token of '### answer' (<eos> excluded)"


def coconut_teacher_dir(name: str) -> Path:
    """A COCONUT run folder -> its merged student (``RUN/student``); a model folder -> itself."""
    student = Path(name) / "student"
    return student if (student / "config.json").is_file() else Path(resolve_model(name))


def teacher_thoughts(lat) -> int:
    """``latent.thoughts``, else the thoughts the COCONUT run answers with (``student/rdistill.json``)."""
    if lat.thoughts is not None:
        return lat.thoughts
    meta = coconut_teacher_dir(lat.teacher) / "rdistill.json"
    try:
        return int(json.loads(meta.read_text())["thoughts"])
    except (OSError, ValueError, KeyError, TypeError):
        raise ConfigError(f"latent.teacher={lat.teacher!r}: no COCONUT run metadata ({meta}) saying how many "
                          "thoughts it uses; set latent.thoughts") from None


def row_length(lat) -> int:
    return lat.max_prompt_tokens + lat.max_target_tokens


def coconut_record(lat) -> dict[str, Any]:
    return {"thoughts": teacher_thoughts(lat), "rows": STORED_ROWS}


def extract_thought_cache(lat, examples: list[Example], folder: Path, *, trust_remote_code: bool = False,
                          after_shard=None, show_progress: bool = False) -> dict:
    """Run the COCONUT teacher ``lat.teacher`` over ``examples`` into ``folder``; the manifest."""
    teacher_dir = coconut_teacher_dir(lat.teacher)
    tokenizer = load_tokenizer(str(teacher_dir), trust_remote_code=trust_remote_code)
    teacher, _ = load_model(str(teacher_dir), kind="causal", trust_remote_code=trust_remote_code)
    tokens = CoconutTokens.from_tokenizer(tokenizer)
    n_thoughts = teacher_thoughts(lat)
    layers = parse_layers(lat.layers, teacher.config.num_hidden_layers)
    return extract(teacher, tokenizer, examples, folder, teacher_name=lat.teacher, layers=layers,
                   positions="thoughts", dtype=lat.dtype, top_k=0, temperature=lat.temperature,
                   examples_per_shard=lat.examples_per_shard, batch_size=lat.extract_batch_size,
                   max_prompt_tokens=lat.max_prompt_tokens, max_target_tokens=lat.max_target_tokens,
                   after_shard=after_shard, show_progress=show_progress,
                   encode=lambda chunk: encode_thought_rows(chunk, tokenizer, tokens, n_thoughts, row_length(lat)),
                   signals=lambda rows: thought_signals(teacher, rows, layers=layers,
                                                        pad_token_id=tokenizer.pad_token_id),
                   manifest_extra={"coconut": coconut_record(lat)})
