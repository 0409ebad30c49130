"""The predictor of a rationale student: label scoring + explanation, or a written answer."""

from __future__ import annotations

from rdistill.config import RunConfig
from rdistill.prediction.answers import AnswerPredictor
from rdistill.prediction.labels import Predictor, settings_for
from rdistill.tasks.registry import get_task


def rationale_predictor(model, tokenizer, kind: str, cfg: RunConfig, *, show_progress: bool = False) -> Predictor:
    """Closed-label tasks score the label words; open-answer (math) tasks write and extract the answer."""
    task = get_task(cfg.data.dataset)
    predictor_class = AnswerPredictor if task.answer_kind is not None else Predictor
    return predictor_class(model, tokenizer, task, is_seq2seq=kind == "seq2seq", settings=settings_for(cfg),
                           generation=cfg.generation, show_progress=show_progress)
