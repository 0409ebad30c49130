"""Inference with thoughts: deterministic, the same as the training forward, padding-invariant."""

from __future__ import annotations

import torch

from rdistill.methods.coconut.curriculum import question_ids
from rdistill.methods.coconut.generate import generate_with_thoughts
from rdistill.methods.coconut.thoughts import coconut_forward


def _questions(examples):
    return [ex.fields["question"] for ex in examples]


def test_generation_is_deterministic_for_a_seed(coconut_student, examples):
    model, tokenizer, tokens = coconut_student
    kwargs = dict(tokens=tokens, max_new_tokens=6, batch_size=3)
    greedy = [generate_with_thoughts(model, tokenizer, _questions(examples), 4, **kwargs) for _ in range(2)]
    assert greedy[0] == greedy[1]
    sampled = [generate_with_thoughts(model, tokenizer, _questions(examples), 4, temperature=1.0, seed=s, **kwargs)
               for s in (7, 7, 8)]
    assert sampled[0] == sampled[1]
    assert sampled[0].token_ids != sampled[2].token_ids  # the seed is used (400 tokens, 36 draws)
    assert greedy[0].n_generated == [len(ids) for ids in greedy[0].token_ids]
    assert all(1 <= n <= 6 for n in greedy[0].n_generated)


def test_greedy_tokens_are_the_training_forwards_argmax(coconut_student, examples):
    """Thoughts at inference are fed exactly as in training: teacher-forcing the generated
    continuation through coconut_forward predicts the same tokens."""
    model, tokenizer, tokens = coconut_student
    n = 3
    out = generate_with_thoughts(model, tokenizer, _questions(examples[:1]), n, tokens=tokens, max_new_tokens=8)
    prompt = question_ids(tokenizer, _questions(examples)[0]) + [tokens.bot_id] + [tokens.latent_id] * n
    generated = out.token_ids[0]
    ids = torch.tensor([prompt + [tokens.eot_id] + generated])
    labels = torch.tensor([[-100] * (len(prompt) + 1) + generated])
    thoughts = torch.zeros_like(ids, dtype=torch.bool)
    thoughts[0, len(prompt) - n:len(prompt)] = True
    forward = coconut_forward(model, ids, torch.ones_like(ids), labels, thoughts)
    assert forward.target_logits.argmax(-1).tolist() == generated


def test_batched_generation_equals_one_row_at_a_time(coconut_student, examples):
    model, tokenizer, tokens = coconut_student
    model.train()
    batched = generate_with_thoughts(model, tokenizer, _questions(examples), 2, tokens=tokens,
                                     max_new_tokens=6, batch_size=6)
    single = generate_with_thoughts(model, tokenizer, _questions(examples), 2, tokens=tokens,
                                    max_new_tokens=6, batch_size=1)
    assert batched.token_ids == single.token_ids
    assert model.training  # the caller's mode is restored
