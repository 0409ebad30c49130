"""The ``latent`` method: hidden-state distillation (``latent.mode: latent``), logit KD
(``logit_kd``) and SFT baselines (``sft``), from a teacher whose signals are cached once.

Phases of ``rdistill train``: extract the teacher cache (skipped when ``latent.cache_dir``
already holds a complete extraction of these rows with these settings, or when the mode
reads no cache), then train + evaluate. With ``latent.teacher_kind: coconut`` the teacher is
a COCONUT run whose thoughts are distilled (``thought_extract``, ``thought_run``).
"""

from __future__ import annotations

from rdistill.config import RunConfig
from rdistill.methods.base import EvalRequest, Method, Phase, TrainRequest
from rdistill.methods.latent.config import LatentConfig
from rdistill.training.run_folder import RunFolder


class LatentMethod(Method):
    name = "latent"
    section = "latent"
    settings = LatentConfig
    # Answers are decoded greedily; no explanation metric or judge is computed.
    scoring_keys = ("generation.max_new_tokens", "generation.batch_size", "generation.precision",
                    "evaluation.limit")

    def check(self, cfg: RunConfig) -> list[tuple[str, str]]:
        if getattr(cfg, "latent", None) is None:
            return [("latent", "method 'latent' needs a `latent:` section (see configs/latent/)")]
        return []

    def phases(self, cfg: RunConfig, folder: RunFolder, request: TrainRequest) -> list[Phase]:
        from rdistill.methods.latent.run import cache_complete, extract_cache, needs_cache, train_latent
        from rdistill.tasks.recipe_data import prepare_splits

        phases = []
        if needs_cache(cfg):
            rows = []  # the training rows, loaded once for both the check and the extraction

            def train_rows():
                if not rows:
                    rows.extend(prepare_splits(cfg, request.data_dir).train)
                return rows

            # every rank extracts its share of the shards (shard i on rank i % N), then trains
            phases.append(Phase("extract", done=lambda: cache_complete(cfg, train_rows()),
                                run=lambda: extract_cache(cfg, examples=train_rows(),
                                                          show_progress=request.show_progress)))
        train = train_latent
        if cfg.latent.teacher_kind == "coconut":
            from rdistill.methods.latent.thought_run import train_thought_latent as train
        phases.append(Phase("train + evaluate", done=lambda: request.resume and folder.finished(),
                            run=lambda: train(cfg, folder.root, data_dir=request.data_dir,
                                              resume=request.resume, show_progress=request.show_progress)))
        return phases

    def evaluate(self, folder: RunFolder, cfg: RunConfig, request: EvalRequest) -> dict:
        if cfg.latent.teacher_kind == "coconut":
            from rdistill.methods.latent.thought_run import evaluate_thought_run

            return evaluate_thought_run(folder, cfg, request)
        from rdistill.methods.latent.run import evaluate_latent_run

        return evaluate_latent_run(folder, cfg, request)

    def predictor(self, model, tokenizer, kind: str, cfg: RunConfig, *, show_progress: bool = False):
        if cfg.latent.teacher_kind == "coconut":
            from rdistill.methods.latent.thought_run import thought_predictor

            return thought_predictor(model, tokenizer, cfg, show_progress=show_progress)
        from rdistill.methods.latent.run import latent_predictor

        return latent_predictor(model, tokenizer, cfg, show_progress=show_progress)
