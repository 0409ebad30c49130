from __future__ import annotations

import random

import pytest

from rdistill.data.example import Example, TeacherRationale
from rdistill.data.teachers import majority_label, select_targets
from rdistill.errors import ConfigError

EXAMPLE = Example(
    uid="u0",
    fields={"premise": "A dog runs.", "hypothesis": "An animal moves."},
    label="entailment",
    explanations=("A dog is an animal.", "Running is moving."),
    rationales=(
        TeacherRationale("palm", "Dogs are animals that run.", "entailment"),
        TeacherRationale("local", "Not sure about it.", "neutral"),
        TeacherRationale("other", "Cut off mid", None),
        TeacherRationale("empty", "  ", None),
    ),
)
HUMAN = "A dog is an animal."
TEACHER_TEXTS = ["Dogs are animals that run.", "Not sure about it.", "Cut off mid"]


@pytest.mark.parametrize(
    ("source", "mode", "expected"),
    [
        ("human", "all", [HUMAN]),
        ("palm", "all", TEACHER_TEXTS),
        ("both", "all", [HUMAN, *TEACHER_TEXTS]),
        ("human", "gold_match", [HUMAN]),
        ("palm", "gold_match", ["Dogs are animals that run."]),
        ("both", "gold_match", [HUMAN, "Dogs are animals that run."]),
    ],
)
def test_deterministic_modes(source, mode, expected) -> None:
    targets = select_targets(EXAMPLE, source=source, multi_teacher=mode, rng=random.Random(0))
    assert targets == expected


@pytest.mark.parametrize(("source", "pool"), [("human", [HUMAN]), ("palm", TEACHER_TEXTS),
                                              ("both", [HUMAN, *TEACHER_TEXTS])])
def test_sample_draws_one_with_rng(source, pool) -> None:
    draws = [select_targets(EXAMPLE, source=source, multi_teacher="sample", rng=random.Random(s))
             for s in range(40)]
    assert all(len(d) == 1 and d[0] in pool for d in draws)
    assert {d[0] for d in draws} == set(pool)  # every candidate gets drawn eventually
    rng_a, rng_b = random.Random(5), random.Random(5)
    assert [select_targets(EXAMPLE, source=source, multi_teacher="sample", rng=rng_a)
            for _ in range(5)] == [
        select_targets(EXAMPLE, source=source, multi_teacher="sample", rng=rng_b)
        for _ in range(5)]


def test_no_candidates_gives_empty_list() -> None:
    bare = Example(uid="u1", fields={}, label="neutral",
                   rationales=(TeacherRationale("palm", "It is a dog.", "entailment"),))
    for mode in ("all", "sample", "gold_match"):
        assert select_targets(bare, source="human", multi_teacher=mode, rng=random.Random(0)) == []
    assert select_targets(bare, source="palm", multi_teacher="gold_match",
                          rng=random.Random(0)) == []


def test_gold_match_case_insensitive() -> None:
    ex = Example(uid="u2", fields={}, label="Math problem",
                 rationales=(TeacherRationale("palm", "Fits.", "math problem"),))
    assert select_targets(ex, source="palm", multi_teacher="gold_match",
                          rng=random.Random(0)) == ["Fits."]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"source": "gpt", "multi_teacher": "all"}, "source='gpt': expected one of human, palm, both"),
    ({"source": "human", "multi_teacher": "any"}, "multi_teacher='any': expected one of"),
])
def test_invalid_choice(kwargs, message) -> None:
    with pytest.raises(ConfigError, match=message):
        select_targets(EXAMPLE, rng=random.Random(0), **kwargs)


def _with_labels(*labels: str | None, gold: str = "entailment") -> Example:
    rationales = tuple(TeacherRationale(f"t{i}", f"text {i}", lab) for i, lab in enumerate(labels))
    return Example(uid="m", fields={}, label=gold, explanations=("human",), rationales=rationales)


def test_majority_keeps_rationales_agreeing_with_the_majority_label() -> None:
    ex = _with_labels("neutral", "entailment", "Neutral", None)
    assert majority_label(ex) == "neutral"
    rng = random.Random(0)
    assert select_targets(ex, source="palm", multi_teacher="majority", rng=rng) == ["text 0", "text 2"]
    # the human explanation carries gold (entailment), which is not the majority here
    assert select_targets(ex, source="both", multi_teacher="majority", rng=rng) == ["text 0", "text 2"]


def test_majority_tie_goes_to_the_label_voted_first() -> None:
    assert majority_label(_with_labels("neutral", "entailment")) == "neutral"
    assert majority_label(_with_labels(None, "entailment", "neutral", "neutral", "entailment")) == "entailment"
    # EXAMPLE: palm entailment, local neutral -> tie -> entailment (palm is listed first)
    assert majority_label(EXAMPLE) == "entailment"
    assert select_targets(EXAMPLE, source="both", multi_teacher="majority",
                          rng=random.Random(0)) == [HUMAN, "Dogs are animals that run."]


def test_majority_without_any_parsed_teacher_label() -> None:
    ex = _with_labels(None, None)
    assert majority_label(ex) is None
    rng = random.Random(0)
    assert select_targets(ex, source="palm", multi_teacher="majority", rng=rng) == []
    assert select_targets(ex, source="both", multi_teacher="majority", rng=rng) == ["human"]
    assert select_targets(ex, source="human", multi_teacher="majority", rng=rng) == ["human"]
