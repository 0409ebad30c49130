"""Batched prediction: label by scoring the label words, explanation by generation.

The label is never parsed from free text: after the answer marker, each label
word of the task is scored by the student and the probabilities are normalised
over the label set. That gives a valid label for every example, and the
probabilities feed calibration. The explanation is generated after the
explanation marker, exactly where training put it. Rows are sorted by length
before batching so that padding stays small.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Sequence

import torch
from tqdm.auto import tqdm

from rdistill.config import GenerationConfig
from rdistill.data.example import Example
from rdistill.prediction.decoding import greedy_decode
from rdistill.tasks.layout import (
    ANSWER_MARKER,
    EXPLANATION_MARKER,
    LABEL_TASK_PREFIX,
    RATIONALE_TASK_PREFIX,
    encode_prompt,
    end_token_id,
)
from rdistill.models.heads import causal_hidden, lm_head
from rdistill.models.label_head import encoder_label_logits, label_head_of
from rdistill.tasks.registry import Task

log = logging.getLogger(__name__)


@dataclass
class PredictionSettings:
    order: str = "predict_explain"
    task_prefix: bool = False
    explain: bool = True
    max_source_tokens: int = 160


def settings_for(cfg) -> PredictionSettings:
    """Prediction settings that match how a run (a ``RunConfig``) trained its student.

    ``evaluation.explanations: false`` scores the labels alone: no explanation is generated
    (the config refuses it where the label is read after a generated explanation).
    """
    return PredictionSettings(order=cfg.loss.output_order, task_prefix=cfg.loss.task_prefix,
                              explain=cfg.loss.beta > 0 and cfg.evaluation.explanations,
                              max_source_tokens=cfg.training.max_source_tokens)


def _ids(tokenizer, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def _batches(order: list[int], size: int):
    for i in range(0, len(order), size):
        yield order[i:i + size]


# New tokens per generation wave (see Predictor.explanations): the 90th percentile
# of explanation lengths of the e-SNLI students is ~16 tokens.
WAVE_TOKENS = 16

_ANSWER_AFTER_TEXT = re.compile(r"\banswer\s*:", re.IGNORECASE)


def clean_explanation(text: str) -> str:
    """The explanation part of generated text: its first line, before any answer marker.

    Tokenizers that cannot write a newline (BERT's WordPiece) run the explanation
    and the ``Answer:`` field together, so the marker is cut as well as the newline.
    """
    first = text.strip().split("\n")[0]
    return _ANSWER_AFTER_TEXT.split(first, maxsplit=1)[0].strip()


class Predictor:
    """Predicts label (+ probabilities) and explanation for examples of one task."""

    def __init__(self, model, tokenizer, fmt: Task, *, is_seq2seq: bool,
                 settings: PredictionSettings, generation: GenerationConfig,
                 show_progress: bool = True):
        self.model = model
        self.tok = tokenizer
        self.fmt = fmt
        self.is_seq2seq = is_seq2seq
        self.s = settings
        self.gen = generation
        self.show_progress = show_progress
        self.label_ids = [_ids(tokenizer, fmt.label_text(lab)) for lab in fmt.labels]
        firsts = [ids[0] for ids in self.label_ids]
        # One forward pass suffices when the label words start with distinct tokens.
        self.first_token_scoring = len(set(firsts)) == len(firsts)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self._stop_ids: frozenset[int] | None = None

    # ---- inputs -------------------------------------------------------------------------
    def _prompt_ids(self, example: Example, task_prefix: str = "") -> list[int]:
        return encode_prompt(self.fmt.prompt(example), self.tok, is_seq2seq=self.is_seq2seq,
                             max_tokens=self.s.max_source_tokens, prefix=task_prefix)

    def _label_context(self, example: Example, explanation: str | None) -> tuple[list[int], list[int]]:
        """(encoder ids, decoder ids) after which the label word follows; encoder empty if causal."""
        prefix = LABEL_TASK_PREFIX if self.s.task_prefix else ""
        target: list[int] = []
        if self.s.order == "explain_predict" and not self.s.task_prefix and explanation is not None:
            target += _ids(self.tok, f"{EXPLANATION_MARKER} {explanation.strip()}\n")
        target += _ids(self.tok, ANSWER_MARKER)
        prompt = self._prompt_ids(example, prefix)
        if self.is_seq2seq:
            return prompt, [self._decoder_start()] + target
        return [], prompt + target

    def _decoder_start(self) -> int:
        cfg = self.model.config
        start = getattr(cfg, "decoder_start_token_id", None)
        if start is None and hasattr(cfg, "decoder"):
            start = getattr(cfg.decoder, "decoder_start_token_id", None)
        return start if start is not None else self.pad_id

    # ---- label scoring ------------------------------------------------------------------
    @torch.no_grad()
    def _last_logits(self, enc: list[list[int]], dec: list[list[int]]) -> torch.Tensor:
        """Next-token logits ``(B, V)`` after each (right-padded) decoder sequence."""
        dev = self.model.device
        lengths = torch.tensor([len(d) for d in dec], device=dev)
        width = int(lengths.max())
        dec_t = torch.tensor([d + [self.pad_id] * (width - len(d)) for d in dec], device=dev)
        dec_mask = (torch.arange(width, device=dev)[None] < lengths[:, None]).long()
        if self.is_seq2seq:
            enc_t, enc_mask = self._pad_encoder(enc)
            out = self.model(input_ids=enc_t, attention_mask=enc_mask, decoder_input_ids=dec_t,
                             decoder_attention_mask=dec_mask)
            return out.logits[torch.arange(len(dec), device=dev), lengths - 1].float()
        # Decoder-only: the LM head on the one position scored, not on all B x T.
        hidden = causal_hidden(self.model, dec_t, dec_mask)
        return lm_head(self.model, hidden[torch.arange(len(dec), device=dev), lengths - 1]).float()

    @torch.no_grad()
    def _head_scores(self, enc: list[list[int]]) -> torch.Tensor:
        """``(B, L)`` the encoder label head's logits for (right-padded) prompts."""
        return encoder_label_logits(self.model, *self._pad_encoder(enc)).float()

    def _pad_encoder(self, enc: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """Right-padded encoder ids and their attention mask, ``(B, S)`` each, on the model's device."""
        dev, width = self.model.device, max(len(e) for e in enc)
        ids = torch.tensor([e + [self.pad_id] * (width - len(e)) for e in enc], device=dev)
        mask = torch.tensor([[1] * len(e) + [0] * (width - len(e)) for e in enc], device=dev)
        return ids, mask

    @torch.no_grad()
    def _sequence_scores(self, enc, dec) -> torch.Tensor:
        """``(B, L)`` summed log-probabilities of each label's tokens (multi-token labels)."""
        scores = []
        for lab_ids in self.label_ids:
            total = torch.zeros(len(dec), device=self.model.device)
            for k, tok_id in enumerate(lab_ids):
                logits = self._last_logits(enc, [d + lab_ids[:k] for d in dec])
                total += torch.log_softmax(logits, -1)[:, tok_id]
            scores.append(total)
        return torch.stack(scores, 1)

    def label_probabilities(self, examples: Sequence[Example],
                            explanations: Sequence[str | None] | None = None,
                            batch_size: int | None = None) -> list[dict[str, float]]:
        """Probability of each label, normalised over the task's label set (from the encoder label
        head when the student has one: the decoder is then not run)."""
        head = self.is_seq2seq and label_head_of(self.model) is not None
        contexts = [self._label_context(ex, explanations[i] if explanations else None)
                    for i, ex in enumerate(examples)]
        order = sorted(range(len(examples)), key=lambda i: len(contexts[i][0]) + len(contexts[i][1]))
        out: list[dict[str, float]] = [{}] * len(examples)
        size = batch_size or self.gen.batch_size
        for idx in self._progress(list(_batches(order, size)), "scoring labels"):
            enc = [contexts[i][0] for i in idx]
            dec = [contexts[i][1] for i in idx]
            if head:
                scores = self._head_scores(enc)
            elif self.first_token_scoring:
                logits = self._last_logits(enc, dec)
                scores = logits[:, [ids[0] for ids in self.label_ids]]
            else:
                scores = self._sequence_scores(enc, dec)
            probs = torch.softmax(scores, -1).cpu().tolist()
            for i, p in zip(idx, probs):
                out[i] = dict(zip(self.fmt.labels, p))
        return out

    def prompt_forward(self, examples: Sequence[Example]) -> list[dict[str, float]]:
        """The forward pass over the prompts alone (what ``profile`` counts as the forward FLOPs)."""
        return self.label_probabilities(examples)

    # ---- explanation generation ---------------------------------------------------------
    def _explanation_context(self, example: Example, label: str | None) -> tuple[list[int], list[int]]:
        if self.s.task_prefix:
            prompt, target = self._prompt_ids(example, RATIONALE_TASK_PREFIX), _ids(self.tok, EXPLANATION_MARKER)
        else:
            prompt, target = self._prompt_ids(example), []
            if self.s.order == "predict_explain":
                target += _ids(self.tok, ANSWER_MARKER) + _ids(self.tok, self.fmt.label_text(label))
                target += _ids(self.tok, "\n" + EXPLANATION_MARKER)
            else:
                target += _ids(self.tok, EXPLANATION_MARKER)
        if self.is_seq2seq:
            return prompt, [self._decoder_start()] + target
        return [], prompt + target

    @property
    def stop_ids(self) -> frozenset[int]:
        """End token plus every token that contains a newline: the explanation is one line."""
        if self._stop_ids is None:
            newline = [i for i in range(len(self.tok)) if "\n" in self.tok.decode([i])]
            ends = [e for e in (end_token_id(self.tok), *self.model_end_ids()) if e is not None]
            self._stop_ids = frozenset(newline + ends)
        return self._stop_ids

    def model_end_ids(self) -> list[int]:
        """The model's own end tokens (its generation config's ``eos_token_id``, one or several)."""
        eos = getattr(self.model.generation_config, "eos_token_id", None)
        return [e for e in (eos if isinstance(eos, list) else [eos]) if e is not None]

    @contextmanager
    def inference(self) -> Iterator[None]:
        """Eval mode (no dropout) for one prediction call; the model's own mode is restored after."""
        was_training = self.model.training
        self.model.eval()
        try:
            yield
        finally:
            self.model.train(was_training)

    @torch.no_grad()
    def _generate(self, enc: list[list[int]], dec: list[list[int]],
                  max_new_tokens: int) -> list[tuple[list[int], bool]]:
        """(new token ids up to and including a stop token, whether it stopped) per row."""
        dev = self.model.device
        stops = sorted(self.stop_ids)
        kwargs = dict(max_new_tokens=max_new_tokens, num_beams=self.gen.num_beams,
                      repetition_penalty=self.gen.repetition_penalty,
                      length_penalty=self.gen.length_penalty, do_sample=False,
                      pad_token_id=self.pad_id, eos_token_id=stops or None)
        if self.is_seq2seq:
            # Callers group rows so that decoder prefixes have equal length.
            enc_t, enc_mask = self._pad_encoder(enc)
            out = self.model.generate(input_ids=enc_t, attention_mask=enc_mask,
                                      decoder_input_ids=torch.tensor(dec, device=dev), **kwargs)
            new = out[:, len(dec[0]):]
        elif self.gen.num_beams == 1 and len(dec) > 1:  # a row alone has no batch to leave
            return greedy_decode(self.model, dec, max_new_tokens=max_new_tokens, stop_ids=stops,
                                 pad_id=self.pad_id, repetition_penalty=self.gen.repetition_penalty)
        else:
            width = max(len(d) for d in dec)  # left padding: generation continues every row
            ids = torch.tensor([[self.pad_id] * (width - len(d)) + d for d in dec], device=dev)
            mask = torch.tensor([[0] * (width - len(d)) + [1] * len(d) for d in dec], device=dev)
            out = self.model.generate(input_ids=ids, attention_mask=mask, **kwargs)
            new = out[:, width:]
        rows = []
        for tokens in new.tolist():
            end = next((k for k, t in enumerate(tokens) if t in self.stop_ids), None)
            rows.append((tokens, False) if end is None else (tokens[: end + 1], True))
        return rows

    def _explanation_batches(self, rows: list[int], contexts, generated) -> list[list[int]]:
        """Length-sorted batches; seq2seq batches share one decoder prefix length."""
        dec_len = lambda i: len(contexts[i][1]) + len(generated[i])  # noqa: E731
        key = (lambda i: (dec_len(i), len(contexts[i][0]))) if self.is_seq2seq else dec_len
        batches: list[list[int]] = []
        for idx in _batches(sorted(rows, key=key), self.gen.batch_size):
            if self.is_seq2seq:
                groups: dict[int, list[int]] = {}
                for i in idx:
                    groups.setdefault(dec_len(i), []).append(i)
                batches.extend(groups.values())
            else:
                batches.append(idx)
        return batches

    def explanations(self, examples: Sequence[Example], labels: Sequence[str | None]) -> list[str]:
        """One generated explanation per example, in batches of ``generation.batch_size``.

        Greedy decoder-only batches drop each row as it stops (``decoding.greedy_decode``).
        Greedy encoder-decoder batches run in waves of ``WAVE_TOKENS`` new tokens
        instead: rows that have stopped leave, and the unfinished ones are re-batched
        for the next wave, so a batch does not wait for its longest row (median
        explanation ~10 tokens, a few run to the limit). Each wave re-reads the prefix
        generated so far, so greedy outputs stay those of an uninterrupted run. Beam
        search and batch size 1 generate in one go.
        """
        contexts = [self._explanation_context(ex, labels[i]) for i, ex in enumerate(examples)]
        return [clean_explanation(t) for t in self.generate_texts(contexts)]

    # New tokens per wave (None: WAVE_TOKENS); a subclass generating longer texts raises it.
    wave_tokens: int | None = None

    def generate_texts(self, contexts: list[tuple[list[int], list[int]]]) -> list[str]:
        """Greedy/beam continuation of each ``(encoder ids, decoder ids)`` context, decoded, in waves."""
        generated: list[list[int]] = [[] for _ in contexts]
        pending = list(range(len(contexts)))
        budget = self.gen.max_new_tokens
        waves = self.is_seq2seq and self.gen.num_beams == 1 and self.gen.batch_size > 1
        while pending and budget > 0:
            step = min(self.wave_tokens or WAVE_TOKENS, budget) if waves else budget
            unfinished = []
            for idx in self._progress(self._explanation_batches(pending, contexts, generated),
                                      "generating explanations"):
                enc = [contexts[i][0] for i in idx]
                dec = [contexts[i][1] + generated[i] for i in idx]
                for i, (tokens, stopped) in zip(idx, self._generate(enc, dec, step)):
                    generated[i] += tokens
                    if not stopped:
                        unfinished.append(i)
            pending, budget = unfinished, budget - step
        return self.tok.batch_decode(generated, skip_special_tokens=True)

    # ---- everything ---------------------------------------------------------------------
    def predict(self, examples: Sequence[Example]) -> list[dict]:
        """Per-example records: ``uid``, ``gold_label``, ``pred_label``, ``label_probs``,
        ``pred_explanation`` (None for label-only students), ``references``, and
        ``teacher_label`` / ``teacher_rationale`` from the example's first teacher
        rationale (None without one), for student-teacher agreement."""
        with self.inference():
            if self.s.order == "explain_predict" and self.s.explain and not self.s.task_prefix:
                expls: list[str | None] = list(self.explanations(examples, [None] * len(examples)))
                probs = self.label_probabilities(examples, expls)
                labels = [max(p, key=p.get) for p in probs]
            else:
                probs = self.label_probabilities(examples)
                labels = [max(p, key=p.get) for p in probs]
                expls = (list(self.explanations(examples, labels)) if self.s.explain
                         else [None] * len(examples))
        return [
            {
                "uid": ex.uid,
                "premise": ex.fields.get("premise"),
                "hypothesis": ex.fields.get("hypothesis"),
                "gold_label": ex.label,
                "pred_label": labels[i],
                "label_probs": probs[i],
                "pred_explanation": expls[i],
                "references": list(ex.explanations),
                "teacher_label": ex.rationales[0].label if ex.rationales else None,
                "teacher_rationale": ex.rationales[0].text if ex.rationales else None,
            }
            for i, ex in enumerate(examples)
        ]

    def _progress(self, items, desc):
        return tqdm(items, desc=desc, disable=not self.show_progress, leave=False)
