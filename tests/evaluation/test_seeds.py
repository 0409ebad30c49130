import math

import pytest

from rdistill.evaluation.seeds import aggregate, mean_std, numeric_metrics


def test_mean_std_by_hand():
    mean, std = mean_std([0.70, 0.74, 0.78])
    assert mean == pytest.approx(0.74)
    assert std == pytest.approx(0.04)  # sqrt((0.0016 + 0 + 0.0016) / 2)
    assert mean_std([0.5]) == (0.5, None)
    with pytest.raises(ValueError):
        mean_std([])


def test_aggregate_uses_numbers_every_run_has():
    runs = [{"label_accuracy": 0.7, "rouge_l": 0.4, "n": 10, "bertscore_f1": None, "ok": True,
             "per_label": {"a": 1}},
            {"label_accuracy": 0.8, "rouge_l": None, "n": 10}]
    result = aggregate(runs)
    assert set(result["mean"]) == {"label_accuracy", "n"}
    assert result["mean"]["label_accuracy"] == pytest.approx(0.75)
    assert result["std"]["label_accuracy"] == pytest.approx(math.sqrt(0.005))
    assert result["std"]["n"] == 0.0 and result["n_runs"] == 2
    assert numeric_metrics({"x": True, "y": 1}) == {"y": 1.0}
