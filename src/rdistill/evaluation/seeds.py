"""Mean and standard deviation of metrics over runs of one recipe with different seeds."""

from __future__ import annotations

import math
from collections.abc import Sequence


def numeric_metrics(metrics: dict) -> dict[str, float]:
    """The top-level numbers of a metrics dict (bools and nested blocks left out)."""
    return {key: float(value) for key, value in metrics.items()
            if isinstance(value, (int, float)) and not isinstance(value, bool)}


def mean_std(values: Sequence[float]) -> tuple[float, float | None]:
    """(mean, sample standard deviation with n - 1; None for a single value)."""
    if not values:
        raise ValueError("mean_std of no values")
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, None
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def aggregate(runs: Sequence[dict]) -> dict:
    """``{"n_runs", "mean": {key: ...}, "std": {key: ...}}`` over the numeric keys every run has."""
    numbers = [numeric_metrics(run) for run in runs]
    shared = [key for key in numbers[0] if all(key in n for n in numbers)] if numbers else []
    stats = {key: mean_std([n[key] for n in numbers]) for key in shared}
    return {"n_runs": len(runs), "mean": {k: m for k, (m, _) in stats.items()},
            "std": {k: s for k, (_, s) in stats.items()}}
