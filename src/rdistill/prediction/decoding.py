"""Greedy decoding for decoder-only students that drops rows from the batch as they stop.

``model.generate`` keeps a finished row in the batch, fed padding, until the
longest row of the batch is done. Explanations are short and uneven (e-SNLI
students: median ~10 tokens, a few run to the limit), so most decoding steps of
a batch would be spent on finished rows. Here each step runs only the rows
still writing, and their KV cache shrinks with them (``Cache.batch_select_indices``).
Greedy outputs are those of ``generate`` with the same stop tokens (tested):
same left padding, positions counted from each row's first real token, and
transformers' own repetition-penalty processor on the same token history.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import torch
from transformers import LogitsProcessorList, RepetitionPenaltyLogitsProcessor


@torch.no_grad()
def greedy_decode(
    model,
    prompts: Sequence[Sequence[int]],
    *,
    max_new_tokens: int,
    stop_ids: Collection[int],
    pad_id: int,
    repetition_penalty: float = 1.0,
) -> list[tuple[list[int], bool]]:
    """Greedy continuation of each prompt (token ids) until a stop token or the budget.

    Returns per prompt ``(new token ids including the stop token, whether it stopped)``.
    Prompts are left-padded into one batch; the caller sorts them by length.
    """
    dev = model.device
    batch = len(prompts)
    width = max(len(p) for p in prompts)
    ids = torch.tensor([[pad_id] * (width - len(p)) + list(p) for p in prompts], device=dev)
    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=dev)
    history = ids  # what the repetition penalty looks at, pads included as in generate
    processors = LogitsProcessorList(
        [RepetitionPenaltyLogitsProcessor(repetition_penalty)] if repetition_penalty != 1.0 else []
    )
    stops = torch.tensor(sorted(stop_ids), device=dev, dtype=torch.long)
    # Left padding: a row's positions start at its first real token, as generate counts them.
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    out = model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True,
                logits_to_keep=1)
    cache = out.cache
    logits = out.logits[:, -1]
    rows = torch.arange(batch, device=dev)  # original index of each row still writing
    new_tokens: list[list[int]] = [[] for _ in range(batch)]
    stopped = [False] * batch
    last_pos = positions[:, -1]
    for step in range(max_new_tokens):
        next_ids = processors(history, logits.float()).argmax(-1)
        done = torch.isin(next_ids, stops)
        for row, token, finished in zip(rows.tolist(), next_ids.tolist(), done.tolist()):
            new_tokens[row].append(token)
            stopped[row] = finished
        if step == max_new_tokens - 1 or bool(done.all()):
            break
        if bool(done.any()):
            keep = (~done).nonzero().squeeze(1)
            cache.batch_select_indices(keep)
            rows, next_ids, mask = rows[keep], next_ids[keep], mask[keep]
            history, last_pos = history[keep], last_pos[keep]
        mask = torch.cat([mask, mask.new_ones(len(rows), 1)], 1)
        history = torch.cat([history, next_ids[:, None]], 1)
        last_pos = last_pos + 1
        out = model(input_ids=next_ids[:, None], attention_mask=mask, position_ids=last_pos[:, None],
                    cache=cache, use_cache=True, logits_to_keep=1)
        cache, logits = out.cache, out.logits[:, -1]
    return [(tokens, finished) for tokens, finished in zip(new_tokens, stopped)]
