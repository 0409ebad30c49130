"""The ``latent:`` section of a run config: hidden-state / logit distillation settings.

Kept apart from ``rdistill.config`` (which imports it) so the latent package owns
its own knobs; the base class mirrors ``config._Section`` (unknown keys fail).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from rdistill.config import Section

# "last:4", "10-20" (inclusive), or an explicit list of layer numbers.
LAYER_SPEC = re.compile(r"^(last:\d+|\d+-\d+)$")


class LatentConfig(Section):

    mode: Literal["latent", "logit_kd", "sft"] = Field(
        default="latent", description="hidden-state distillation, logit KD, or plain SFT (baseline)")
    teacher: str | None = Field(default=None, description="teacher: alias, folder or Hub id")
    teacher_kind: Literal["model", "coconut"] = Field(
        default="model", description="a plain model, or a trained COCONUT run (its folder or RUN/student) "
                                     "whose continuous thoughts are distilled")
    teacher_source: Literal["cache", "online"] = Field(
        default="cache", description="read teacher signals from the extracted cache, or run the teacher")
    cache_dir: str | None = Field(default=None, description="extraction cache (default latent_cache/<name>)")
    layers: list[int] | str = Field(
        default="last:4", description="teacher layers to store: [a, b], 'a-b' or 'last:k' (1 = first block)")
    positions: Literal["target", "answer", "mean", "thoughts"] = Field(
        default="target", description="all target (reasoning+answer) tokens, the answer span, their mean, "
                                      "or a COCONUT teacher's thoughts + answer (teacher_kind=coconut)")
    thoughts: int | None = Field(
        default=None, ge=0, le=256,
        description="COCONUT teacher: continuous thoughts per row (default: the teacher run's eval thoughts)")
    student_reasoning: Literal["thoughts", "direct"] = Field(
        default="thoughts", description="COCONUT teacher: the student reasons in as many continuous thoughts "
                                        "(matched one to one), or answers directly (no thoughts)")
    dtype: Literal["fp16", "bf16", "fp32"] = "bf16"
    examples_per_shard: int = Field(default=256, ge=1)
    extract_batch_size: int = Field(default=8, ge=1)
    top_k: int = Field(default=0, ge=0, description="store the teacher's top-k log-probs (0: none)")
    layer_map: list[tuple[int, int]] | Literal["relative_depth"] = Field(
        default="relative_depth",
        description="(teacher layer, student layer) pairs, or spread the stored layers by relative depth")
    loss: Literal["mse", "smooth_l1", "cosine", "normalized_mse"] = "mse"
    alpha: float = Field(default=0.5, ge=0.0, le=1.0, description="alpha*L_distill + (1-alpha)*L_task")
    temperature: float = Field(default=1.0, gt=0)
    kd_direction: Literal["forward", "reverse"] = "forward"
    token_alignment: Literal["offsets", "mean"] = Field(
        default="offsets", description="different tokenizers: match tokens by character offsets, or mean-pool")
    student_from_teacher: Literal["every_other"] | list[int] | None = Field(
        default=None, description="build the student from the teacher keeping these layers (0-based blocks)")
    verify_checksums: Literal["lazy", "open", "none"] = Field(
        default="lazy", description="sha256 of each shard: when first read, all at open, or never")
    target: Literal["reasoning_answer", "answer"] = Field(
        default="reasoning_answer",
        description="what the student learns to write: reasoning then answer, or the answer alone "
                    "(the no-chain-of-thought baseline; latent.mode=sft only)")
    max_prompt_tokens: int = Field(default=256, ge=8)
    max_target_tokens: int = Field(default=256, ge=4)

    @field_validator("layers")
    @classmethod
    def _layer_spec(cls, value: list[int] | str) -> list[int] | str:
        if isinstance(value, str) and not LAYER_SPEC.match(value.strip()):
            raise ValueError(f"'{value}' is not a layer list, 'a-b' range or 'last:k'")
        if isinstance(value, list) and (not value or min(value) < 0):
            raise ValueError("layers must be a non-empty list of layer numbers >= 0")
        return value

    @model_validator(mode="after")
    def _needs(self) -> LatentConfig:
        if self.mode != "sft" and not self.teacher:
            raise ValueError(f"latent.mode={self.mode} needs latent.teacher (alias, folder or Hub id)")
        if self.student_from_teacher and not self.teacher:
            raise ValueError("latent.student_from_teacher needs latent.teacher")
        if self.mode == "logit_kd" and self.teacher_source == "cache" and self.top_k == 0:
            raise ValueError("latent.mode=logit_kd from the cache needs latent.top_k > 0 "
                             "(or latent.teacher_source=online)")
        if self.target == "answer" and self.mode != "sft":
            raise ValueError(f"latent.target=answer is the no-chain-of-thought SFT baseline: it needs "
                             f"latent.mode=sft, not {self.mode} (the teacher's signals cover the reasoning)")
        return self._coconut_needs()

    def _coconut_needs(self) -> LatentConfig:
        problems = []
        if self.teacher_kind == "coconut":
            fix = {"mode": "latent", "teacher_source": "cache", "positions": "thoughts"}
            problems += [f"latent.teacher_kind=coconut needs latent.{key}={want}, not {getattr(self, key)}"
                         for key, want in fix.items() if getattr(self, key) != want]
            if self.top_k:
                problems.append("latent.teacher_kind=coconut stores hidden states only: set latent.top_k=0")
        else:
            if self.positions == "thoughts":
                problems.append("latent.positions=thoughts reads a COCONUT teacher: set latent.teacher_kind=coconut")
            if self.thoughts is not None or self.student_reasoning != "thoughts":
                problems.append("latent.thoughts and latent.student_reasoning are for a COCONUT teacher: "
                                "set latent.teacher_kind=coconut or drop them")
        if problems:
            raise ValueError("; ".join(problems))
        return self
