from itertools import pairwise

import pytest

from rdistill.evaluation.calibration import calibration


def test_hand_computed_ece():
    # 5 bins of width 0.2: [0, .2], (.2, .4], (.4, .6], (.6, .8], (.8, 1].
    confidences = [0.1, 0.3, 0.35, 0.9, 0.95, 1.0]
    correct = [False, True, False, True, True, False]
    result = calibration(confidences, correct, n_bins=5)
    # bin 0: {0.1 wrong}             acc 0,   conf 0.1                  |gap| 0.1     weight 1/6
    # bin 1: {0.3 right, 0.35 wrong} acc 1/2, conf 0.325               |gap| 0.175   weight 2/6
    # bin 4: {0.9, 0.95 right, 1.0 wrong} acc 2/3, conf 2.85/3 = 0.95  |gap| 0.95-2/3 weight 3/6
    # ECE = 0.1/6 + 0.35/6 + (2.85 - 2)/6 = (0.1 + 0.35 + 0.85)/6 = 1.3/6 = 13/60
    assert result["ece"] == pytest.approx(13 / 60)
    assert result["n"] == 6
    table = result["reliability"]
    assert [row["count"] for row in table] == [1, 2, 0, 0, 3]
    assert table[1] == pytest.approx(
        {"lower": 0.2, "upper": 0.4, "count": 2, "accuracy": 0.5, "mean_confidence": 0.325}
    )
    assert table[4]["accuracy"] == pytest.approx(2 / 3)
    assert table[4]["mean_confidence"] == pytest.approx(0.95)
    # Empty bins report null accuracy and confidence, not 0.
    assert table[2] == {"lower": 0.4, "upper": 0.6, "count": 0, "accuracy": None,
                        "mean_confidence": None}


def test_perfect_calibration_is_zero():
    # 10 predictions at 0.7 of which 7 right, 4 at 0.25 of which 1 right.
    confidences = [0.7] * 10 + [0.25] * 4
    correct = [True] * 7 + [False] * 3 + [True] + [False] * 3
    assert calibration(confidences, correct, n_bins=10)["ece"] == pytest.approx(0.0, abs=1e-12)
    # Always right with confidence 1: also perfectly calibrated.
    assert calibration([1.0, 1.0], [True, True])["ece"] == 0.0


def test_always_wrong_at_full_confidence_is_one():
    assert calibration([1.0, 1.0, 1.0], [False, False, False])["ece"] == pytest.approx(1.0)


def test_edge_values():
    result = calibration([0.0, 1.0, 0.2, 0.4 + 1e-9], [True] * 4, n_bins=5)
    counts = [row["count"] for row in result["reliability"]]
    # 0.0 -> first bin; 1.0 -> last bin; 0.2, an inner edge, closes bin 0 (upper
    # edge included); just above 0.4 -> bin 2.
    assert counts == [2, 0, 1, 0, 1]
    assert result["reliability"][0]["lower"] == 0.0
    assert result["reliability"][-1]["upper"] == 1.0


def test_default_fifteen_bins_cover_the_unit_interval():
    table = calibration([0.5], [True])["reliability"]
    assert len(table) == 15
    assert table[0]["lower"] == 0.0 and table[-1]["upper"] == 1.0
    assert all(a["upper"] == b["lower"] for a, b in pairwise(table))
    # 0.5 is in (7/15, 8/15].
    assert [row["count"] for row in table].index(1) == 7


def test_accuracy_by_confidence_quartiles():
    confidences = [0.9, 0.4, 0.8, 0.5, 0.95, 0.6, 0.35, 0.7]
    correct = [True, False, True, False, True, True, False, False]
    buckets = calibration(confidences, correct)["accuracy_by_confidence"]
    # Sorted: .35 F, .4 F | .5 F, .6 T | .7 F, .8 T | .9 T, .95 T
    assert [b["count"] for b in buckets] == [2, 2, 2, 2]
    assert [b["range"] for b in buckets] == [[0.35, 0.4], [0.5, 0.6], [0.7, 0.8], [0.9, 0.95]]
    assert [b["accuracy"] for b in buckets] == [0.0, 0.5, 0.5, 1.0]


def test_fewer_examples_than_buckets():
    buckets = calibration([0.6, 0.9], [True, False])["accuracy_by_confidence"]
    assert [b["count"] for b in buckets] == [0, 1, 0, 1]
    assert buckets[0]["range"] is None and buckets[0]["accuracy"] is None
    assert buckets[3] == {"bucket": 4, "range": [0.9, 0.9], "count": 1, "accuracy": 0.0}


def test_empty_input():
    result = calibration([], [])
    assert result["ece"] is None
    assert result["n"] == 0
    assert all(row["count"] == 0 for row in result["reliability"])


@pytest.mark.parametrize(
    ("confidences", "correct", "kwargs", "message"),
    [
        ([1.5], [True], {}, "1.5 at position 0 is not in"),
        ([0.5, float("nan")], [True, True], {}, "nan at position 1"),
        ([-0.1], [True], {}, "not in"),
        ([0.5], [True, False], {}, "1 confidences but 2"),
        ([0.5], [True], {"n_bins": 0}, "n_bins"),
    ],
)
def test_bad_arguments(confidences, correct, kwargs, message):
    with pytest.raises(ValueError, match=message):
        calibration(confidences, correct, **kwargs)
