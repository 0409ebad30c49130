import json
import random

import pytest

from rdistill.data.example import Example
from rdistill.errors import DataError, ModelError
from rdistill.evaluation import simulatability
from rdistill.evaluation.simulatability import JudgeSettings, load_or_train_judge, view_texts

LABELS = ("entailment", "neutral", "contradiction")
EXPLANATIONS = {
    "entailment": ["a dog is an animal", "a man is a person", "two people are people"],
    "neutral": ["the dog may not be happy", "not all men are eating", "the park is not said"],
    "contradiction": ["a dog is not a cat", "a man cannot be a woman", "sitting is not running"],
}


def _examples(n: int, seed: int = 0) -> list[Example]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        label = LABELS[i % 3]
        out.append(Example(uid=str(i), label=label,
                           fields={"premise": f"a man is walking {i}", "hypothesis": "a man is outside"},
                           explanations=(rng.choice(EXPLANATIONS[label]),)))
    return out


@pytest.fixture
def settings(tiny_encoder_dir) -> JudgeSettings:
    return JudgeSettings(model=str(tiny_encoder_dir), epochs=25, lr=2e-3, batch_size=16, seed=0)


def test_view_texts() -> None:
    fields = {"premise": "p", "hypothesis": "h"}
    assert view_texts("input", fields, None) == ("premise: p hypothesis: h", None)
    assert view_texts("explanation", fields, " e ") == ("e", None)
    assert view_texts("input_explanation", fields, "e") == ("premise: p hypothesis: h", "e")
    assert view_texts("explanation", fields, "  ") is None
    with pytest.raises(ValueError, match="unknown judge view"):
        view_texts("label", fields, "e")


def test_explanation_judge_learns_the_label_an_explanation_argues_for(settings, tmp_path) -> None:
    judge = load_or_train_judge("explanation", _examples(90), LABELS, settings, root=tmp_path)
    assert judge.manifest["n_train"] + judge.manifest["n_heldout"] == 90
    assert judge.heldout_accuracy >= 0.9
    fields = [{"premise": "x", "hypothesis": "y"}] * 4
    judged = judge.predict(fields, ["a man is a person", "not all men are eating",
                                    "a dog is not a cat", None])
    assert judged == ["entailment", "neutral", "contradiction", None]


def test_input_only_judge_cannot_beat_chance_when_the_input_says_nothing(settings, tmp_path) -> None:
    # Every input is the same text, so no classifier can exceed the majority share.
    judge = load_or_train_judge("input", _examples(90), LABELS, settings, root=tmp_path)
    assert judge.heldout_accuracy <= 0.5
    assert all(label in LABELS for label in judge.predict([{"premise": "a", "hypothesis": "b"}]))


def test_judge_is_cached_and_reused(settings, tmp_path, monkeypatch) -> None:
    first = load_or_train_judge("explanation", _examples(30), LABELS, settings, root=tmp_path)
    monkeypatch.setattr(simulatability, "_train", lambda *a, **k: pytest.fail("retrained"))
    again = load_or_train_judge("explanation", _examples(30), LABELS, settings, root=tmp_path)
    assert again.manifest == first.manifest
    # Other training rows -> another cache entry (so a retrain is attempted).
    with pytest.raises(pytest.fail.Exception, match="retrained"):
        load_or_train_judge("explanation", _examples(33), LABELS, settings, root=tmp_path)


def test_a_tampered_manifest_is_refused(settings, tmp_path) -> None:
    load_or_train_judge("explanation", _examples(30), LABELS, settings, root=tmp_path)
    (manifest,) = tmp_path.glob("explanation-*/judge.json")
    data = json.loads(manifest.read_text())
    data["key"]["labels"] = ["yes", "no", "maybe"]
    manifest.write_text(json.dumps(data))
    with pytest.raises(ModelError, match="delete that folder"):
        load_or_train_judge("explanation", _examples(30), LABELS, settings, root=tmp_path)


def test_too_few_rows_with_explanations(settings, tmp_path) -> None:
    rows = [Example(uid=str(i), label="neutral", fields={"premise": "p", "hypothesis": "h"})
            for i in range(20)]
    with pytest.raises(DataError, match="at least 10 training rows"):
        load_or_train_judge("explanation", rows, LABELS, settings, root=tmp_path)
