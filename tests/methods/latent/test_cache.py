"""Extraction cache: write/read round trip, top-k, resume after a crash, refusals."""

import json

import pytest
import torch

from rdistill.methods.registry import load_recipe
from rdistill.errors import DataError
from rdistill.methods.latent.cache import LatentCache
from rdistill.methods.latent.extract import extract
from rdistill.methods.latent.manifest import check_cache_matches, data_fingerprint, vocab_hash
from rdistill.methods.latent.run import extract_cache
from rdistill.methods.latent.teacher_signal import teacher_signals
from rdistill.tasks.latent_layout import encode_latent, latent_text
from rdistill.models import load_model, load_tokenizer


class Crash(Exception):
    pass


def _cfg(latent_config, tiny_causal_dir, cache, **latent):
    return load_recipe(None, raw=latent_config(tiny_causal_dir, tiny_causal_dir, cache, **latent))


def test_round_trip_equals_the_teacher(tmp_path, tiny_causal_dir, examples, latent_config):
    cfg = _cfg(latent_config, tiny_causal_dir, tmp_path / "c", top_k=5)
    manifest = extract_cache(cfg, examples=examples)
    assert manifest["complete"] and manifest["layers"] == [1, 2] and len(manifest["shards"]) == 3  # 10 / 4
    assert manifest["data"]["fingerprint"] == data_fingerprint(examples)
    stats = manifest["stats"]
    assert stats["bytes_per_example"] == pytest.approx(stats["bytes_total"] / 10)
    assert stats["hidden_bytes_per_position"] == 2 * 32 * 4  # 2 layers x hidden 32 x fp32
    assert stats["kd_bytes_per_token"] == 5 * 4 + 5 * 4 + 4  # log-probs fp32, ids int32, rest fp32

    teacher, _ = load_model(tiny_causal_dir)
    tok = load_tokenizer(tiny_causal_dir)
    rows = [encode_latent(latent_text(ex), tok, max_prompt_tokens=256, max_target_tokens=256) for ex in examples]
    direct = teacher_signals(teacher, rows[:2], layers=[1, 2], positions="target", top_k=5,
                             temperature=1.0, pad_token_id=tok.pad_token_id)
    cache = LatentCache(tmp_path / "c", verify="open")
    for ex, want, row in zip(examples, direct, rows):
        got = cache.get(ex.uid)
        assert got["hidden"].shape == (len(row["target_positions"]), 2, 32)
        torch.testing.assert_close(got["hidden"], want["hidden"], rtol=1e-5, atol=1e-5)
        assert torch.equal(got["offsets"], want["offsets"])
        assert torch.equal(got["topk_ids"], want["topk_ids"])
        # top-k plus the rest bucket is a distribution
        mass = got["topk_logprobs"].exp().sum(-1) + got["rest_logmass"].exp()
        torch.testing.assert_close(mass, torch.ones_like(mass), rtol=1e-4, atol=1e-4)
        assert len(got["topk_ids"]) == len(row["target_positions"]) + 1  # + EOS
    only_last = cache.get("ex0", layers=[2])["hidden"]
    torch.testing.assert_close(only_last[:, 0], direct[0]["hidden"][:, 1], rtol=1e-5, atol=1e-5)


def test_mean_and_answer_positions(tmp_path, tiny_causal_dir, examples, latent_config):
    extract_cache(_cfg(latent_config, tiny_causal_dir, tmp_path / "m", positions="mean"), examples=examples)
    extract_cache(_cfg(latent_config, tiny_causal_dir, tmp_path / "a", positions="answer"), examples=examples)
    assert LatentCache(tmp_path / "m").get("ex3")["hidden"].shape == (1, 2, 32)
    answer = LatentCache(tmp_path / "a").get("ex3")
    assert answer["hidden"].shape[0] >= 1
    text = latent_text(examples[3])
    full = text.prompt + text.target
    assert "".join(full[a:b] for a, b in answer["offsets"].tolist()) == "5"


