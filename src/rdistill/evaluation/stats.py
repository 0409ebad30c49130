"""Intervals and paired tests for accuracies measured on held-out rows (pure functions).

What a claim about a method needs: a Wilson interval for one run's accuracy on ``n`` rows, a t
interval over seeds, and, for two variants scored on the same rows, the paired difference with
a bootstrap interval, McNemar's exact test, and the rows a next run needs to separate them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

Z95, Z80 = 1.959964, 0.841621  # two-sided 5 % and one-sided 20 % normal quantiles
# Two-sided 95 % quantiles of Student's t by degrees of freedom (beyond 30: the normal's).
_T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
         9: 2.262, 10: 2.228, 12: 2.179, 15: 2.131, 20: 2.086, 30: 2.042}


def t_quantile(df: int) -> float:
    """Two-sided 95 % t quantile; between tabulated degrees of freedom the smaller df (wider)."""
    if df < 1:
        raise ValueError("a t interval needs at least two values")
    return _T975[max(d for d in _T975 if d <= df)] if df <= 30 else 1.96


def wilson(correct: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a proportion ``correct / n``."""
    if n <= 0:
        raise ValueError("a Wilson interval needs n > 0")
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def t_interval(values: Sequence[float]) -> tuple[float, float | None, float | None]:
    """(mean, low, high) of a 95 % t interval over ``values``; low/high None for one value."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, None, None
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = t_quantile(n - 1) * sd / math.sqrt(n)
    return mean, mean - half, mean + half


def mcnemar_p(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value: ``b``, ``c`` the two kinds of discordant pairs."""
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(b, c) + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def rows_needed(difference: float, discordant: float) -> int | None:
    """Paired rows for a two-sided McNemar test at 5 % with 80 % power (Connor 1987), if the
    observed ``difference`` and ``discordant`` share of rows held; None when the difference is 0."""
    if difference == 0 or discordant <= difference * difference:
        return None
    root = Z95 * math.sqrt(discordant) + Z80 * math.sqrt(discordant - difference * difference)
    return math.ceil(root * root / (difference * difference))


def paired_comparison(strata: Sequence[Sequence[int]], *, n_boot: int = 10000, seed: int = 0) -> dict:
    """A minus B on rows both scored, pooled over strata (seeds, each with its own test rows).

    Args:
        strata: per stratum, one value per row: +1 (only A right), -1 (only B right), 0 (both
            right or both wrong). At least one row in all.
    Returns:
        ``rows``, ``difference`` (mean per-row difference, i.e. acc(A) - acc(B)), ``low`` /
        ``high`` (95 % bootstrap interval resampling rows within each stratum, so the pooled
        mean weights strata by their rows), ``better`` / ``worse`` (rows only A / only B got
        right), ``mcnemar_p``, ``verdict`` ("no difference" when the interval holds 0, else
        "higher" or "lower") and ``rows_needed`` (for a next run to separate them).
    """
    arrays = [np.asarray(s, dtype=np.int64) for s in strata if len(s)]
    if not arrays:
        raise ValueError("a paired comparison needs at least one row")
    pooled = np.concatenate(arrays)
    rng = np.random.default_rng(seed)
    boot = np.zeros(n_boot)
    for d in arrays:
        boot += d[rng.integers(0, len(d), size=(n_boot, len(d)))].sum(axis=1)
    boot /= len(pooled)
    low, high = (float(x) for x in np.percentile(boot, [2.5, 97.5]))
    better, worse = int((pooled == 1).sum()), int((pooled == -1).sum())
    difference = float(pooled.mean())
    return {"rows": int(len(pooled)), "difference": difference, "low": low, "high": high,
            "better": better, "worse": worse, "mcnemar_p": mcnemar_p(better, worse),
            "verdict": "no difference" if low <= 0 <= high else ("higher" if low > 0 else "lower"),
            "rows_needed": rows_needed(difference, (better + worse) / len(pooled))}


def row_right(row: dict) -> bool | None:
    """Whether one prediction row is right: its ``correct`` (answer tasks), else ``pred_label ==
    gold_label``; None when it holds neither."""
    if isinstance(row.get("correct"), bool):
        return row["correct"]
    if "pred_label" in row and "gold_label" in row:
        return row["pred_label"] == row["gold_label"]
    return None
