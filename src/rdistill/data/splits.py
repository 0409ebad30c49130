"""Deterministic train/dev/test splits of one list of examples."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from rdistill.data.example import Example
from rdistill.errors import ConfigError


def _count(size: int | float, name: str, n: int) -> int:
    """Turn a count or a fraction of ``n`` into a count; reject anything else."""
    # bool is an int subclass: dev_size=True is a config mistake, not a count of 1.
    if isinstance(size, bool) or not isinstance(size, (int, float)):
        raise ConfigError(f"{name}={size!r}: expected a count (int >= 0) or a fraction in (0, 1)")
    if isinstance(size, int):
        if size < 0:
            raise ConfigError(f"{name}={size}: a count must be >= 0")
        return size
    if not 0.0 < size < 1.0:
        raise ConfigError(
            f"{name}={size}: a fraction must lie strictly between 0 and 1 "
            "(write an int for a count of rows)"
        )
    return round(size * n)


def split_examples(
    examples: Sequence[Example],
    *,
    dev_size: int | float,
    test_size: int | float,
    seed: int,
    group_key: Callable[[Example], str] | None = None,
) -> tuple[list[Example], list[Example], list[Example]]:
    """Shuffle with ``random.Random(seed)`` and cut into ``(train, dev, test)``.

    Sizes are counts (int) or fractions of ``len(examples)`` (float in (0, 1), rounded).
    The same input order and seed always give the same split (no dependence on
    hash randomisation). With ``group_key`` (e.g. the premise, shared by the ~3
    hypotheses of an e-SNLI premise) whole groups go to one split so that no input is
    seen in training and evaluation; test and dev then take whole groups until they
    hold at least their size, so they may exceed it by less than one group.
    """
    n = len(examples)
    n_dev, n_test = _count(dev_size, "dev_size", n), _count(test_size, "test_size", n)
    if n_dev + n_test > n:
        raise ConfigError(
            f"data.dev_size={dev_size!r} ({n_dev} rows) + data.test_size={test_size!r} ({n_test} rows) "
            f"exceed the {n} examples available; lower data.dev_size or data.test_size"
        )
    rng = random.Random(seed)
    if group_key is None:
        order = list(range(n))
        rng.shuffle(order)
        pick = [examples[i] for i in order]
        return pick[n_dev + n_test :], pick[n_test : n_test + n_dev], pick[:n_test]

    groups: dict[str, list[Example]] = {}
    for example in examples:
        groups.setdefault(group_key(example), []).append(example)
    # dicts keep insertion order, so the shuffled group order depends only on the seed.
    keys = list(groups)
    rng.shuffle(keys)
    test: list[Example] = []
    dev: list[Example] = []
    train: list[Example] = []
    for key in keys:
        target = test if len(test) < n_test else dev if len(dev) < n_dev else train
        target.extend(groups[key])
    return train, dev, test
