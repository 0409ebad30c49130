"""The ``coconut`` method (Hao et al. 2024): a decoder-only student that reasons in continuous
thoughts, trained by a curriculum that replaces its reasoning steps by fed-back hidden states.

Phases of ``rdistill train``: the curriculum (stage by stage, each resumable) + the held-out
evaluation (answer accuracy, tokens written per answer, latency).
"""

from __future__ import annotations

from rdistill.config import RunConfig
from rdistill.methods.base import EvalRequest, Method, Phase, TrainRequest
from rdistill.methods.coconut.config import CoconutConfig
from rdistill.training.run_folder import RunFolder


class CoconutMethod(Method):
    name = "coconut"
    section = "coconut"
    settings = CoconutConfig
    # Greedy decoding after the thoughts, as long as ``coconut.max_new_tokens`` allows.
    scoring_keys = ("coconut.max_new_tokens", "generation.batch_size", "generation.precision",
                    "evaluation.limit")

    def phases(self, cfg: RunConfig, folder: RunFolder, request: TrainRequest) -> list[Phase]:
        from rdistill.methods.coconut.run import train_coconut

        return [Phase("curriculum + evaluate", done=lambda: request.resume and folder.finished(),
                      run=lambda: train_coconut(cfg, folder, request))]

    def evaluate(self, folder: RunFolder, cfg: RunConfig, request: EvalRequest) -> dict:
        from rdistill.methods.coconut.run import evaluate_coconut_run

        return evaluate_coconut_run(folder, cfg, request)

    def predictor(self, model, tokenizer, kind: str, cfg: RunConfig, *, show_progress: bool = False):
        from rdistill.methods.coconut.run import coconut_predictor

        return coconut_predictor(model, tokenizer, cfg, show_progress=show_progress)
