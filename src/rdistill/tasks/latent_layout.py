"""An :class:`Example` as (prompt, reasoning + answer) text, tokenised with character offsets.

Task-agnostic on purpose: any loader's ``Example`` plugs in (inputs in ``fields``,
reasoning in ``explanations`` or a teacher rationale, answer in ``label``)::

    Question: <field>\\n...            <- prompt (one "Name: value" line per field)
    <reasoning>\\nAnswer: <label><eos>  <- target

Teacher and student tokenise the same strings, so the character offsets of their
tokens (into ``prompt + target``) say which tokens cover the same text.
"""

from __future__ import annotations

from dataclasses import dataclass

from rdistill.data.example import Example
from rdistill.errors import ModelError

ANSWER_PREFIX = "\nAnswer: "


@dataclass(frozen=True)
class LatentText:
    prompt: str
    target: str
    answer_start: int  # character offsets of the answer inside ``target``
    answer_end: int


def reasoning_of(example: Example) -> str:
    """The first human explanation, else the first teacher rationale, else ''."""
    if example.explanations:
        return example.explanations[0].strip()
    if example.rationales:
        return example.rationales[0].text.strip()
    return ""


def latent_prompt(example: Example) -> str:
    """One ``Name: value`` line per input field: what the student sees, in training and prediction."""
    return "".join(f"{name.replace('_', ' ').capitalize()}: {value}\n" for name, value in example.fields.items())


def latent_text(example: Example, with_reasoning: bool = True) -> LatentText:
    """``with_reasoning=False``: the answer alone (the no-chain-of-thought baseline)."""
    prompt = latent_prompt(example)
    reasoning = reasoning_of(example) if with_reasoning else ""
    head = (reasoning + ANSWER_PREFIX) if reasoning else ANSWER_PREFIX.lstrip("\n")
    return LatentText(prompt, head + example.label, len(head), len(head) + len(example.label))


def _tokenise(tokenizer, text: str) -> tuple[list[int], list[tuple[int, int]]]:
    if not getattr(tokenizer, "is_fast", False):
        raise ModelError(f"tokenizer {type(tokenizer).__name__} is not a fast tokenizer: character "
                         "offsets are unavailable; set latent.token_alignment=mean")
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    return list(enc["input_ids"]), [tuple(o) for o in enc["offset_mapping"]]


def encode_latent(text: LatentText, tokenizer, *, max_prompt_tokens: int,
                  max_target_tokens: int) -> dict:
    """Token ids, labels and per-token character offsets of one example.

    Returns a dict of lists: ``input_ids``, ``attention_mask``, ``labels`` (-100 on the
    prompt), ``offsets`` (``[start, end)`` into ``prompt + target``; EOS gets an empty
    span at the end), ``target_positions`` (the target's text tokens, EOS excluded),
    ``answer_positions`` (target tokens overlapping the answer) and ``truncated``.
    The prompt keeps its end, the target its start (the answer may be cut: counted).
    """
    p_ids, p_off = _tokenise(tokenizer, text.prompt)
    t_ids, t_off = _tokenise(tokenizer, text.target)
    p_ids, p_off = p_ids[-max_prompt_tokens:], p_off[-max_prompt_tokens:]
    truncated = len(t_ids) + 1 > max_target_tokens
    t_ids, t_off = t_ids[: max_target_tokens - 1], t_off[: max_target_tokens - 1]
    shift = len(text.prompt)
    t_off = [(a + shift, b + shift) for a, b in t_off]
    end = shift + len(text.target)
    eos = tokenizer.eos_token_id
    ids = p_ids + t_ids + ([eos] if eos is not None else [])
    offsets = p_off + t_off + ([(end, end)] if eos is not None else [])
    n_prompt = len(p_ids)
    target_positions = list(range(n_prompt, n_prompt + len(t_ids)))
    a0, a1 = shift + text.answer_start, shift + text.answer_end
    answer_positions = [i for i in target_positions if offsets[i][0] < a1 and offsets[i][1] > a0]
    return {
        "input_ids": ids,
        "attention_mask": [1] * len(ids),
        "labels": [-100] * n_prompt + ids[n_prompt:],
        "offsets": [list(o) for o in offsets],
        "target_positions": target_positions,
        "answer_positions": answer_positions,
        "truncated": int(truncated),
    }


def distill_positions(row: dict, positions: str) -> list[int]:
    """The token positions whose hidden states are distilled (``mean`` pools the target's)."""
    return row["answer_positions"] if positions == "answer" else row["target_positions"]
