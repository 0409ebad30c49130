"""Evaluation metrics (one per module, pure) and the evaluator that runs them and writes files."""

from rdistill.evaluation.bertscore import (
    DEFAULT_LAYER,
    DEFAULT_MODEL,
    bertscore_f1,
    clear_bertscore_cache,
    default_model_dir,
)
from rdistill.evaluation.classification import INVALID, classification_metrics
from rdistill.evaluation.evaluator import evaluate_predictions, write_evaluation
from rdistill.evaluation.rouge import rouge_l

__all__ = [
    "DEFAULT_LAYER",
    "DEFAULT_MODEL",
    "INVALID",
    "bertscore_f1",
    "classification_metrics",
    "clear_bertscore_cache",
    "default_model_dir",
    "evaluate_predictions",
    "rouge_l",
    "write_evaluation",
]
