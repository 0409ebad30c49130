import pytest

from rdistill.evaluation.rouge import rouge_l


def test_hand_computed_lcs():
    # 6 tokens each; LCS "the cat on the mat" = 5 -> P = R = F1 = 5/6.
    result = rouge_l(["the cat sat on the mat"], [["the cat lay on the mat"]])
    assert result["rouge_l"] == pytest.approx(5 / 6)


def test_hand_computed_unequal_lengths():
    # prediction 4 tokens, reference 3, LCS "a c" = 2:
    # P = 2/4, R = 2/3, F1 = 2PR/(P+R) = (2/3)/(7/6) = 4/7.
    result = rouge_l(["a b c d"], [["a c e"]])
    assert result["per_example"] == [pytest.approx(4 / 7)]


def test_stemmer_and_case():
    # Porter stemming maps cats->cat, running->run; tokens are lower-cased.
    assert rouge_l(["Cats running"], [["cat run"]])["rouge_l"] == pytest.approx(1.0)


def test_max_over_references_then_mean():
    result = rouge_l(
        ["the cat sat on the mat", "a b c d"],
        [["dogs bark loudly", "the cat lay on the mat"], ["a c e"]],
    )
    # example 1: max(0, 5/6); example 2: 4/7; mean of both.
    assert result["per_example"] == [pytest.approx(5 / 6), pytest.approx(4 / 7)]
    assert result["rouge_l"] == pytest.approx((5 / 6 + 4 / 7) / 2)
    assert "max" in result["protocol"]["references"]


def test_examples_without_references_are_excluded_and_counted():
    result = rouge_l(["same words", "anything", "else"], [["same words"], [], ["  "]])
    assert result["per_example"] == [pytest.approx(1.0), None, None]
    assert result["rouge_l"] == pytest.approx(1.0)
    assert result["protocol"]["n_scored"] == 1
    assert result["protocol"]["n_excluded_no_reference"] == 2


def test_blank_prediction_scores_zero():
    result = rouge_l(["", "   "], [["a reference"], ["another one"]])
    assert result["per_example"] == [0.0, 0.0]
    assert result["rouge_l"] == 0.0


def test_nothing_to_score_gives_none():
    assert rouge_l([], [])["rouge_l"] is None
    assert rouge_l(["x"], [[]])["rouge_l"] is None


def test_length_mismatch():
    with pytest.raises(ValueError, match="2 predictions but 1 reference lists"):
        rouge_l(["a", "b"], [["a"]])
