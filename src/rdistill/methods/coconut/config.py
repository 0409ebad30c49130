"""``CoconutConfig``: every COCONUT setting in one validated section (``coconut:`` in a run config).

Training settings shared with other methods (lr, batch size, warm-up, logging,
saving) stay in the run's ``training:`` section and reach ``train_curriculum``
as a ``transformers.TrainingArguments`` template; only what COCONUT adds is here.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from rdistill.config import Section
from rdistill.methods.coconut.curriculum import Curriculum


class CoconutConfig(Section):
    """COCONUT curriculum and thought settings (Hao et al. 2024, section 3).

    - ``c_thoughts``: continuous thoughts that replace one language reasoning step
      (the paper's *c*; 2 for GSM8K, 1 for ProntoQA/ProsQA).
    - ``max_stage``: last curriculum stage; stages run 0..max_stage. Stage k < max_stage
      replaces the first k steps; stage max_stage replaces every step (the paper's
      "all latent" stage, with at most max_stage * c thoughts).
    - ``epochs_per_stage`` / ``steps_per_stage``: length of each stage (steps win when
      set); ``last_stage_epochs`` lets the final stage run longer, as the paper does
      (GSM8K: 3 epochs per stage, the rest of 25 epochs at the last stage).
    - ``pad_thoughts_to_max``: rows with fewer steps than the stage still get the
      stage's full number of thoughts (the reference code's ``pad_latent_to_max``).
    - ``reset_optimizer``: a fresh optimizer (and LR schedule) at each stage, as in the
      paper. ``False`` carries the AdamW moments over; the LR schedule restarts anyway.
    - ``eval_thoughts``: thoughts used at inference; ``None`` = max_stage * c_thoughts.
    """

    c_thoughts: int = Field(2, ge=1, le=64)
    max_stage: int = Field(3, ge=1, le=64)
    epochs_per_stage: float = Field(3.0, gt=0)
    steps_per_stage: int | None = Field(None, ge=1)
    last_stage_epochs: float | None = Field(None, gt=0)
    pad_thoughts_to_max: bool = False
    reset_optimizer: bool = True
    eval_thoughts: int | None = Field(None, ge=0)
    max_new_tokens: int = Field(64, ge=1)

    @model_validator(mode="after")
    def _check_lengths(self) -> CoconutConfig:
        if self.steps_per_stage is not None and self.last_stage_epochs is not None:
            raise ValueError(
                f"coconut.last_stage_epochs={self.last_stage_epochs} has no effect when "
                f"coconut.steps_per_stage={self.steps_per_stage} is set; drop one of them"
            )
        return self

    def curriculum(self) -> Curriculum:
        return Curriculum(c_thoughts=self.c_thoughts, max_stage=self.max_stage,
                          epochs_per_stage=self.epochs_per_stage, steps_per_stage=self.steps_per_stage,
                          last_stage_epochs=self.last_stage_epochs,
                          pad_thoughts_to_max=self.pad_thoughts_to_max)

    def inference_thoughts(self) -> int:
        """Thoughts to run before ``<eot>`` when predicting after the full curriculum."""
        return self.max_stage * self.c_thoughts if self.eval_thoughts is None else self.eval_thoughts
