"""The predictor of a CTranslate2 export: the PyTorch predictor's prompts, label scoring and
greedy decoding, run by CTranslate2's ``Generator`` (int8 weights on a CPU).

Only the model calls differ from :class:`~rdistill.prediction.labels.Predictor`:

- next-token logits after a context (label words that start with distinct tokens): one
  generation step (``generate_batch``, ``max_length=1``, ``return_logits_vocab``), i.e. the
  prompt's prefill and the LM head on its last position only;
- labels that share a first token: ``score_batch``'s log-probabilities of the label's tokens;
- explanations: greedy ``generate_batch`` with the same stop tokens (every newline token and
  the end tokens), ``max_new_tokens`` and repetition penalty; finished rows leave the batch
  inside CTranslate2.

Token ids go in as the export's own vocabulary strings (``vocabulary.json``, written by the
converter from the tokenizer in id order), which CTranslate2 maps back to the same ids.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from rdistill.config import GenerationConfig
from rdistill.errors import ModelError
from rdistill.prediction.answers import AnswerPredictor
from rdistill.prediction.labels import PredictionSettings, Predictor
from rdistill.tasks.registry import Task

log = logging.getLogger(__name__)


def load_generator(model_dir: str | Path, *, threads: int = 0, device: str = "cpu"):
    """``ctranslate2.Generator`` on the export's stored weights (its quantization); ``threads``
    0 takes torch's thread count, so that ``OMP_NUM_THREADS`` and ``num_threads`` apply alike."""
    try:
        import ctranslate2
    except ImportError:
        raise ModelError(f"{model_dir} is a CTranslate2 export: pip install 'rdistill[serve]' "
                         "(the ctranslate2 package) to run it") from None
    try:
        return ctranslate2.Generator(str(model_dir), device=device, compute_type="default",
                                     intra_threads=threads or torch.get_num_threads())
    except (RuntimeError, ValueError) as err:
        raise ModelError(f"{model_dir}: CTranslate2 cannot load it ({str(err).splitlines()[0][:200]}): "
                         "export the run again") from None


class _CTranslate2Calls:
    """The model calls of a predictor, through a CTranslate2 generator (mixed into a Predictor)."""

    def __init__(self, model_dir: Path, end_ids: tuple[int, ...], generator, *args, **kwargs):
        super().__init__(generator, *args, **kwargs)  # type: ignore[call-arg]
        vocab = json.loads((Path(model_dir) / "vocabulary.json").read_text(encoding="utf-8"))
        if len(set(vocab)) != len(vocab):
            # Two ids under one string would come back as one of them: outputs would differ silently.
            raise ModelError(f"{model_dir}/vocabulary.json repeats a token string: this tokenizer "
                             "cannot be served through CTranslate2; use an hf export")
        self.vocab: list[str] = vocab
        self.end_ids = list(end_ids)

    def _tokens(self, ids: list[int]) -> list[str]:
        return [self.vocab[i] for i in ids]

    def model_end_ids(self) -> list[int]:
        return self.end_ids

    @contextmanager
    def inference(self) -> Iterator[None]:
        yield  # a CTranslate2 model has no training mode

    def _last_logits(self, enc: list[list[int]], dec: list[list[int]]) -> torch.Tensor:
        """``(B, V)`` next-token logits after each context: one generation step, the last
        step's logits. CTranslate2 prefills a batch up to its shortest context and forces the
        rest token by token (a full step each), so contexts of equal length go together: one
        prefill each (measured on e-SNLI prompts, 50 rows: 5.0 s against 6.6-9.7 s ragged)."""
        by_length: dict[int, list[int]] = {}
        for i, d in enumerate(dec):
            by_length.setdefault(len(d), []).append(i)
        logits: list[torch.Tensor] = [torch.empty(0)] * len(dec)
        for rows in by_length.values():
            results = self.model.generate_batch([self._tokens(dec[i]) for i in rows], max_length=1,
                                                include_prompt_in_result=False, return_logits_vocab=True)
            for i, r in zip(rows, results):
                logits[i] = torch.from_numpy(np.asarray(r.logits[0][-1], dtype=np.float32)).reshape(-1)
        return torch.stack(logits)

    def _sequence_scores(self, enc, dec) -> torch.Tensor:
        """``(B, L)`` summed log-probabilities of each label's tokens after each context."""
        scores = []
        for lab_ids in self.label_ids:
            results = self.model.score_batch([self._tokens(d + lab_ids) for d in dec], max_input_length=0)
            scores.append(torch.tensor([sum(r.log_probs[-len(lab_ids):]) for r in results]))
        return torch.stack(scores, 1)

    def _generate(self, enc: list[list[int]], dec: list[list[int]],
                  max_new_tokens: int) -> list[tuple[list[int], bool]]:
        """(new token ids up to and including a stop token, whether it stopped) per row."""
        stops = self.stop_ids
        results = self.model.generate_batch(
            [self._tokens(d) for d in dec], max_length=max_new_tokens, include_prompt_in_result=False,
            end_token=sorted(stops), return_end_token=True, beam_size=self.gen.num_beams,
            repetition_penalty=self.gen.repetition_penalty, length_penalty=self.gen.length_penalty)
        rows = []
        for r in results:
            tokens = list(r.sequences_ids[0])
            rows.append((tokens, bool(tokens) and tokens[-1] in stops))
        return rows


class CTranslate2Predictor(_CTranslate2Calls, Predictor):
    """Label (+ probabilities) and explanation from a CTranslate2 export of a decoder-only student."""


class CTranslate2AnswerPredictor(_CTranslate2Calls, AnswerPredictor):
    """Reasoning + answer (open-answer tasks) from a CTranslate2 export."""


def ctranslate2_predictor(model_dir: str | Path, tokenizer, task: Task, *, settings: PredictionSettings,
                          generation: GenerationConfig, end_ids: tuple[int, ...] = (), threads: int = 0,
                          show_progress: bool = False) -> Predictor:
    """The predictor of a CTranslate2 export: label scoring for closed-label tasks, a written
    answer for open-answer tasks (as ``methods.rationale.predictor`` picks for PyTorch)."""
    if generation.repetition_penalty != 1.0 or generation.num_beams > 1:
        log.warning("CTranslate2 runs its own repetition penalty and beam search: texts may differ from the "
                    "PyTorch student's (greedy decoding without a penalty, the default, gives the same text)")
    predictor_class = CTranslate2AnswerPredictor if task.answer_kind is not None else CTranslate2Predictor
    return predictor_class(Path(model_dir), end_ids, load_generator(model_dir, threads=threads), tokenizer,
                           task, is_seq2seq=False, settings=settings, generation=generation,
                           show_progress=show_progress)
