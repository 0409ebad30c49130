"""Phase 2: run the teacher once over the training set and store its signals on disk.

Layout of a cache folder::

    manifest.json              what was extracted (see manifest.py), shard checksums, sizes
    index.json                 uid -> [shard, hidden_start, hidden_length, kd_start, kd_length(, n_thoughts)]
    shard-00000.safetensors    hidden (N, L, H), offsets (N, 2) int32
                               [+ topk_logprobs (M, k), topk_ids (M, k) int32, rest_logmass (M,)]
    shard-00000.json           that shard's entries, sha256 and byte count (written last)

Shards hold ``examples_per_shard`` consecutive examples and are written atomically,
sidecar after data; a restart re-uses every shard whose sidecar exists and whose
checksum holds, so a crash costs at most one shard of teacher time.

Under ``accelerate launch`` (N processes) shard i is extracted by rank i % N; the main process
writes ``index.json`` and the final manifest from every rank's shard records once all are done.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from rdistill.data.example import Example
from rdistill.errors import DataError
from rdistill.io import file_sha256, write_json_atomic
from rdistill.methods.latent.manifest import (
    FORMAT_VERSION,
    check_same_extraction,
    data_fingerprint,
    model_config_hash,
    tokenizer_record,
)
from rdistill.methods.latent.teacher_signal import teacher_signals
from rdistill.tasks.latent_layout import encode_latent, latent_text
from rdistill.training.distributed import (
    gather_objects,
    is_main_process,
    main_process_first,
    process_device,
    rank,
    wait_for_everyone,
    world_size,
)

log = logging.getLogger("rdistill.methods.latent.extract")

DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}


def shard_name(i: int) -> str:
    return f"shard-{i:05d}"


def _complete_shard(folder: Path, i: int) -> dict | None:
    """The sidecar of shard ``i`` if the shard is complete and intact, else None."""
    side, data = folder / f"{shard_name(i)}.json", folder / f"{shard_name(i)}.safetensors"
    if not side.is_file() or not data.is_file():
        return None
    meta = json.loads(side.read_text())
    if data.stat().st_size != meta["bytes"] or file_sha256(data) != meta["sha256"]:
        log.warning("shard %d is damaged (size or checksum); extracting it again", i)
        return None
    return meta


def _write_shard(folder: Path, i: int, uids: list[str], items: list[dict], dtype: torch.dtype) -> dict:
    hidden = torch.cat([it["hidden"] for it in items]).to(dtype)
    tensors = {"hidden": hidden.contiguous(), "offsets": torch.cat([it["offsets"] for it in items])}
    entries, h0, k0 = [], 0, 0
    for uid, it in zip(uids, items):
        m = len(it["topk_ids"]) if "topk_ids" in it else 0
        # A COCONUT teacher's rows also say how many of their stored positions are thoughts.
        entries.append([uid, h0, len(it["hidden"]), k0, m, *([it["n_thoughts"]] if "n_thoughts" in it else [])])
        h0, k0 = h0 + len(it["hidden"]), k0 + m
    if "topk_ids" in items[0]:
        tensors["topk_logprobs"] = torch.cat([it["topk_logprobs"] for it in items]).to(dtype).contiguous()
        tensors["topk_ids"] = torch.cat([it["topk_ids"] for it in items]).contiguous()
        tensors["rest_logmass"] = torch.cat([it["rest_logmass"] for it in items]).float().contiguous()
    data = folder / f"{shard_name(i)}.safetensors"
    tmp = folder / f".{data.name}.tmp"
    save_file(tensors, str(tmp))
    os.replace(tmp, data)  # atomic: a crash leaves the old state or the whole new shard
    kd_bytes = sum(t.numel() * t.element_size() for k, t in tensors.items()
                   if k in ("topk_logprobs", "topk_ids", "rest_logmass"))
    meta = {"shard": i, "entries": entries, "bytes": data.stat().st_size, "sha256": file_sha256(data),
            "hidden_rows": h0, "kd_rows": k0, "kd_bytes": kd_bytes,
            "hidden_bytes": hidden.numel() * hidden.element_size()}
    write_json_atomic(folder / f"{shard_name(i)}.json", meta)
    return meta


def extract(teacher, tokenizer, examples: list[Example], folder: str | Path, *, teacher_name: str,
            layers: list[int], positions: str, dtype: str, top_k: int, temperature: float,
            examples_per_shard: int, batch_size: int, max_prompt_tokens: int, max_target_tokens: int,
            after_shard: Callable[[int], None] | None = None, show_progress: bool = False,
            encode: Callable[[list[Example]], list[dict]] | None = None,
            signals: Callable[[list[dict]], list[dict]] | None = None,
            manifest_extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Extract (or finish extracting) a cache into ``folder``; returns the final manifest.

    ``after_shard(i)`` is called after shard ``i`` is on disk (tests use it to crash there).
    ``encode`` (examples -> rows) and ``signals`` (a batch of rows -> items) replace the plain
    teacher's text layout and forward (a COCONUT teacher runs its thoughts: ``thought_signals``);
    ``manifest_extra`` adds identity fields (``coconut``) that a resumed extraction must match.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if len({ex.uid for ex in examples}) != len(examples):
        raise DataError("example uids are not unique: the cache index needs one entry per uid")
    manifest = {
        "format_version": FORMAT_VERSION,
        "teacher": {"name": teacher_name, "config_hash": model_config_hash(teacher),
                    "num_layers": teacher.config.num_hidden_layers, "hidden_size": teacher.config.hidden_size},
        "layers": layers, "positions": positions, "dtype": dtype, "top_k": top_k, "temperature": temperature,
        "tokenizer": tokenizer_record(getattr(tokenizer, "name_or_path", ""), tokenizer),
        "data": {"fingerprint": data_fingerprint(examples), "n_examples": len(examples)},
        "examples_per_shard": examples_per_shard, "max_prompt_tokens": max_prompt_tokens,
        "max_target_tokens": max_target_tokens, **(manifest_extra or {}), "complete": False,
    }
    manifest_path = folder / "manifest.json"
    with main_process_first():  # the main process writes the first manifest; the others then check it
        if manifest_path.is_file():
            existing = json.loads(manifest_path.read_text())
            check_same_extraction(existing, manifest, str(folder))
            if existing.get("complete"):
                # Finished before: nothing to do, and its stats (time, size) stay those of the extraction.
                log.info("cache %s: complete, reused as is", folder)
                return existing
        else:
            write_json_atomic(manifest_path, manifest)
    n_shards = (len(examples) + examples_per_shard - 1) // examples_per_shard
    # Under N processes shard i is rank i % N's: no row is extracted twice, and since completeness
    # is per shard, a rerun with another process count re-uses every shard any rank finished.
    mine = range(rank(), n_shards, world_size())
    teacher.eval()
    if world_size() > 1:  # one GPU per rank (a single process keeps the teacher where it was loaded)
        teacher.to(process_device())
    started, reused, truncated, extracted = time.perf_counter(), 0, 0, []
    shards = []
    from tqdm.auto import tqdm

    for i in tqdm(mine, desc="extract", unit="shard", disable=not (show_progress and is_main_process())):
        meta = _complete_shard(folder, i)
        if meta is not None:
            reused += 1
        else:
            chunk = examples[i * examples_per_shard:(i + 1) * examples_per_shard]
            rows = encode(chunk) if encode else [
                encode_latent(latent_text(ex), tokenizer, max_prompt_tokens=max_prompt_tokens,
                              max_target_tokens=max_target_tokens) for ex in chunk]
            truncated += sum(r.get("truncated", False) for r in rows)
            items = []
            for b in range(0, len(rows), batch_size):
                items += signals(rows[b:b + batch_size]) if signals else teacher_signals(
                    teacher, rows[b:b + batch_size], layers=layers, positions=positions, top_k=top_k,
                    temperature=temperature, pad_token_id=tokenizer.pad_token_id)
            meta = _write_shard(folder, i, [ex.uid for ex in chunk], items, DTYPES[dtype])
            extracted.append(i)
        shards.append(meta)
        if after_shard is not None:
            after_shard(i)
    # Every rank's shard records, in shard order, on every rank: one index and manifest from them.
    per_rank = gather_objects({"shards": shards, "reused": reused, "truncated": truncated, "extracted": extracted})
    shards = sorted((m for r in per_rank for m in r["shards"]), key=lambda m: m["shard"])
    reused, truncated = sum(r["reused"] for r in per_rank), sum(r["truncated"] for r in per_rank)
    index = {entry[0]: [m["shard"], *entry[1:]] for m in shards for entry in m["entries"]}
    n = max(len(examples), 1)
    hidden_rows = sum(m["hidden_rows"] for m in shards)
    kd_rows = sum(m["kd_rows"] for m in shards)
    total = sum(m["bytes"] for m in shards)
    manifest.update(complete=True, shards=[{"file": f"{shard_name(m['shard'])}.safetensors",
                                            "sha256": m["sha256"], "bytes": m["bytes"]} for m in shards],
                    stats={"bytes_total": total, "bytes_per_example": total / n,
                           "hidden_bytes_per_position": (sum(m["hidden_bytes"] for m in shards)
                                                         / max(hidden_rows, 1)),
                           "kd_bytes_per_token": sum(m["kd_bytes"] for m in shards) / max(kd_rows, 1)
                           if top_k else None,
                           "positions_stored": hidden_rows, "kd_tokens_stored": kd_rows,
                           "shards_reused": reused, "targets_truncated_this_run": truncated,
                           "processes": len(per_rank), "shards_extracted_by_rank": [r["extracted"] for r in per_rank],
                           "seconds_this_run": round(time.perf_counter() - started, 2)})
    if is_main_process():
        write_json_atomic(folder / "index.json", index)
        write_json_atomic(manifest_path, manifest)
    wait_for_everyone()  # the other ranks return once the cache is whole (training opens it next)
    log.info("cache %s: %d examples, %.1f kB/example%s (%d shards, %d reused)", folder, len(examples),
             total / n / 1e3, (f", top-k {manifest['stats']['kd_bytes_per_token']:.0f} B/token" if top_k else ""),
             n_shards, reused)
    return manifest
