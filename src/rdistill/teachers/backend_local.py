"""Teacher backend: a local causal LM, batched greedy generation with ``generate``.

Prompts are sorted by length and left-padded (decoder-only models continue from the
right end); each row's result is handed over as soon as its batch finishes, so a
crash loses at most one batch. ``latency_s`` of a row is its batch's time divided by
the batch size (the cost per row actually paid).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch

from rdistill.models.loading import load_model, load_tokenizer
from rdistill.teachers.cache import Result
from rdistill.teachers.config import GenerationSettings, LocalTeacher

log = logging.getLogger(__name__)


def cut_at_stop(text: str, stops: Sequence[str]) -> str:
    """``text`` up to the first of the stop sequences (as a server does with ``stop``)."""
    cut = len(text)
    for stop in stops:
        at = text.find(stop)
        if stop and at != -1:
            cut = min(cut, at)
    return text[:cut]


class LocalBackend:
    def __init__(self, cfg: LocalTeacher, settings: GenerationSettings, chat: str = "auto"):
        self.cfg = cfg
        self.settings = settings
        self.tokenizer = load_tokenizer(cfg.model, trust_remote_code=cfg.trust_remote_code)
        self.tokenizer.padding_side = "left"
        # Over-long few-shot prompts lose their oldest shots, never the question at the end.
        self.tokenizer.truncation_side = "left"
        self.chat = chat == "auto" and bool(getattr(self.tokenizer, "chat_template", None))
        self._model = None

    @property
    def model(self):
        # Loaded on first use: a resumed run whose rows are all cached needs only the tokenizer.
        if self._model is None:
            model, _ = load_model(self.cfg.model, kind="causal", dtype=self.cfg.dtype,
                                  trust_remote_code=self.cfg.trust_remote_code)
            self._model = model.to(self.cfg.device).eval()
        return self._model

    def prompt_text(self, payload: Any) -> str:
        """The string the model reads: the chat template applied to messages, or the text itself."""
        if self.chat:
            return self.tokenizer.apply_chat_template(list(payload), tokenize=False,
                                                      add_generation_prompt=True)
        return payload

    @torch.no_grad()
    def _generate(self, texts: list[str]) -> list[tuple[str, int, int]]:
        """``(completion, prompt tokens, completion tokens)`` per text."""
        tok = self.tokenizer
        # The chat template already wrote any BOS; plain text gets the tokenizer's usual specials.
        enc = tok(texts, return_tensors="pt", padding=True, truncation=True,
                  max_length=self.cfg.max_prompt_tokens, add_special_tokens=not self.chat)
        enc = {k: v.to(self.model.device) for k, v in enc.items()}
        greedy = self.settings.temperature == 0
        out = self.model.generate(
            **enc, max_new_tokens=self.settings.max_tokens, do_sample=not greedy,
            temperature=None if greedy else self.settings.temperature, top_p=None, top_k=None,
            pad_token_id=tok.pad_token_id)
        new = out[:, enc["input_ids"].shape[1]:]
        results = []
        stop_ids = {tok.pad_token_id, tok.eos_token_id, *self._extra_eos()}
        for i in range(len(texts)):
            ids = new[i].tolist()
            n = next((j for j, t in enumerate(ids) if t in stop_ids), len(ids))
            completion = cut_at_stop(tok.decode(ids[:n], skip_special_tokens=True), self.settings.stop)
            results.append((completion, int(enc["attention_mask"][i].sum()), n))
        return results

    def _extra_eos(self) -> list[int]:
        eos = getattr(self.model.generation_config, "eos_token_id", None)
        return [eos] if isinstance(eos, int) else list(eos or [])

    def run(self, jobs: Sequence[tuple[str, Any]], on_start: Callable[[str], None],
            on_result: Callable[[Result], None]) -> None:
        """Answer ``(key, payload)`` jobs in length-sorted batches, reporting each row."""
        texts = {key: self.prompt_text(payload) for key, payload in jobs}
        order = sorted(texts, key=lambda k: len(texts[k]))
        size = self.cfg.batch_size
        for i in range(0, len(order), size):
            keys = order[i:i + size]
            for key in keys:
                on_start(key)
            start = time.perf_counter()
            try:
                outs = self._generate([texts[k] for k in keys])
            except (RuntimeError, ValueError) as err:  # e.g. out of memory: record, go on
                log.warning("local teacher: batch of %d failed: %s", len(keys), err)
                for key in keys:
                    on_result(Result(key, "failed", error=f"{type(err).__name__}: {err}"[:500]))
                continue
            per_row = (time.perf_counter() - start) / len(keys)
            for key, (text, n_prompt, n_new) in zip(keys, outs):
                on_result(Result(key, "done", raw=text, prompt_tokens=n_prompt,
                                 completion_tokens=n_new, latency_s=per_row))
