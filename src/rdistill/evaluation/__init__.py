"""Evaluation metrics (one per module, pure) and the evaluator that runs them and writes files."""

from rdistill.evaluation.agreement import teacher_agreement
from rdistill.evaluation.bertscore import (
    DEFAULT_LAYER,
    DEFAULT_MODEL,
    bertscore_f1,
    clear_bertscore_cache,
    default_model_dir,
)
from rdistill.evaluation.bleu import corpus_bleu
from rdistill.evaluation.calibration import calibration
from rdistill.evaluation.classification import INVALID, classification_metrics
from rdistill.evaluation.consistency import lexical_consistency, lexical_cue
from rdistill.evaluation.errors import error_analysis, write_errors
from rdistill.evaluation.evaluator import evaluate_predictions, write_evaluation
from rdistill.evaluation.rouge import rouge_l

__all__ = [
    "DEFAULT_LAYER",
    "DEFAULT_MODEL",
    "INVALID",
    "bertscore_f1",
    "calibration",
    "classification_metrics",
    "clear_bertscore_cache",
    "corpus_bleu",
    "default_model_dir",
    "error_analysis",
    "evaluate_predictions",
    "lexical_consistency",
    "lexical_cue",
    "rouge_l",
    "teacher_agreement",
    "write_errors",
    "write_evaluation",
]
