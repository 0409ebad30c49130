"""Which explanation texts a student is trained to generate for one example."""

from __future__ import annotations

import random
from typing import Literal, get_args

from rdistill.data.example import Example
from rdistill.errors import ConfigError

ExplanationSource = Literal["human", "palm", "both"]
MultiTeacher = Literal["all", "sample", "gold_match"]
SOURCES: tuple[str, ...] = get_args(ExplanationSource)
MULTI_TEACHER_MODES: tuple[str, ...] = get_args(MultiTeacher)


def select_targets(
    example: Example,
    *,
    source: ExplanationSource,
    multi_teacher: MultiTeacher,
    rng: random.Random,
) -> list[str]:
    """Return the explanation targets to train on for ``example`` (maybe none).

    Candidates by ``source``:
      * ``"human"``: the first human explanation only (``explanation_1``); the others
        stay on the Example as evaluation references;
      * ``"palm"``: every teacher rationale on the Example (``example.rationales``);
      * ``"both"``: the human candidate followed by the teacher ones.
    Rationales with empty text are never candidates.

    Then by ``multi_teacher``:
      * ``"all"``: every candidate, in the order above; the caller makes one training
        row per target;
      * ``"sample"``: one candidate drawn uniformly with ``rng`` (a list of one);
      * ``"gold_match"``: the candidates whose label equals the gold label
        (case-insensitive); human explanations always match, a teacher rationale whose
        label could not be parsed never does.
    An empty list means "no explanation target": the caller drops or label-only trains it.
    ``rng`` is consumed only by ``"sample"``, so the other modes are reproducible alone.
    """
    if source not in SOURCES:
        raise ConfigError(f"source={source!r}: expected one of {', '.join(SOURCES)}")
    if multi_teacher not in MULTI_TEACHER_MODES:
        raise ConfigError(
            f"multi_teacher={multi_teacher!r}: expected one of {', '.join(MULTI_TEACHER_MODES)}"
        )
    # (text, agrees with gold) pairs
    candidates: list[tuple[str, bool]] = []
    if source in ("human", "both") and example.explanations:
        candidates.append((example.explanations[0], True))
    if source in ("palm", "both"):
        gold = example.label.casefold()
        candidates.extend(
            (r.text, r.label is not None and r.label.casefold() == gold)
            for r in example.rationales
            if r.text.strip()
        )
    if multi_teacher == "gold_match":
        return [text for text, agrees in candidates if agrees]
    if multi_teacher == "sample":
        return [rng.choice(candidates)[0]] if candidates else []
    return [text for text, _ in candidates]
