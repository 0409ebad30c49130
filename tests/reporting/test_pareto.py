"""The non-dominated set, by hand-worked cases and by its defining properties."""

import random

import pytest

from rdistill.reporting.pareto import dominates, pareto_front


def test_hand_worked_cost_accuracy_example():
    # (cost, accuracy): lower cost and higher accuracy are better.
    points = [(10, 0.60), (20, 0.70), (15, 0.65), (25, 0.68), (30, 0.80), (12, 0.55)]
    # (25, .68) loses to (20, .70); (12, .55) loses to (10, .60).
    assert pareto_front(points, maximize=(False, True)) == [0, 1, 2, 4]


def test_duplicates_are_both_kept_and_ties_on_one_axis_dominate():
    points = [(1, 0.5), (1, 0.5), (1, 0.4)]
    assert pareto_front(points, maximize=(False, True)) == [0, 1]
    assert not dominates((1, 0.5), (1, 0.5), (False, True))


def test_all_maximised_and_single_point():
    assert pareto_front([(1, 1), (2, 0), (0, 2), (0.5, 0.5)], maximize=(True, True)) == [0, 1, 2]
    assert pareto_front([(3, 4)], maximize=(True, False)) == [0]
    assert pareto_front([], maximize=(True,)) == []


@pytest.mark.parametrize("seed", range(5))
def test_front_is_exactly_the_undominated_points(seed):
    rng = random.Random(seed)
    points = [(rng.randint(0, 6), rng.randint(0, 6), rng.random()) for _ in range(40)]
    maximize = (False, True, True)
    front = set(pareto_front(points, maximize))
    for i, p in enumerate(points):
        dominated = any(dominates(q, p, maximize) for q in points)
        assert (i in front) == (not dominated)


def test_wrong_number_of_objectives_is_rejected():
    with pytest.raises(ValueError, match="objectives"):
        pareto_front([(1, 2, 3)], maximize=(True, True))
