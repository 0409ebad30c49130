import pytest

from rdistill.evaluation.difficulty import accuracy_by_bucket, difficulty, tertile_buckets


def test_accuracy_by_bucket_by_hand() -> None:
    result = accuracy_by_bucket([True, False, True, True, False], ["a", "a", "b", None, "b"])
    assert result == {"a": {"n": 2, "accuracy": 0.5}, "b": {"n": 2, "accuracy": 0.5}}
    with pytest.raises(ValueError):
        accuracy_by_bucket([True], [])


def test_tertile_buckets_keep_ties_together() -> None:
    names, cuts = tertile_buckets([1, 2, 3, 4, 5, 6, 7, 8, 9])
    assert cuts == [3, 6]
    assert names == ["short"] * 3 + ["medium"] * 3 + ["long"] * 3
    names, cuts = tertile_buckets([5, 5, 5, 9])
    assert names == ["short", "short", "short", "long"]
    assert tertile_buckets([]) == ([], [])


def test_difficulty_blocks() -> None:
    records = [
        {"premise": "a b", "hypothesis": "c", "gold_label": "x", "pred_label": "x", "teacher_label": "x"},
        {"premise": "a b c d", "hypothesis": "e f", "gold_label": "y", "pred_label": "x",
         "teacher_label": "x"},
        {"premise": "a b c d e f g", "hypothesis": "h", "gold_label": "y", "pred_label": "y",
         "teacher_label": None},
    ]
    block, protocol = difficulty(records, ("premise", "hypothesis"), ["x", "x", None])
    assert block["input_length"] == {"short": {"n": 1, "accuracy": 1.0},
                                     "medium": {"n": 1, "accuracy": 0.0},
                                     "long": {"n": 1, "accuracy": 1.0}}
    assert block["teacher"] == {"teacher_right": {"n": 1, "accuracy": 1.0},
                                "teacher_wrong": {"n": 1, "accuracy": 0.0}}
    assert block["input_judge"] == {"easy": {"n": 1, "accuracy": 1.0}, "hard": {"n": 1, "accuracy": 0.0}}
    assert "[3, 6]" in protocol["input_length"]


def test_difficulty_without_teacher_or_judge() -> None:
    records = [{"premise": "a", "hypothesis": "b", "gold_label": "x", "pred_label": None}]
    block, _ = difficulty(records, ("premise", "hypothesis"))
    assert set(block) == {"input_length"}
    assert block["input_length"] == {"short": {"n": 1, "accuracy": 0.0}}
