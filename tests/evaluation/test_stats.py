"""Intervals and paired tests against hand-computed values."""

import pytest

from rdistill.evaluation import stats


def test_wilson_and_t_intervals_match_hand_computed_values():
    low, high = stats.wilson(50, 100)
    assert low == pytest.approx(0.4038, abs=1e-4) and high == pytest.approx(0.5962, abs=1e-4)
    assert stats.wilson(0, 10)[0] == 0.0 and stats.wilson(10, 10)[1] == 1.0
    mean, low, high = stats.t_interval([0.5, 0.6, 0.7])
    assert mean == pytest.approx(0.6)
    assert high - mean == pytest.approx(4.303 * 0.1 / 3 ** 0.5)  # t(2) quantile, sd 0.1
    assert stats.t_interval([0.5, 0.75])[2] - 0.625 == pytest.approx(12.706 * 0.125)
    assert stats.t_interval([0.4]) == (0.4, None, None)
    assert stats.t_quantile(11) == stats.t_quantile(10) and stats.t_quantile(100) == 1.96
    with pytest.raises(ValueError):
        stats.wilson(0, 0)


def test_mcnemar_exact():
    assert stats.mcnemar_p(0, 0) == 1.0 and stats.mcnemar_p(3, 3) == 1.0
    assert stats.mcnemar_p(5, 0) == pytest.approx(2 / 32)
    assert stats.mcnemar_p(1, 7) == stats.mcnemar_p(7, 1) == pytest.approx(2 * 9 / 256)


def test_rows_needed_grows_as_the_difference_shrinks():
    assert stats.rows_needed(0.0, 0.3) is None
    # Connor (1987): n = (z.975 sqrt(pd) + z.8 sqrt(pd - d^2))^2 / d^2; pd 0.385, d 0.03 -> ~3,370.
    n = stats.rows_needed(0.03, 0.385)
    root = 1.959964 * 0.385 ** 0.5 + 0.841621 * (0.385 - 0.0009) ** 0.5
    assert n == pytest.approx(root * root / 0.0009, abs=1) and 3300 < n < 3450
    assert stats.rows_needed(0.1, 0.385) < stats.rows_needed(0.05, 0.385) < n


def test_paired_comparison_pools_strata_and_says_no_difference_when_the_interval_holds_zero():
    better = stats.paired_comparison([[1] * 6 + [0] * 6, [1] * 3 + [0] * 9], n_boot=2000)
    assert better["rows"] == 24 and better["difference"] == pytest.approx(9 / 24)
    assert (better["better"], better["worse"]) == (9, 0) and better["mcnemar_p"] == pytest.approx(2 / 2 ** 9)
    assert 0 < better["low"] < better["difference"] < better["high"] and better["verdict"] == "higher"
    even = stats.paired_comparison([[1, -1] * 20], n_boot=2000)
    assert even["difference"] == 0 and even["verdict"] == "no difference" and even["rows_needed"] is None
    worse = stats.paired_comparison([[-1] * 30 + [0] * 10])
    assert worse["verdict"] == "lower" and worse["high"] < 0
    # The same rows give the same interval (fixed seed); empty strata are skipped, no rows refused.
    assert stats.paired_comparison([[1, 0, -1, 1]], seed=3) == stats.paired_comparison([[], [1, 0, -1, 1]], seed=3)
    with pytest.raises(ValueError):
        stats.paired_comparison([[], []])


def test_row_right_reads_correct_first_then_the_labels():
    assert stats.row_right({"correct": False, "pred_label": "a", "gold_label": "a"}) is False  # answer tasks
    assert stats.row_right({"pred_label": "a", "gold_label": "a"}) is True
    assert stats.row_right({"pred_label": "a", "gold_label": "b"}) is False
    assert stats.row_right({"pred_label": None, "gold_label": "b"}) is False
    assert stats.row_right({"uid": "1"}) is None and stats.row_right({"correct": "yes"}) is None
