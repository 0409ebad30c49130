"""Inference with continuous thoughts: question, ``<bot>``, n fed-back thoughts, ``<eot>``, then decoding.

Prompts are left-padded so that ``<bot>`` is the last prompt column of every row; the
thoughts then run as n one-column passes for the whole batch over one KV cache (the
same feeding rule as training: input = last hidden state of the previous position),
``<eot>`` is fed as a token, and the continuation (remaining steps, ``### answer``,
``<eos>``) is decoded one token per pass. A row stops at ``<eos>``; the batch stops
when every row has, or at ``max_new_tokens``. Greedy by default; with
``temperature > 0`` tokens are sampled from a generator seeded with ``seed``, so the
output is a function of (model, questions, batch_size, seed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from rdistill.methods.coconut.curriculum import question_ids
from rdistill.methods.coconut.thoughts import position_ids_from_mask
from rdistill.methods.coconut.tokens import CoconutTokens
from rdistill.models.heads import lm_head, unwrap


@dataclass(frozen=True)
class ThoughtGeneration:
    """``texts``: decoded continuations (special tokens dropped); ``n_generated``: tokens
    generated per row, ``<eos>`` included; ``token_ids``: the generated ids per row."""

    texts: list[str]
    n_generated: list[int]
    token_ids: list[list[int]]


def _next_token(logits: torch.Tensor, temperature: float, generator: torch.Generator | None) -> torch.Tensor:
    if temperature <= 0:
        return logits.argmax(-1)
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    # Sampled on CPU so that one seed gives one output whatever the device.
    return torch.multinomial(probs.cpu(), 1, generator=generator).squeeze(-1).to(logits.device)


@torch.no_grad()
def _generate_batch(model, prompts: list[list[int]], n_thoughts: int, tokens: CoconutTokens, pad_id: int,
                    eos_id: int, max_new_tokens: int, temperature: float,
                    generator: torch.Generator | None) -> list[list[int]]:
    base = unwrap(model)
    backbone, embed = base.base_model, base.get_input_embeddings()
    device = embed.weight.device
    width = max(len(p) for p in prompts)
    ids = torch.tensor([[pad_id] * (width - len(p)) + p for p in prompts], device=device)
    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=device)
    positions = position_ids_from_mask(mask)

    def step(inputs_embeds: torch.Tensor, cache):
        nonlocal mask, positions
        new = inputs_embeds.shape[1]
        if cache is not None:  # one new column per row, right after the row's last position
            mask = torch.cat([mask, mask.new_ones(len(prompts), new)], dim=1)
            positions = torch.cat([positions, positions[:, -1:] + 1], dim=1)
        out = backbone(inputs_embeds=inputs_embeds, attention_mask=mask, position_ids=positions[:, -new:],
                       cache=cache, use_cache=True)
        return out.last_hidden_state[:, -1], out.cache

    last, cache = step(embed(ids), None)  # prefix ending at <bot>
    for _ in range(n_thoughts):
        last, cache = step(last[:, None].to(embed.weight.dtype), cache)
    eot = torch.full((len(prompts), 1), tokens.eot_id, device=device)
    last, cache = step(embed(eot), cache)
    generated = [[] for _ in prompts]
    finished = torch.zeros(len(prompts), dtype=torch.bool, device=device)
    for _ in range(max_new_tokens):
        token = _next_token(lm_head(model, last), temperature, generator)
        token = torch.where(finished, torch.full_like(token, pad_id), token)
        for i in (~finished).nonzero().flatten().tolist():
            generated[i].append(int(token[i]))
        finished |= token == eos_id
        if finished.all():
            break
        last, cache = step(embed(token[:, None]), cache)
    return generated


def generate_with_thoughts(model, tokenizer, questions: Sequence[str], n_thoughts: int, *,
                           tokens: CoconutTokens | None = None, max_new_tokens: int = 64, batch_size: int = 8,
                           temperature: float = 0.0, seed: int = 0) -> ThoughtGeneration:
    """Continue each question after ``n_thoughts`` continuous thoughts (see the module docstring).

    Rows keep their input order; batches are consecutive slices of ``questions``.
    """
    if n_thoughts < 0 or max_new_tokens < 1 or batch_size < 1:
        raise ValueError(f"need n_thoughts >= 0, max_new_tokens >= 1, batch_size >= 1; got "
                         f"{n_thoughts}, {max_new_tokens}, {batch_size}")
    tokens = tokens or CoconutTokens.from_tokenizer(tokenizer)
    generator = torch.Generator().manual_seed(seed) if temperature > 0 else None
    was_training = model.training
    model.eval()
    try:
        ids: list[list[int]] = []
        for start in range(0, len(questions), batch_size):
            prompts = [question_ids(tokenizer, q) + [tokens.bot_id] for q in questions[start:start + batch_size]]
            ids += _generate_batch(model, prompts, n_thoughts, tokens, tokenizer.pad_token_id,
                                   tokenizer.eos_token_id, max_new_tokens, temperature, generator)
    finally:
        model.train(was_training)
    texts = [tokenizer.decode([t for t in row if t != tokenizer.eos_token_id], skip_special_tokens=True)
             for row in ids]
    return ThoughtGeneration(texts=texts, n_generated=[len(row) for row in ids], token_ids=ids)
