import pytest

from rdistill.evaluation.consistency import lexical_consistency, lexical_cue


@pytest.mark.parametrize(
    ("explanation", "label", "cue"),
    [
        # rules are tried in order (not by position in the text); the neutral
        # hedges come first as they contain negations
        ("A man on a bike is not necessarily going to work.", "neutral", "not necessarily"),
        ("Just because a dog runs, it is not sad.", "neutral", "just because"),
        ("Playing a guitar doesn't mean playing for money.", "neutral", "doesn't mean"),
        ("The woman may not be the mother.", "neutral", "may not"),
        ("The people could be friends.", "neutral", "could be"),
        ("Not all children are sisters.", "neutral", "not all"),
        ("The premise does not say where he is.", "neutral", "does not say"),
        ("We cannot assume the boy is sad.", "neutral", "cannot assume"),
        # contradiction
        ("A man can't be both sleeping and running.", "contradiction", "can't be both"),
        ("The dog cannot sleep while it runs.", "contradiction", "cannot"),
        ("One cannot sit and stand at the same time.", "contradiction", "cannot"),
        ("He sits, he is not standing at the same time.", "contradiction", "at the same time"),
        ("There is no dog in the park.", "contradiction", "no"),
        ("A woman is not a man.", "contradiction", "not"),
        ("The kids aren\u2019t inside, they are outside.", "contradiction", "aren't"),
        ("Nobody is in the park.", "contradiction", "nobody"),
        # entailment
        ("A puppy is a dog.", "entailment", "is a"),
        ("Running outside is the same as being outside.", "entailment", "the same"),
        ("Playing a guitar implies playing an instrument.", "entailment", "implies"),
        ("Sprinting means running fast.", "entailment", "means"),
        ("A sedan is a type of car.", "entailment", "type of"),
        # no cue
        ("Two dogs run on the beach.", None, None),
        ("", None, None),
        (None, None, None),
    ],
)
def test_cue_rules(explanation, label, cue):
    assert lexical_cue(explanation) == (label, cue)


def test_cues_need_word_boundaries():
    # "not" inside "nothing"/"note", "no" inside "know"/"snow", "is a" inside "this author".
    assert lexical_cue("A note about snow on this author") == (None, None)
    assert lexical_cue("Nothing happens") == ("contradiction", "nothing")


def test_consistency_coverage_and_per_example():
    explanations = [
        "A puppy is a dog.",  # entailment cue, predicted entailment: agree
        "The woman may not be the mother.",  # neutral cue, predicted contradiction: disagree
        "A woman is not a man.",  # contradiction cue, predicted contradiction: agree
        "Two dogs run on the beach.",  # no cue: outside the denominator
        None,  # no explanation: no cue
    ]
    predicted = ["entailment", "contradiction", "contradiction", "neutral", "neutral"]
    result = lexical_consistency(explanations, predicted)
    # 3 of 5 have a cue; 2 of those 3 agree with the predicted label.
    assert result["coverage"] == pytest.approx(3 / 5)
    assert result["lexical_consistency"] == pytest.approx(2 / 3)
    assert (result["n"], result["n_with_cue"], result["n_consistent"]) == (5, 3, 2)
    assert result["per_example"]["cue_label"] == [
        "entailment", "neutral", "contradiction", None, None
    ]
    assert result["per_example"]["cue"][:3] == ["is a", "may not", "not"]
    assert "baseline" in result["protocol"]["method"]


def test_invalid_prediction_never_agrees():
    result = lexical_consistency(["A puppy is a dog."], [None])
    assert result["lexical_consistency"] == 0.0
    assert result["coverage"] == 1.0


def test_no_cue_and_empty_input():
    result = lexical_consistency(["Two dogs run."], ["neutral"])
    assert result["lexical_consistency"] is None
    assert result["coverage"] == 0.0
    empty = lexical_consistency([], [])
    assert empty["lexical_consistency"] is None and empty["coverage"] is None


def test_length_mismatch():
    with pytest.raises(ValueError, match="1 explanations but 2 predicted labels"):
        lexical_consistency(["x"], ["neutral", "neutral"])
