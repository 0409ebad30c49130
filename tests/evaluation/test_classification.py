import pytest

from rdistill.errors import DataError
from rdistill.evaluation.classification import classification_metrics

LABELS = ["entailment", "neutral", "contradiction"]


def test_hand_computed_example():
    gold = ["entailment", "entailment", "entailment", "neutral", "neutral", "contradiction"]
    pred = ["entailment", "neutral", None, "neutral", "contradiction", "banana"]
    result = classification_metrics(gold, pred, LABELS)

    # Rows gold E, N, C; columns predicted E, N, C, invalid.
    # E: E->E, E->N, E->None      N: N->N, N->C      C: C->"banana" (invalid)
    assert result["confusion_matrix"] == {
        "labels": ["entailment", "neutral", "contradiction", "invalid"],
        "matrix": [[1, 1, 0, 1], [0, 1, 1, 0], [0, 0, 0, 1]],
    }
    assert result["n"] == 6
    assert result["label_accuracy"] == pytest.approx(2 / 6)  # diagonal 1 + 1 + 0
    assert result["invalid_rate"] == pytest.approx(2 / 6)  # None and "banana"

    per_label = result["per_label"]
    # E: TP 1, predicted 1, support 3 -> P 1, R 1/3, F1 2*1/(1+3) = 0.5
    assert per_label["entailment"] == pytest.approx(
        {"precision": 1.0, "recall": 1 / 3, "f1": 0.5, "support": 3}
    )
    # N: TP 1, predicted 2 (E->N, N->N), support 2 -> P 0.5, R 0.5, F1 2/(2+2) = 0.5
    assert per_label["neutral"] == pytest.approx(
        {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    )
    # C: TP 0, predicted 1 (N->C), support 1 -> all 0
    assert per_label["contradiction"] == pytest.approx(
        {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    )
    # macro = (0.5 + 0.5 + 0) / 3
    assert result["macro_f1"] == pytest.approx(1 / 3)


def test_f1_is_harmonic_mean_of_precision_and_recall():
    gold = ["a", "a", "a", "b", "b"]
    pred = ["a", "b", "b", "b", "a"]
    for stats in classification_metrics(gold, pred, ["a", "b"])["per_label"].values():
        p, r = stats["precision"], stats["recall"]
        assert stats["f1"] == pytest.approx(2 * p * r / (p + r))


def test_zero_division_is_zero():
    # "other" is neither gold nor predicted: P = 0/0, R = 0/0 -> 0.0, and it
    # still counts in the macro mean: (1 + 1 + 0) / 3.
    result = classification_metrics(["a", "b"], ["a", "b"], ["a", "b", "other"])
    zero = {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert result["per_label"]["other"] == zero
    assert result["label_accuracy"] == 1.0
    assert result["macro_f1"] == pytest.approx(2 / 3)


def test_empty_input():
    result = classification_metrics([], [], LABELS)
    assert result["n"] == 0
    assert result["label_accuracy"] == 0.0
    assert result["invalid_rate"] == 0.0
    assert result["macro_f1"] == 0.0


def test_all_invalid():
    result = classification_metrics(["neutral", "entailment"], [None, None], LABELS)
    assert result["label_accuracy"] == 0.0
    assert result["invalid_rate"] == 1.0
    assert [row[-1] for row in result["confusion_matrix"]["matrix"]] == [1, 1, 0]


def test_perfect_predictions():
    gold = ["entailment", "neutral", "contradiction", "neutral"]
    result = classification_metrics(gold, list(gold), LABELS)
    assert result["label_accuracy"] == 1.0
    assert result["macro_f1"] == 1.0
    assert result["invalid_rate"] == 0.0


def test_unknown_gold_label_names_position():
    with pytest.raises(DataError, match="'maybe' at position 1"):
        classification_metrics(["neutral", "maybe"], ["neutral", "neutral"], LABELS)


@pytest.mark.parametrize(
    ("gold", "pred", "labels", "message"),
    [
        (["a"], ["a", "a"], ["a"], "1 items but pred has 2"),
        (["a"], ["a"], ["a", "a"], "duplicates"),
        (["a"], ["a"], ["a", "invalid"], "reserved"),
        ([], [], [], "empty"),
    ],
)
def test_bad_arguments(gold, pred, labels, message):
    with pytest.raises(ValueError, match=message):
        classification_metrics(gold, pred, labels)
