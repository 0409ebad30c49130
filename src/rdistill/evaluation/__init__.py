"""Evaluation metrics (one per module, pure) and the evaluator that runs them and writes files.

The names below are loaded on first use (PEP 562), so that a light reader of this package
(``evaluation.stats`` for the learning-curve report, ``evaluation.paired`` for ``compare``)
does not import torch and the BERTScore model code with it.
"""

from __future__ import annotations

import importlib

_WHERE = {
    "teacher_agreement": "agreement",
    "DEFAULT_LAYER": "bertscore", "DEFAULT_MODEL": "bertscore", "bertscore_f1": "bertscore",
    "clear_bertscore_cache": "bertscore", "default_model_dir": "bertscore",
    "corpus_bleu": "bleu",
    "calibration": "calibration",
    "INVALID": "classification", "classification_metrics": "classification",
    "lexical_consistency": "consistency", "lexical_cue": "consistency",
    "error_analysis": "errors", "write_errors": "errors",
    "evaluate_predictions": "evaluator", "write_evaluation": "evaluator",
    "rouge_l": "rouge",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))
