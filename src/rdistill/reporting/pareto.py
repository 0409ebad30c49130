"""The non-dominated (Pareto-optimal) subset of a set of points; pure."""

from __future__ import annotations

from collections.abc import Sequence


def dominates(a: Sequence[float], b: Sequence[float], maximize: Sequence[bool]) -> bool:
    """True when ``a`` is at least as good as ``b`` on every objective and better on one."""
    at_least_as_good = all((x >= y) if up else (x <= y) for x, y, up in zip(a, b, maximize))
    better_somewhere = any((x > y) if up else (x < y) for x, y, up in zip(a, b, maximize))
    return at_least_as_good and better_somewhere


def pareto_front(points: Sequence[Sequence[float]], maximize: Sequence[bool]) -> list[int]:
    """Indices (ascending) of the points no other point dominates.

    ``maximize[k]`` says whether objective ``k`` is better high (accuracy) or low
    (latency, parameters). Identical points do not dominate each other, so
    duplicates on the front are all kept. O(n^2): sweeps have tens of variants.
    """
    for point in points:
        if len(point) != len(maximize):
            raise ValueError(f"point {tuple(point)} has {len(point)} objectives, "
                             f"maximize has {len(maximize)}")
    return [i for i, p in enumerate(points)
            if not any(dominates(q, p, maximize) for j, q in enumerate(points) if j != i)]
