import json
import os

import pytest

from rdistill.evaluation.errors import CATEGORIES, error_analysis, write_errors

LABELS = ["entailment", "neutral", "contradiction"]


def record(uid, gold, pred, explanation="some explanation"):
    return {"uid": uid, "gold_label": gold, "pred_label": pred, "pred_explanation": explanation,
            "references": ["ref"]}


# (record, judge label) -> expected category
CASES = [
    (record("c1", "entailment", "entailment"), "entailment", "correct"),
    (record("c2", "neutral", "neutral"), None, "correct"),  # unjudged counts as consistent
    (record("l1", "neutral", "contradiction"), "neutral", "label_error"),
    (record("l2", "neutral", "contradiction"), None, "label_error"),  # unjudged
    (record("x1", "entailment", "entailment"), "contradiction", "explanation_error"),
    (record("b1", "contradiction", "neutral"), "neutral", "both"),
    (record("b2", "neutral", "contradiction"), "entailment", "both"),
    (record("i1", "neutral", None), "neutral", "invalid"),
    (record("i2", "neutral", "neutral", explanation="  "), None, "invalid"),
    (record("i3", "neutral", "neutral", explanation=None), None, "invalid"),
    (record("i4", "entailment", "banana"), "entailment", "invalid"),
]


def test_categories():
    records = [case[0] for case in CASES]
    result = error_analysis(records, [case[1] for case in CASES], labels=LABELS)
    assert result["per_example"] == [case[2] for case in CASES]
    assert result["error_categories"] == {
        "correct": 2, "label_error": 2, "explanation_error": 1, "both": 2, "invalid": 4
    }
    assert sum(result["error_categories"].values()) == len(records)
    # c2 and l2 are valid explained records without a judge label; i2/i3 are invalid.
    assert result["explanation_unjudged"] == 2


def test_top_confusions_sorted_by_count_then_name():
    records = [case[0] for case in CASES]
    result = error_analysis(records, [case[1] for case in CASES], labels=LABELS)
    # gold neutral -> contradiction: l1, l2, b2; neutral -> invalid: i1;
    # contradiction -> neutral: b1; entailment -> invalid: i4 ("banana").
    assert result["top_confusions"] == [
        ("neutral", "contradiction", 3),
        ("contradiction", "neutral", 1),
        ("entailment", "invalid", 1),
        ("neutral", "invalid", 1),
    ]
    assert error_analysis(records, None, labels=LABELS, top=1)["top_confusions"] == [
        ("neutral", "contradiction", 3)
    ]


def test_examples_are_capped_per_category():
    records = [record(f"u{i}", "neutral", "entailment") for i in range(7)]
    result = error_analysis(records, ["neutral"] * 7, k=3)
    assert [e["uid"] for e in result["examples"]["label_error"]] == ["u0", "u1", "u2"]
    assert set(result["examples"]) == set(CATEGORIES)
    assert result["examples"]["label_error"][0] == {
        "uid": "u0", "gold_label": "neutral", "pred_label": "entailment",
        "pred_explanation": "some explanation", "explanation_label": "neutral",
    }


def test_label_only_model_is_judged_on_the_label():
    records = [record("a", "neutral", "neutral", None), record("b", "neutral", "entailment", None),
               record("c", "neutral", None, None)]
    result = error_analysis(records, None)
    assert result["per_example"] == ["correct", "label_error", "invalid"]
    assert result["explanation_unjudged"] == 0


def test_without_labels_any_string_is_a_valid_prediction():
    result = error_analysis([record("a", "neutral", "banana")], ["neutral"])
    assert result["per_example"] == ["label_error"]
    assert result["top_confusions"] == [("neutral", "banana", 1)]


def test_length_mismatch():
    with pytest.raises(ValueError, match="1 explanation labels for 2 records"):
        error_analysis([record("a", "n", "n"), record("b", "n", "n")], ["n"])


def test_write_errors(tmp_path):
    records = [case[0] for case in CASES]
    result = error_analysis(records, [case[1] for case in CASES], labels=LABELS)
    path = write_errors(tmp_path / "eval" / "errors.jsonl", records, result["per_example"])
    assert path == tmp_path / "eval" / "errors.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    # Every record but the 2 correct ones, in input order, with its category.
    assert [row["uid"] for row in rows] == [case[0]["uid"] for case in CASES[2:]]
    assert [row["error_category"] for row in rows] == [case[2] for case in CASES[2:]]
    assert list(rows[0])[:2] == ["uid", "error_category"]
    assert rows[0]["references"] == ["ref"]
    assert "error_category" not in records[2]  # the caller's records are not modified
    assert os.listdir(path.parent) == ["errors.jsonl"]  # no temp file left behind


def test_write_errors_length_mismatch(tmp_path):
    with pytest.raises(ValueError, match="1 categories for 2 records"):
        write_errors(tmp_path / "errors.jsonl", [record("a", "n", "n")] * 2, ["correct"])
