"""The judge on real e-SNLI rows with the real MiniLM: it must be able to read explanations."""

import os
from pathlib import Path

import pytest

from rdistill.data.esnli import load_esnli
from rdistill.evaluation.simulatability import JudgeSettings, load_or_train_judge

LABELS = ("entailment", "neutral", "contradiction")


@pytest.mark.slow
@pytest.mark.real_model
@pytest.mark.real_data
def test_explanation_judge_reads_real_human_explanations(tmp_path):
    data_dir = os.environ.get("RDISTILL_DATA_DIR")
    path = Path(data_dir or "") / "esnli" / "esnli_valid.json"
    if not data_dir or not path.is_file():
        pytest.skip("RDISTILL_DATA_DIR with esnli/esnli_valid.json is not available")
    rows = load_esnli(path).examples
    train, unseen = rows[:800], rows[-150:]
    judge = load_or_train_judge("explanation", train, LABELS, JudgeSettings(epochs=2), root=tmp_path)
    judged = judge.predict([ex.fields for ex in unseen], [ex.explanations[0] for ex in unseen])
    accuracy = sum(j == ex.label for j, ex in zip(judged, unseen)) / len(unseen)
    # Chance is 1/3; human e-SNLI explanations name the relation, so a working judge is far above.
    assert accuracy >= 0.75, accuracy
    assert judge.heldout_accuracy >= 0.7
