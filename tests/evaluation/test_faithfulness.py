import pytest

from rdistill.evaluation.faithfulness import faithfulness, las


def test_faithfulness_counts_matches_and_none_as_miss() -> None:
    judged = ["entailment", "neutral", None, "contradiction"]
    predicted = ["entailment", "contradiction", "neutral", "contradiction"]
    assert faithfulness(judged, predicted) == pytest.approx(2 / 4)
    assert faithfulness([], []) == 0.0
    # A missing student label never matches, even a missing judged label.
    assert faithfulness([None], [None]) == 0.0


def test_faithfulness_rejects_misaligned_lists() -> None:
    with pytest.raises(ValueError, match="2 judged labels for 1"):
        faithfulness(["a", "b"], ["a"])


def test_las_on_a_constructed_case() -> None:
    # 6 examples. Explanation-only judge matches the prediction on 0, 1, 2 (leaking).
    pred = ["e", "n", "c", "e", "n", "c"]
    e_only = ["e", "n", "c", "n", "c", None]
    # Leaking group {0,1,2}: with explanation 3/3 right, input-only 1/3 -> gain 2/3.
    # Non-leaking group {3,4,5}: with explanation 1/3, input-only 2/3 -> gain -1/3.
    with_expl = ["e", "n", "c", "e", "e", "e"]
    input_only = ["e", "c", "e", "e", "n", "e"]
    result = las(pred, with_expl, input_only, e_only)
    assert result["leaking"]["n"] == 3 and result["non_leaking"]["n"] == 3
    assert result["leaking"]["gain"] == pytest.approx(2 / 3)
    assert result["non_leaking"]["gain"] == pytest.approx(-1 / 3)
    # The two groups weigh equally: (2/3 - 1/3) / 2.
    assert result["las"] == pytest.approx(1 / 6)


def test_las_with_one_empty_group_is_that_groups_gain() -> None:
    pred = ["e", "n"]
    result = las(pred, ["e", "n"], ["e", "e"], ["e", "n"])
    assert result["non_leaking"] == {"n": 0, "acc_with_explanation": None,
                                     "acc_input_only": None, "gain": None}
    assert result["las"] == pytest.approx(0.5)
    assert las([], [], [], [])["las"] is None


def test_las_rejects_misaligned_lists() -> None:
    with pytest.raises(ValueError, match="input-only"):
        las(["e"], ["e"], [], ["e"])
