"""greedy_decode: the same tokens as model.generate, on a batch that shrinks as rows stop."""

import pytest
import torch

from rdistill.prediction.decoding import greedy_decode
from rdistill.models import load_model

PROMPTS = [[5, 6, 7, 8, 9, 10, 11], [12, 13], [14, 15, 16, 17], [18, 19, 20, 21, 22]]


@pytest.fixture
def model(tiny_causal_dir):
    model, _ = load_model(tiny_causal_dir)
    model.eval()
    with torch.no_grad():  # a random model's logits are nearly flat: sharpen greedy ties
        model.get_output_embeddings().weight.mul_(30)
    return model


def _generate_one(model, prompt, stops, max_new_tokens, **kwargs):
    out = model.generate(input_ids=torch.tensor([prompt]), max_new_tokens=max_new_tokens,
                         do_sample=False, eos_token_id=sorted(stops), pad_token_id=0, **kwargs)
    tokens = out[0, len(prompt):].tolist()
    end = next((k for k, t in enumerate(tokens) if t in stops), None)
    return (tokens, False) if end is None else (tokens[: end + 1], True)


def _stops_hit_at_different_steps(model, max_new_tokens):
    """Stop tokens taken from the rows' own greedy output, so that rows stop at different steps."""
    free = greedy_decode(model, PROMPTS, max_new_tokens=max_new_tokens, stop_ids=[], pad_id=0)
    return {free[1][0][1], free[3][0][4]}


@pytest.mark.parametrize("penalty", [1.0, 1.3])
def test_batched_greedy_equals_generate_row_by_row(model, penalty):
    stops = _stops_hit_at_different_steps(model, 8)
    batched = greedy_decode(model, PROMPTS, max_new_tokens=8, stop_ids=stops, pad_id=0,
                            repetition_penalty=penalty)
    alone = [_generate_one(model, p, stops, 8, repetition_penalty=penalty) for p in PROMPTS]
    assert batched == alone
    assert any(finished for _, finished in batched)
    assert sorted({len(tokens) for tokens, _ in batched}) != [8]  # rows stopped at different steps


def test_finished_rows_leave_the_batch(model):
    stops = _stops_hit_at_different_steps(model, 8)
    sizes = []
    hook = model.register_forward_pre_hook(lambda m, a, kw: sizes.append(kw["input_ids"].shape[0]),
                                           with_kwargs=True)
    try:
        result = greedy_decode(model, PROMPTS, max_new_tokens=8, stop_ids=stops, pad_id=0)
    finally:
        hook.remove()
    still_writing = [sum(len(tokens) > step for tokens, _ in result) for step in range(len(sizes))]
    assert sizes[0] == len(PROMPTS) and sizes == still_writing  # prefill, then live rows only
    assert min(sizes) < len(PROMPTS)


def test_budget_ends_unfinished_rows(model):
    result = greedy_decode(model, PROMPTS, max_new_tokens=3, stop_ids=[], pad_id=0)
    assert all(len(tokens) == 3 and not finished for tokens, finished in result)
