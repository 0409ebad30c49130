"""Answer accuracy and the math evaluator, against counts worked out by hand."""

import pytest

from rdistill.prediction.answers import split_reasoning
from rdistill.evaluation.answer_accuracy import answer_accuracy
from rdistill.evaluation.answer_eval import NULL_KEYS, evaluate_answer_predictions


def test_answer_accuracy_counts_invalid_as_wrong():
    result = answer_accuracy(["72", "1080", None, "5", "3.6667"], ["72", "1,080", "4", "6", "11/3"], "number")
    # right: 72, 1080 (comma in gold), 3.6667 ~ 11/3; wrong: 5 vs 6; invalid: None
    assert result["per_example"]["correct"] == [True, True, False, False, True]
    assert result["answer_accuracy"] == pytest.approx(3 / 5)
    assert result["invalid_rate"] == pytest.approx(1 / 5)
    assert (result["n"], result["n_correct"], result["n_invalid"]) == (5, 3, 1)


def test_answer_accuracy_of_nothing_and_misaligned_input():
    assert answer_accuracy([], [], "number")["answer_accuracy"] == 0.0
    with pytest.raises(ValueError):
        answer_accuracy(["1"], [], "number")


def test_evaluate_answer_predictions_with_teacher_and_reasoning():
    records = [
        {"uid": "a", "gold_label": "42", "pred_label": "42", "pred_explanation": "84 / 2 = 42",
         "references": ["84 / 2 = 42"], "teacher_label": "42", "teacher_rationale": "84 / 2 = 42."},
        {"uid": "b", "gold_label": "34", "pred_label": "35", "pred_explanation": "17 + 18 = 35",
         "references": ["(17 + 15) + 2 = 34"], "teacher_label": "35", "teacher_rationale": "17 + 18 = 35."},
        {"uid": "c", "gold_label": "7", "pred_label": None, "pred_explanation": "",
         "references": ["3 + 4 = 7"], "teacher_label": None, "teacher_rationale": None},
    ]
    m = evaluate_answer_predictions(records, "number")
    assert m["answer_accuracy"] == pytest.approx(1 / 3) and m["invalid_rate"] == pytest.approx(1 / 3)
    assert m["error_categories"] == {"correct": 1, "wrong_answer": 1, "invalid": 1}
    # teacher rows a, b: teacher right on a only; the student agrees with it on both
    assert m["teacher_answer_accuracy"] == pytest.approx(1 / 2)
    assert m["teacher_answer_agreement"] == pytest.approx(1.0)
    assert m["rouge_l"] is not None and m["per_example"]["rouge_l"][0] == pytest.approx(1.0)
    assert m["per_example"]["rouge_l"][2] == 0.0  # empty reasoning scores 0
    assert all(m[key] is None for key in NULL_KEYS)
    assert m["protocol"]["calibration"]["skipped"].startswith("open-answer task")


def test_answer_only_records_skip_reasoning_scores():
    records = [{"uid": "a", "gold_label": "C", "pred_label": "c", "pred_explanation": None, "references": ["r"]}]
    m = evaluate_answer_predictions(records, "choice")
    assert m["answer_accuracy"] == 1.0 and m["rouge_l"] is None
    assert m["teacher_answer_accuracy"] is None and "skipped" in m["protocol"]["rouge_l"]


def test_split_reasoning():
    assert split_reasoning(" 2 + 3 = 5\nso 5\n#### 5") == "2 + 3 = 5\nso 5"
    assert split_reasoning("no marker here 5") == "no marker here 5"
