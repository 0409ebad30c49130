"""The COCONUT curriculum: which reasoning steps become continuous thoughts at each stage.

Row layout (token ids, pieces tokenized separately so that a step keeps the same
tokens at every stage, as in the reference implementation)::

    [question "\\n"] <bot> <latent> x n <eot> [step_{r+1} "\\n"] ... [step_m "\\n"] ["### " answer] <eos>
     -100 ......... -100  -100 ..... -100   targets ..........................................

- The question piece gets the tokenizer's own special tokens (a BOS where it adds one);
  every later piece gets none.
- ``<bot>``/``<eot>`` are present at every stage, stage 0 included (then with no
  ``<latent>`` between them), so the model always sees the same frame.
- Labels are ``-100`` on the question, ``<bot>``, the thoughts and ``<eot>``; the
  remaining steps, the answer marker, the answer and ``<eos>`` are targets.
- ``<latent>`` is only a placeholder: ``coconut_forward`` replaces its input embedding
  by the previous position's last hidden state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Sequence

from rdistill.errors import DataError
from rdistill.losses import IGNORE_INDEX
from rdistill.methods.coconut.tokens import CoconutTokens

ANSWER_MARKER = "###"
_ANSWER_SPLIT = re.compile(r"#\s*#\s*#")  # WordPiece-style decoders put spaces between the '#'s


@dataclass(frozen=True)
class StageRow:
    """One row at one stage: ``n_thoughts`` thoughts, then the ``remaining`` steps as text."""

    n_thoughts: int
    n_replaced: int
    remaining: tuple[str, ...]


def stage_rows(example_steps: Sequence[str], stage: int, c: int, *, max_stage: int | None = None,
               pad_thoughts_to_max: bool = False) -> StageRow:
    """Which steps of a row stage ``stage`` replaces, and by how many thoughts.

    - ``stage < max_stage`` (or ``max_stage=None``): the first ``min(stage, n_steps)`` steps
      become ``c`` thoughts each; ``pad_thoughts_to_max`` gives every row ``stage * c``.
    - ``stage >= max_stage``: every step is replaced (the paper's all-latent stage), by
      ``c * min(n_steps, max_stage)`` thoughts (``c * max_stage`` with padding); a row with
      more steps than ``max_stage`` loses its extra steps without extra thoughts, as in the paper.
    """
    if stage < 0 or c < 1:
        raise ValueError(f"stage must be >= 0 and c >= 1, got stage={stage}, c={c}")
    n_steps = len(example_steps)
    if max_stage is not None and stage >= max_stage:
        n_replaced = n_steps
        n_thoughts = c * (max_stage if pad_thoughts_to_max else min(n_steps, max_stage))
    else:
        n_replaced = min(stage, n_steps)
        n_thoughts = c * (stage if pad_thoughts_to_max else n_replaced)
    return StageRow(n_thoughts=n_thoughts, n_replaced=n_replaced,
                    remaining=tuple(example_steps[n_replaced:]))


@dataclass(frozen=True)
class Curriculum:
    """Stages 0..max_stage, each of ``epochs_per_stage`` epochs (or ``steps_per_stage`` steps)."""

    c_thoughts: int
    max_stage: int
    epochs_per_stage: float = 3.0
    steps_per_stage: int | None = None
    last_stage_epochs: float | None = None
    pad_thoughts_to_max: bool = False

    @property
    def stages(self) -> range:
        return range(self.max_stage + 1)

    def row(self, steps: Sequence[str], stage: int) -> StageRow:
        return stage_rows(steps, stage, self.c_thoughts, max_stage=self.max_stage,
                          pad_thoughts_to_max=self.pad_thoughts_to_max)

    def stage_length(self, stage: int) -> dict[str, float | int]:
        """``TrainingArguments`` overrides for one stage: ``max_steps`` or ``num_train_epochs``."""
        if self.steps_per_stage is not None:
            return {"max_steps": self.steps_per_stage}
        epochs = self.epochs_per_stage
        if stage >= self.max_stage and self.last_stage_epochs is not None:
            epochs = self.last_stage_epochs
        return {"num_train_epochs": epochs, "max_steps": -1}


@dataclass(frozen=True)
class EncodedRow:
    """Token ids of one row; ``thought_positions`` are the ``<latent>`` indices (contiguous after ``<bot>``)."""

    input_ids: list[int]
    labels: list[int]
    thought_positions: list[int]
    bot_index: int

    def as_features(self) -> dict[str, Any]:
        return {"input_ids": self.input_ids, "labels": self.labels,
                "thought_positions": self.thought_positions, "bot_index": self.bot_index}


def question_ids(tokenizer, question: str) -> list[int]:
    """The question piece; shared by training rows and inference prompts so both see the same ids."""
    return tokenizer(question.strip() + "\n", add_special_tokens=True)["input_ids"]


def _piece(tokenizer, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def encode_row(tokenizer, question: str, steps: Sequence[str], answer: str, stage: int, c: int, *,
               tokens: CoconutTokens, max_stage: int | None = None, pad_thoughts_to_max: bool = False,
               max_length: int | None = None) -> EncodedRow:
    """Encode one row at one stage (layout in the module docstring).

    ``max_length`` truncates the targets' tail (never the question nor the thoughts) so a
    long reasoning chain cannot push the thoughts out of the row.
    """
    if tokenizer.eos_token_id is None:
        raise ValueError("the tokenizer has no eos token; COCONUT rows end with <eos>")
    plan = stage_rows(steps, stage, c, max_stage=max_stage, pad_thoughts_to_max=pad_thoughts_to_max)
    prompt = question_ids(tokenizer, question)
    bot_index = len(prompt)
    frame = [tokens.bot_id] + [tokens.latent_id] * plan.n_thoughts + [tokens.eot_id]
    target: list[int] = []
    for step in plan.remaining:
        target += _piece(tokenizer, step.strip() + "\n")
    target += _piece(tokenizer, f"{ANSWER_MARKER} {answer.strip()}") + [tokenizer.eos_token_id]
    input_ids = prompt + frame + target
    labels = [IGNORE_INDEX] * (len(prompt) + len(frame)) + target
    if max_length is not None and len(input_ids) > max_length:
        if len(prompt) + len(frame) >= max_length:
            raise DataError(f"question + {plan.n_thoughts} thoughts take {len(prompt) + len(frame)} tokens, "
                            f"max_length is {max_length}: raise training.max_source_tokens "
                            "(+ training.max_target_tokens = the row length)")
        input_ids, labels = input_ids[:max_length], labels[:max_length]
    thought_positions = list(range(bot_index + 1, bot_index + 1 + plan.n_thoughts))
    return EncodedRow(input_ids=input_ids, labels=labels, thought_positions=thought_positions,
                      bot_index=bot_index)


def answer_from_text(text: str) -> str | None:
    """The answer after the last ``###`` of a generated continuation; ``None`` if there is none."""
    parts = _ANSWER_SPLIT.split(text)
    return parts[-1].strip() if len(parts) > 1 else None
