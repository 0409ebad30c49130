"""Turn an :class:`Example` into prompt text and a target split into spans.

The target is built from pieces that are tokenised separately and concatenated,
so every token is known to belong to the label span, the explanation span or
neither. The loss weights the spans (``a*L_label + b*L_explanation``) and the
predictor reads the label at exactly the position training put it.

Layouts (``<eos>`` is the tokenizer's end-of-sequence token)::

    predict_explain:  Answer:| entailment|\\nExplanation: <expl><eos>
    explain_predict:  Explanation: <expl>\\n|Answer:| entailment<eos>
    label only (b=0): Answer:| entailment<eos>
    step-by-step:     "[label] " + prompt   -> Answer:| entailment<eos>
                      "[rationale] " + prompt -> Explanation:| <expl><eos>

Span convention: the answer marker carries no loss; EOS belongs to the span it
closes; the explanation marker is part of the explanation span except where it
starts the target (step-by-step rationale rows), where the predictor supplies it.
Over-long targets lose the end of the explanation, never the label or EOS.

Open-answer (math) tasks, ``Task.answer_kind`` set, have their own layouts
in :mod:`rdistill.tasks.math_layout` (``Answer:| <reasoning>|\n####| 72<eos>``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import logging


log = logging.getLogger(__name__)

SPAN_NONE, SPAN_LABEL, SPAN_EXPLANATION = 0, 1, 2

ANSWER_MARKER = "Answer:"
EXPLANATION_MARKER = "Explanation:"
LABEL_TASK_PREFIX = "[label] "
RATIONALE_TASK_PREFIX = "[rationale] "

Order = Literal["predict_explain", "explain_predict"]


@dataclass(frozen=True)
class TargetPieces:
    """A training row as text pieces, each tagged with the span it belongs to."""

    prompt: str
    pieces: tuple[tuple[str, int], ...]
    ends_with_eos_span: int
    task_prefix: str = ""


def target_pieces(
    prompt: str,
    label: str | None,
    explanation: str | None,
    *,
    label_text: str,
    order: Order,
) -> TargetPieces:
    """Pieces of one target. ``label`` None = explanation-only row, ``explanation`` None = label-only."""
    # Teacher rationales may span lines; the predictor generates one line, so train one line.
    explanation = " ".join(explanation.split()) if explanation is not None else None
    expl_piece = f"{EXPLANATION_MARKER} {explanation}" if explanation is not None else None
    pieces: list[tuple[str, int]] = []
    if label is None:
        assert explanation is not None
        pieces = [(EXPLANATION_MARKER, SPAN_NONE), (" " + explanation, SPAN_EXPLANATION)]
        return TargetPieces(prompt, tuple(pieces), SPAN_EXPLANATION)
    if expl_piece is None:
        pieces = [(ANSWER_MARKER, SPAN_NONE), (label_text, SPAN_LABEL)]
        return TargetPieces(prompt, tuple(pieces), SPAN_LABEL)
    if order == "predict_explain":
        pieces = [(ANSWER_MARKER, SPAN_NONE), (label_text, SPAN_LABEL), ("\n" + expl_piece, SPAN_EXPLANATION)]
        return TargetPieces(prompt, tuple(pieces), SPAN_EXPLANATION)
    pieces = [(expl_piece + "\n", SPAN_EXPLANATION), (ANSWER_MARKER, SPAN_NONE), (label_text, SPAN_LABEL)]
    return TargetPieces(prompt, tuple(pieces), SPAN_LABEL)


def sequence_training_rows(
    prompt: str,
    label: str,
    explanations: list[str],
    *,
    label_text: str,
    with_label: bool,
    with_explanation: bool,
    order: Order,
    task_prefix: bool,
) -> list[TargetPieces]:
    """All training rows of one closed-label example (one per explanation; two tasks if step-by-step)."""
    rows: list[TargetPieces] = []
    if task_prefix:
        if with_label:
            row = target_pieces(prompt, label, None, label_text=label_text, order=order)
            rows.append(replace(row, task_prefix=LABEL_TASK_PREFIX))
        if with_explanation:
            rows += [replace(target_pieces(prompt, None, e, label_text=label_text, order=order),
                             task_prefix=RATIONALE_TASK_PREFIX) for e in explanations]
        return rows
    if not with_explanation:
        return [target_pieces(prompt, label, None, label_text=label_text, order=order)]
    # Explanation-only runs (alpha=0) keep the label tokens in the text so the
    # layout, and thus the prediction code, is the same for every loss weighting.
    return [target_pieces(prompt, label, e, label_text=label_text, order=order)
            for e in explanations]


def encode_row(
    row: TargetPieces,
    tokenizer,
    *,
    is_seq2seq: bool,
    max_source_tokens: int,
    max_target_tokens: int,
) -> dict[str, list[int]]:
    """Token ids for one row: ``input_ids``, ``attention_mask``, ``labels`` (-100 = no loss), ``span_ids``.

    Decoder-only: input = prompt + target, labels only on target tokens. Seq2seq:
    input = prompt, labels = target (the model shifts them right for the decoder).
    The prompt is truncated from the left on overflow (the hypothesis and the
    instruction sit at its end); the target is cut at ``max_target_tokens``.
    """
    prompt_ids = encode_prompt(row.prompt, tokenizer, is_seq2seq=is_seq2seq,
                               max_tokens=max_source_tokens, prefix=row.task_prefix)
    piece_ids = [(tokenizer(text, add_special_tokens=False)["input_ids"], span) for text, span in row.pieces]
    eos = end_token_id(tokenizer)
    overflow = sum(len(ids) for ids, _ in piece_ids) + (eos is not None) - max_target_tokens
    if overflow > 0:  # shorten the explanation (its longest piece), keep label, markers and EOS
        cut = max((k for k, (_, span) in enumerate(piece_ids) if span == SPAN_EXPLANATION),
                  key=lambda k: len(piece_ids[k][0]), default=None)
        piece_ids = [(ids[:max(1, len(ids) - overflow)] if k == cut else ids, span)
                     for k, (ids, span) in enumerate(piece_ids)]
    target_ids: list[int] = []
    spans: list[int] = []
    for ids, span in piece_ids:
        target_ids += ids
        spans += [span] * len(ids)
    if eos is not None:
        target_ids.append(eos)
        spans.append(row.ends_with_eos_span)
    target_ids, spans = target_ids[:max_target_tokens], spans[:max_target_tokens]
    loss_labels = [t if s != SPAN_NONE else -100 for t, s in zip(target_ids, spans)]
    truncated = int(overflow > 0)
    if is_seq2seq:
        # Marker tokens (span none) still feed the decoder as inputs; only their loss is off.
        return {
            "truncated": truncated,
            "input_ids": prompt_ids,
            "attention_mask": [1] * len(prompt_ids),
            "labels": loss_labels,
            "decoder_input_tokens": target_ids,
            "span_ids": spans,
        }
    return {
        "truncated": truncated,
        "input_ids": prompt_ids + target_ids,
        "attention_mask": [1] * (len(prompt_ids) + len(target_ids)),
        "labels": [-100] * len(prompt_ids) + loss_labels,
        "span_ids": [SPAN_NONE] * len(prompt_ids) + spans,
    }


def encode_prompt(prompt: str, tokenizer, *, is_seq2seq: bool, max_tokens: int,
                  prefix: str = "") -> list[int]:
    """Prompt ids with the tokenizer's own special tokens, left-truncated to ``max_tokens``.

    Special tokens (BOS for Llama, CLS/SEP for BERT, EOS for T5) and the task
    ``prefix`` (``[label] ``/``[rationale] ``) are kept around the truncated body;
    a decoder-only prompt never ends with EOS, since the target continues it.
    """
    body = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    full = tokenizer(prompt, add_special_tokens=True)["input_ids"]
    head, tail = _special_affixes(full, body)
    if not is_seq2seq and tail and tail[-1] == end_token_id(tokenizer):
        tail = []
    head = head + (tokenizer(prefix, add_special_tokens=False)["input_ids"] if prefix else [])
    keep = max(1, max_tokens - len(head) - len(tail))
    return head + body[-keep:] + tail


def _special_affixes(full: list[int], body: list[int]) -> tuple[list[int], list[int]]:
    n = len(body)
    for start in range(len(full) - n + 1):
        if full[start:start + n] == body:
            return full[:start], full[start + n:]
    # A tokenizer that merges special tokens into the text: keep its own encoding's ends.
    log.warning("special tokens of this tokenizer could not be separated from the text; "
                "using the prompt without them")
    return [], []


def end_token_id(tokenizer) -> int | None:
    """EOS, or SEP for BERT-style tokenizers (a MiniLM decoder ends its output with [SEP])."""
    return tokenizer.eos_token_id if tokenizer.eos_token_id is not None else tokenizer.sep_token_id