def test_resume_after_a_crash_between_shards(tmp_path, tiny_causal_dir, examples, latent_config):
    cfg = _cfg(latent_config, tiny_causal_dir, tmp_path / "crash", dtype="fp16")

    def crash_after_first(i):
        if i == 0:
            raise Crash

    with pytest.raises(Crash):
        extract_cache(cfg, examples=examples, after_shard=crash_after_first)
    folder = tmp_path / "crash"
    assert (folder / "shard-00000.json").is_file() and not (folder / "shard-00001.json").exists()
    with pytest.raises(DataError, match="incomplete"):
        LatentCache(folder)
    first = (folder / "shard-00000.safetensors").stat().st_mtime_ns
    manifest = extract_cache(cfg, examples=examples)
    assert manifest["stats"]["shards_reused"] == 1
    assert (folder / "shard-00000.safetensors").stat().st_mtime_ns == first  # not rewritten
    clean = extract_cache(_cfg(latent_config, tiny_causal_dir, tmp_path / "clean", dtype="fp16"), examples=examples)
    assert [s["sha256"] for s in manifest["shards"]] == [s["sha256"] for s in clean["shards"]]
    assert not list(folder.glob(".*tmp"))
    # complete: a further run (a sweep's next variant) returns the manifest untouched
    again = extract_cache(cfg, examples=examples)
    assert again == manifest and (folder / "shard-00000.safetensors").stat().st_mtime_ns == first


def test_restart_with_other_settings_is_refused(tmp_path, tiny_causal_dir, examples, latent_config):
    extract_cache(_cfg(latent_config, tiny_causal_dir, tmp_path / "c"), examples=examples)
    with pytest.raises(DataError, match=r"different extraction \(layers: cache \[1, 2\] vs now \[2\]"):
        extract_cache(_cfg(latent_config, tiny_causal_dir, tmp_path / "c", layers=[2]), examples=examples)


def test_manifest_mismatch_is_refused(tmp_path, tiny_causal_dir, tiny_other_dir, examples, latent_config):
    extract_cache(_cfg(latent_config, tiny_causal_dir, tmp_path / "c"), examples=examples)
    manifest = LatentCache(tmp_path / "c").manifest
    ok = dict(teacher=str(tiny_causal_dir), layers=[2], data=data_fingerprint(examples),
              tokenizer_vocab_hash=vocab_hash(load_tokenizer(tiny_causal_dir)), positions="target")
    check_cache_matches(manifest, "c", **ok)
    for change, message in [
        (dict(teacher="other-teacher"), "teacher: cache"),
        (dict(layers=[0, 2]), r"layers \[0\] not stored"),
        (dict(data=data_fingerprint(examples[:-1])), "data fingerprint differs"),
        (dict(tokenizer_vocab_hash=vocab_hash(load_tokenizer(tiny_other_dir))), "another vocabulary"),
        (dict(positions="mean"), "positions: cache 'target', run 'mean'"),
        (dict(needs_top_k=True), "no top-k log-probabilities stored"),
    ]:
        with pytest.raises(DataError, match=message) as err:
            check_cache_matches(manifest, "c", **{**ok, **change})
        assert "rdistill extract" in str(err.value)


def test_corrupted_shard_fails_its_checksum(tmp_path, tiny_causal_dir, examples, latent_config):
    extract_cache(_cfg(latent_config, tiny_causal_dir, tmp_path / "c"), examples=examples)
    shard = tmp_path / "c" / "shard-00001.safetensors"
    data = bytearray(shard.read_bytes())
    data[-1] ^= 0xFF
    shard.write_bytes(bytes(data))
    cache = LatentCache(tmp_path / "c")  # lazy: shard 0 still reads
    cache.get("ex0")
    with pytest.raises(DataError, match="shard-00001.safetensors fails its sha256"):
        cache.get("ex5")
    with pytest.raises(DataError, match="sha256"):
        LatentCache(tmp_path / "c", verify="open")
    index = json.loads((tmp_path / "c" / "index.json").read_text())
    assert index["ex5"][0] == 1


def test_duplicate_uids_are_refused(tmp_path, tiny_causal_dir, examples):
    teacher, _ = load_model(tiny_causal_dir)
    with pytest.raises(DataError, match="not unique"):
        extract(teacher, load_tokenizer(tiny_causal_dir), examples + examples[:1], tmp_path, teacher_name="t",
                layers=[1], positions="target", dtype="fp32", top_k=0, temperature=1.0, examples_per_shard=4,
                batch_size=2, max_prompt_tokens=64, max_target_tokens=64)
