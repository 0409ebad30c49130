"""Real pretrained models shipped on PyPI: SmolLM2 GGUF conversion, MiniLM encoder-decoder.

Slow-ish (SmolLM2 conversion 15-40 s, ~1.6 GB RAM). Set RDISTILL_CACHE to reuse a
conversion across runs.
"""

import json
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, EncoderDecoderModel

from rdistill.models import apply_finetuning, load_gguf, load_model, load_tokenizer, resolve_model
from rdistill.models.gguf import SOURCE_FILE, is_converted
from rdistill.models.packaged import smollm2_gguf_path

pytestmark = [pytest.mark.real_model, pytest.mark.slow]


def test_smollm2_conversion_matches_gguf(smollm2_dir: Path) -> None:
    source = json.loads((smollm2_dir / SOURCE_FILE).read_text())
    assert source["gguf_file"] == smollm2_gguf_path().name and len(source["sha256"]) == 64
    assert (smollm2_dir / "model.safetensors").is_file()
    assert "quantization_config" not in json.loads((smollm2_dir / "config.json").read_text())

    model, kind = load_model("smollm2-135m-instruct")
    assert kind == "causal" and getattr(model, "hf_quantizer", None) is None
    tokenizer = load_tokenizer("smollm2-135m-instruct")
    assert tokenizer.pad_token is not None and tokenizer.chat_template

    batch = tokenizer(["The premise entails the hypothesis because"], return_tensors="pt")
    gguf_model, _ = load_gguf(smollm2_gguf_path())
    with torch.no_grad():
        converted = model(**batch).logits
        reference = gguf_model(**batch).logits
    assert (converted - reference).abs().max().item() < 1e-4
    generated = model.generate(**batch, max_new_tokens=3, do_sample=False)
    assert generated.shape[1] == batch["input_ids"].shape[1] + 3


def test_smollm2_conversion_is_reused(smollm2_dir: Path) -> None:
    stamp = (smollm2_dir / "model.safetensors").stat().st_mtime_ns
    assert is_converted(smollm2_dir, smollm2_gguf_path())
    assert Path(resolve_model("smollm2-135m-instruct")) == smollm2_dir
    assert (smollm2_dir / "model.safetensors").stat().st_mtime_ns == stamp
    reloaded = AutoModelForCausalLM.from_pretrained(smollm2_dir, dtype=torch.float32)
    assert reloaded.lm_head.weight.data_ptr() == reloaded.model.embed_tokens.weight.data_ptr()


def test_minilm_encoder_decoder_trains_and_generates(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("RDISTILL_CACHE", str(tmp_path))
    model, kind = load_model("minilm-encoder-decoder")
    assert kind == "seq2seq" and isinstance(model, EncoderDecoderModel)
    assert (tmp_path / "models" / "minilm-encoder-decoder" / "model.safetensors").is_file()
    for cfg in (model.config, model.generation_config):
        assert (cfg.decoder_start_token_id, cfg.eos_token_id, cfg.pad_token_id) == (101, 102, 0)
    assert not model.config.tie_encoder_decoder
    assert 45e6 < sum(p.numel() for p in model.parameters()) < 55e6

    tokenizer = load_tokenizer("minilm-encoder-decoder")
    batch = tokenizer(["premise: a dog runs. hypothesis: an animal moves."], return_tensors="pt")
    labels = tokenizer(["entailment because a dog is an animal"], return_tensors="pt").input_ids
    labels = labels[:, 1:]  # drop [CLS]: the model prepends decoder_start_token_id itself
    model.train()
    loss = model(**batch, labels=labels).loss
    assert torch.isfinite(loss)
    loss.backward()
    torch.optim.SGD(model.parameters(), lr=1e-3).step()

    model.eval()
    generated = model.generate(**batch, max_new_tokens=4, do_sample=False)
    assert generated[0, 0].item() == 101 and 1 < generated.shape[1] <= 5

    lora_model, counts = apply_finetuning(model, kind, "lora", r=4, alpha=8)
    assert 0 < counts["params_trainable"] < 0.1 * counts["params_total"]
