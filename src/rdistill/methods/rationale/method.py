"""The ``rationale`` method: a student learns the label and its explanation,
``L = alpha * L_label + beta * L_explanation`` (or reasoning then answer, for math tasks)."""

from __future__ import annotations

from rdistill.config import RunConfig
from rdistill.methods.base import EvalRequest, Method, Phase, TrainRequest
from rdistill.training.run_folder import RunFolder


class RationaleMethod(Method):
    name = "rationale"
    trains_label_words = True

    def check(self, cfg: RunConfig) -> list[tuple[str, str]]:
        if cfg.model.label_head == "none":
            return []
        # The head is the label term and the label's only source at prediction.
        why = [("loss.label_softmax: labels", cfg.loss.label_softmax != "vocab"),
               ("loss.alpha: 0 (the head would never learn)", cfg.loss.alpha == 0),
               ("loss.output_order: explain_predict (the head reads the input, not an explanation)",
                cfg.loss.output_order == "explain_predict"),
               ("model.kind: causal (it needs an encoder)", cfg.model.kind == "causal")]
        return [("model.label_head", f"'encoder' cannot go with {text}") for text, clash in why if clash]

    def phases(self, cfg: RunConfig, folder: RunFolder, request: TrainRequest) -> list[Phase]:
        from rdistill.methods.rationale.pipeline import train_rationale

        # One phase: the held-out evaluation runs on the student still in memory, right after training.
        return [Phase("train + evaluate", done=lambda: request.resume and folder.finished(),
                      run=lambda: train_rationale(cfg, folder, request))]

    def evaluate(self, folder: RunFolder, cfg: RunConfig, request: EvalRequest) -> dict:
        from rdistill.methods.rationale.evaluate import evaluate_rationale_run
        from rdistill.training.precision import inference_dtype
        from rdistill.training.run_folder import load_student

        model, tokenizer, kind, _ = load_student(folder, trust_remote_code=cfg.model.trust_remote_code,
                                                 dtype=inference_dtype(cfg))
        predictor = self.predictor(model, tokenizer, kind, cfg, show_progress=request.show_progress)
        return evaluate_rationale_run(predictor, cfg, folder.root, request)

    def predictor(self, model, tokenizer, kind: str, cfg: RunConfig, *, show_progress: bool = False):
        from rdistill.methods.rationale.predictor import rationale_predictor

        return rationale_predictor(model, tokenizer, kind, cfg, show_progress=show_progress)
