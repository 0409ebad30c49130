"""The three COCONUT tokens: added once, rows trainable under LoRA (and saved with the adapter)."""

from __future__ import annotations

import pytest
import torch

from rdistill.errors import ModelError
from rdistill.methods.coconut.collator import CoconutCollator
from rdistill.methods.coconut.curriculum import encode_row
from rdistill.methods.coconut.thoughts import coconut_forward
from rdistill.methods.coconut.tokens import CoconutTokens, add_coconut_tokens, make_token_rows_trainable
from rdistill.models import apply_finetuning


def test_tokens_are_added_once_and_the_embedding_grows(coconut_student):
    model, tokenizer, tokens = coconut_student
    assert model.get_input_embeddings().weight.shape[0] == len(tokenizer) == tokens.latent_id + 1
    assert add_coconut_tokens(tokenizer, model) == tokens  # idempotent
    assert tokenizer.convert_ids_to_tokens(tokens.ids) == ["<bot>", "<eot>", "<latent>"]
    assert tokenizer("a <bot> b", add_special_tokens=False)["input_ids"].count(tokens.bot_id) == 1
    # new rows start at the mean of the old ones, deterministically (a resumed run rebuilds the same rows)
    for layer in (model.get_input_embeddings(), model.get_output_embeddings()):
        old_mean = layer.weight[:tokens.bot_id].mean(0)
        torch.testing.assert_close(layer.weight[tokens.bot_id:], old_mean.expand(3, -1))


def test_missing_tokens_raise(tiny_causal_tokenizer):
    with pytest.raises(ModelError, match="add_coconut_tokens"):
        CoconutTokens.from_tokenizer(tiny_causal_tokenizer)


def test_lora_trains_the_new_token_rows_only(coconut_student, examples, tmp_path):
    model, tokenizer, tokens = coconut_student
    model, _ = apply_finetuning(model, "causal", "lora", r=4, alpha=8, dropout=0.0)
    make_token_rows_trainable(model, tokens.ids)
    rows = [encode_row(tokenizer, ex.fields["question"], ex.steps, ex.label, 1, 2, tokens=tokens).as_features()
            for ex in examples]
    batch = CoconutCollator(pad_token_id=tokenizer.pad_token_id)(rows)
    coconut_forward(model, **batch).loss.backward()
    trainable = {n: p for n, p in model.named_parameters() if p.requires_grad}
    delta = [p for n, p in trainable.items() if "trainable_tokens_delta" in n]
    assert len(delta) == 1 and delta[0].shape == (3, 32)
    assert all("lora_" in n or "trainable_tokens" in n for n in trainable)  # the base embedding stays frozen
    grad_norms = delta[0].grad.norm(dim=-1)  # rows in the order of tokens.ids: bot, eot, latent
    assert grad_norms[0] > 0 and grad_norms[1] > 0  # <bot> and <eot> are real inputs
    assert grad_norms[2] == 0  # <latent> is a placeholder: its embedding is never used
    # a step moves the <bot> row of the effective embedding, and the adapter saves it
    before = model.get_input_embeddings()(torch.tensor([tokens.bot_id])).detach().clone()
    torch.optim.SGD(trainable.values(), lr=1.0).step()
    after = model.get_input_embeddings()(torch.tensor([tokens.bot_id])).detach()
    assert not torch.equal(before, after)
    model.save_pretrained(tmp_path)
    from safetensors.torch import load_file
    assert any("trainable_tokens" in k for k in load_file(str(tmp_path / "adapter_model.safetensors")))


def test_full_finetuning_needs_nothing_but_refuses_a_frozen_embedding(coconut_student):
    model, _, tokens = coconut_student
    assert make_token_rows_trainable(model, tokens.ids) is model
    model.get_input_embeddings().weight.requires_grad_(False)
    with pytest.raises(ModelError, match="frozen"):
        make_token_rows_trainable(model, tokens.ids)
