"""Which explanation texts a student is trained to generate for one example."""

from __future__ import annotations

import random
from collections import Counter
from typing import Literal, get_args

from rdistill.data.example import Example
from rdistill.errors import ConfigError

ExplanationSource = Literal["human", "palm", "both"]
MultiTeacher = Literal["all", "sample", "gold_match", "majority"]
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
        label could not be parsed never does;
      * ``"majority"``: the candidates whose label equals the teachers' majority label
        (:func:`majority_label`); the human explanation counts as carrying the gold label,
        so it is kept when gold is the majority, and kept alone when no teacher label
        was parsed (there is no majority to disagree with).
    An empty list means "no explanation target": the caller drops or label-only trains it.
    ``rng`` is consumed only by ``"sample"``, so the other modes are reproducible alone.
    """
    if source not in SOURCES:
        raise ConfigError(f"source={source!r}: expected one of {', '.join(SOURCES)}")
    if multi_teacher not in MULTI_TEACHER_MODES:
        raise ConfigError(
            f"multi_teacher={multi_teacher!r}: expected one of {', '.join(MULTI_TEACHER_MODES)}"
        )
    gold = example.label.casefold()
    # (text, label) pairs; a human explanation carries the gold label
    candidates: list[tuple[str, str | None]] = []
    if source in ("human", "both") and example.explanations:
        candidates.append((example.explanations[0], gold))
    if source in ("palm", "both"):
        candidates.extend(
            (r.text, r.label.casefold() if r.label is not None else None)
            for r in example.rationales
            if r.text.strip()
        )
    if multi_teacher == "gold_match":
        return [text for text, label in candidates if label == gold]
    if multi_teacher == "majority":
        majority = majority_label(example)
        if majority is None:
            return [example.explanations[0]] if source in ("human", "both") and example.explanations else []
        return [text for text, label in candidates if label == majority]
    if multi_teacher == "sample":
        return [rng.choice(candidates)[0]] if candidates else []
    return [text for text, _ in candidates]


def majority_label(example: Example) -> str | None:
    """The most frequent parsed teacher label of ``example`` (casefolded), or None if none parsed.

    Every teacher rationale with a parsed label casts one vote (gold and human
    explanations do not vote). A tie goes to the tied label voted for first, in the
    order the teachers are listed in ``data.teacher_files``: deterministic, and the
    user decides which teacher breaks ties by listing it first.
    """
    votes = [r.label.casefold() for r in example.rationales if r.label is not None]
    if not votes:
        return None
    counts = Counter(votes)
    top = max(counts.values())
    return next(label for label in votes if counts[label] == top)
