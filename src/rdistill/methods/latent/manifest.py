"""What an extraction cache holds, fingerprinted so that a run never trains on the wrong one.

``manifest.json`` records the teacher (name, config hash), layers, positions, dtype,
top-k settings, the teacher tokenizer (name, vocab hash) and the data fingerprint.
A cache is used only when every field the run depends on matches; otherwise the
error names each differing field and how to fix it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from rdistill.data.example import Example
from rdistill.errors import DataError
from rdistill.tasks.latent_layout import latent_text

FORMAT_VERSION = 1
# Fields that change what is stored: a restart with another value must not mix shards.
IDENTITY_FIELDS = ("format_version", "teacher", "layers", "positions", "dtype", "top_k", "temperature",
                   "tokenizer", "data", "examples_per_shard", "max_prompt_tokens", "max_target_tokens",
                   "coconut")


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def data_fingerprint(examples: list[Example]) -> str:
    """sha256 over each example's uid, prompt and target text, in order."""
    h = hashlib.sha256()
    for ex in examples:
        text = latent_text(ex)
        h.update(json.dumps([ex.uid, text.prompt, text.target]).encode("utf-8"))
    return h.hexdigest()


def vocab_hash(tokenizer) -> str:
    """sha256 of the (token, id) pairs: equal hashes, same vocabulary."""
    return _sha256(json.dumps(sorted(tokenizer.get_vocab().items())))


def model_config_hash(model) -> str:
    """sha256 of the architecture config, without fields that vary across saves of one model."""
    cfg = model.config.to_dict()
    for key in ("transformers_version", "_name_or_path", "dtype", "torch_dtype", "quantization_config"):
        cfg.pop(key, None)
    return _sha256(json.dumps(cfg, sort_keys=True, default=str))


def tokenizer_record(name: str, tokenizer) -> dict[str, Any]:
    return {"name": name, "vocab_hash": vocab_hash(tokenizer), "vocab_size": len(tokenizer)}


def identity(manifest: dict[str, Any]) -> dict[str, Any]:
    return {k: manifest.get(k) for k in IDENTITY_FIELDS}


def check_same_extraction(found: dict[str, Any], wanted: dict[str, Any], where: str) -> None:
    """Refuse to resume into a cache folder made by a different extraction."""
    diffs = [k for k in IDENTITY_FIELDS if found.get(k) != wanted.get(k)]
    if diffs:
        details = "; ".join(f"{k}: cache {found.get(k)!r} vs now {wanted.get(k)!r}" for k in diffs)
        raise DataError(f"{where} holds a different extraction ({details}); set another "
                        "latent.cache_dir or delete that folder to start over")


def check_cache_matches(manifest: dict[str, Any], where: str, *, teacher: str | None = None,
                        teacher_config_hash: str | None = None, layers: list[int] | None = None,
                        tokenizer_vocab_hash: str | None = None, data: str | None = None,
                        positions: str | None = None, needs_top_k: bool = False,
                        temperature: float | None = None, thoughts: int | None = None) -> None:
    """Raise DataError listing every way ``manifest`` differs from what the run needs."""
    problems = []
    t = manifest.get("teacher", {})
    if teacher is not None and t.get("name") != teacher:
        problems.append(f"teacher: cache {t.get('name')!r}, run {teacher!r}")
    if teacher_config_hash is not None and t.get("config_hash") != teacher_config_hash:
        problems.append("teacher config hash differs (same name, different model)")
    if layers is not None:
        missing = sorted(set(layers) - set(manifest.get("layers", [])))
        if missing:
            problems.append(f"layers {missing} not stored (cache has {manifest.get('layers')})")
    if tokenizer_vocab_hash is not None and manifest.get("tokenizer", {}).get("vocab_hash") != tokenizer_vocab_hash:
        problems.append(f"tokenizer: cache {manifest.get('tokenizer', {}).get('name')!r} has another vocabulary")
    if data is not None and manifest.get("data", {}).get("fingerprint") != data:
        problems.append("data fingerprint differs (other examples, split, order or text format)")
    if positions is not None and manifest.get("positions") != positions:
        problems.append(f"positions: cache {manifest.get('positions')!r}, run {positions!r}")
    if needs_top_k and not manifest.get("top_k"):
        problems.append("no top-k log-probabilities stored (extract with latent.top_k > 0)")
    if needs_top_k and temperature is not None and manifest.get("temperature") != temperature:
        problems.append(f"temperature: cache {manifest.get('temperature')}, run {temperature}")
    stored_thoughts = (manifest.get("coconut") or {}).get("thoughts")
    if thoughts is not None and stored_thoughts != thoughts:
        problems.append(f"thoughts per row: cache {stored_thoughts}, run {thoughts} (latent.thoughts; a "
                        "COCONUT teacher's cache holds one thought count)")
    if problems:
        raise DataError(f"latent cache {where} does not match this run: " + "; ".join(problems)
                        + ". Re-run `rdistill extract` with this config (or point latent.cache_dir "
                        "at the matching cache).")
