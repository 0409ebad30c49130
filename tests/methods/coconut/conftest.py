"""Fixtures for COCONUT: the tiny causal Llama with the three COCONUT tokens, and step-structured rows."""

from __future__ import annotations

import pytest

from rdistill.data.example import Example


def make_examples(n: int = 6) -> list[Example]:
    """Rows with 1, 2 or 3 steps, so a batch mixes rows with fewer steps than the stage."""
    rows = []
    for i in range(n):
        where = " outside in the park" if i % 2 else ""  # questions of two lengths: rows need left padding
        question = f"two dogs and {i} cats are playing{where}, how many?"
        steps = ("the dogs are two", f"the cats are {i}", f"so 2 + {i} = {i + 2}")[: 1 + i % 3]
        rows.append(Example(uid=f"ex{i}", fields={"question": question},
                            label=str(i + 2), steps=steps))
    return rows


@pytest.fixture
def examples() -> list[Example]:
    return make_examples()


@pytest.fixture
def coconut_student(tiny_causal_dir):
    """``(model, tokenizer, tokens)``: a fresh tiny Llama (2 layers, hidden 32) with <bot> <eot> <latent>."""
    import torch
    from transformers import AutoTokenizer, LlamaForCausalLM

    from rdistill.methods.coconut.tokens import add_coconut_tokens

    tokenizer = AutoTokenizer.from_pretrained(tiny_causal_dir)
    model = LlamaForCausalLM.from_pretrained(tiny_causal_dir)
    torch.manual_seed(0)  # resize's mean-initialisation samples new rows
    tokens = add_coconut_tokens(tokenizer, model)
    return model, tokenizer, tokens
