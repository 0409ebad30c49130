"""apply_finetuning: LoRA / full / frozen_encoder on tiny models."""

from pathlib import Path

import pytest
import torch
from transformers import BertConfig, EncoderDecoderConfig, EncoderDecoderModel

from rdistill.errors import ModelError
from rdistill.models.loading import load_model, load_tokenizer
from rdistill.models.lora import BERT2BERT_TARGETS, apply_finetuning


def _lora_names(model: torch.nn.Module) -> list[str]:
    return [name for name, _ in model.named_parameters() if "lora_" in name]


def _tiny_bert2bert() -> EncoderDecoderModel:
    bert = dict(
        vocab_size=99, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=64,
    )  # fmt: skip
    config = EncoderDecoderConfig.from_encoder_decoder_configs(
        BertConfig(**bert), BertConfig(**bert)
    )
    config.decoder_start_token_id, config.pad_token_id = 2, 0
    torch.manual_seed(0)
    return EncoderDecoderModel(config=config)


def test_lora_causal_trains_only_adapters(tiny_causal_dir: Path) -> None:
    model, kind = load_model(tiny_causal_dir)
    model, counts = apply_finetuning(model, kind, "lora", r=4, alpha=8, dropout=0.0)
    assert 0 < counts["params_trainable"] < counts["params_total"]
    names = _lora_names(model)
    assert names and all("lm_head" not in n for n in names)
    assert any("q_proj" in n for n in names) and any("down_proj" in n for n in names)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == set(names)
    assert sum(p.numel() for n, p in model.named_parameters() if n in trainable) == counts[
        "params_trainable"
    ]

    tokenizer = load_tokenizer(tiny_causal_dir)
    batch = tokenizer(["premise entailment because"], return_tensors="pt")
    loss = model(**batch, labels=batch["input_ids"]).loss
    loss.backward()
    grads = [n for n, p in model.named_parameters() if p.grad is not None]
    assert grads and set(grads) <= trainable


def test_lora_seq2seq_with_explicit_targets(tiny_seq2seq_dir: Path) -> None:
    model, kind = load_model(tiny_seq2seq_dir)
    model, counts = apply_finetuning(model, kind, "lora", r=2, alpha=4, target_modules=["q", "v"])
    names = _lora_names(model)
    assert names and all(".q." in n or ".v." in n for n in names)
    assert counts["params_trainable"] == sum(
        p.numel() for n, p in model.named_parameters() if "lora_" in n
    )
    tokenizer = load_tokenizer(tiny_seq2seq_dir)
    batch = tokenizer(["premise hypothesis"], return_tensors="pt")
    labels = tokenizer(["neutral"], return_tensors="pt").input_ids
    assert torch.isfinite(model(**batch, labels=labels).loss)


def test_lora_seq2seq_default_targets_exclude_head(tiny_seq2seq_dir: Path) -> None:
    model, kind = load_model(tiny_seq2seq_dir)
    model, _ = apply_finetuning(model, kind, "lora", r=2, alpha=4)
    names = _lora_names(model)
    assert any(".encoder." in n for n in names) and any(".decoder." in n for n in names)
    assert all("lm_head" not in n for n in names)


def test_lora_unknown_targets_raise(tiny_causal_dir: Path) -> None:
    model, kind = load_model(tiny_causal_dir)
    with pytest.raises(ModelError, match="match no layer"):
        apply_finetuning(model, kind, "lora", target_modules=["no_such_layer"])


def test_full_trains_everything(tiny_causal_dir: Path) -> None:
    model, kind = load_model(tiny_causal_dir)
    model, counts = apply_finetuning(model, kind, "full")
    assert counts["params_trainable"] == counts["params_total"] > 0


def test_frozen_encoder_freezes_only_the_encoder(tiny_seq2seq_dir: Path) -> None:
    model, kind = load_model(tiny_seq2seq_dir)
    model, counts = apply_finetuning(model, kind, "frozen_encoder")
    encoder_ids = {id(p) for p in model.get_encoder().parameters()}
    for name, param in model.named_parameters():
        assert param.requires_grad == (id(param) not in encoder_ids), name
    decoder_only = [p for p in model.get_decoder().parameters() if id(p) not in encoder_ids]
    assert decoder_only and all(p.requires_grad for p in decoder_only)
    assert 0 < counts["params_trainable"] < counts["params_total"]


def test_frozen_encoder_needs_seq2seq(tiny_causal_dir: Path) -> None:
    model, kind = load_model(tiny_causal_dir)
    with pytest.raises(ModelError, match="needs an encoder-decoder"):
        apply_finetuning(model, kind, "frozen_encoder")


def test_bad_mode_raises(tiny_causal_dir: Path) -> None:
    model, kind = load_model(tiny_causal_dir)
    with pytest.raises(ModelError, match="not one of: lora, full, frozen_encoder"):
        apply_finetuning(model, kind, "half")  # type: ignore[arg-type]


def test_bert2bert_default_targets_skip_pooler_and_head() -> None:
    model, counts = apply_finetuning(_tiny_bert2bert(), "seq2seq", "lora", r=2, alpha=4)
    wrapped = {n.rsplit(".lora_", 1)[0] for n in _lora_names(model)}
    assert wrapped and not any("pooler" in n or "cls.predictions" in n for n in wrapped)
    for part in ("query", "key", "value", "attention.output.dense", "intermediate.dense"):
        assert any(n.endswith(part) and ".encoder.encoder." in n for n in wrapped), part
    assert any("crossattention.self.query" in n for n in wrapped)
    assert 0 < counts["params_trainable"] < counts["params_total"]
    labels = torch.tensor([[5, 6, 7, 3]])
    out = model(input_ids=torch.tensor([[2, 8, 9, 3]]), labels=labels)
    assert torch.isfinite(out.loss)


def test_bert2bert_regex_is_what_peft_matches() -> None:
    import re

    assert re.fullmatch(BERT2BERT_TARGETS, "decoder.bert.encoder.layer.0.crossattention.self.key")
    assert not re.fullmatch(BERT2BERT_TARGETS, "encoder.pooler.dense")
    assert not re.fullmatch(BERT2BERT_TARGETS, "decoder.cls.predictions.transform.dense")
