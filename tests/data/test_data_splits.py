from __future__ import annotations

import os
import subprocess
import sys

import pytest

from rdistill.data.example import Example
from rdistill.data.splits import split_examples
from rdistill.errors import ConfigError


def _examples(n: int, per_premise: int = 1) -> list[Example]:
    return [Example(uid=f"u{i}", fields={"premise": f"p{i // per_premise}", "hypothesis": "h"},
                    label="neutral") for i in range(n)]


def _uids(part: list[Example]) -> list[str]:
    return [e.uid for e in part]


def test_sizes_disjoint_and_complete() -> None:
    examples = _examples(100)
    train, dev, test = split_examples(examples, dev_size=10, test_size=0.2, seed=1)
    assert (len(train), len(dev), len(test)) == (70, 10, 20)
    all_uids = _uids(train) + _uids(dev) + _uids(test)
    assert sorted(all_uids) == sorted(_uids(examples))  # disjoint and nothing lost


def test_same_seed_same_split_other_seed_differs() -> None:
    examples = _examples(50)
    first = split_examples(examples, dev_size=5, test_size=5, seed=7)
    again = split_examples(examples, dev_size=5, test_size=5, seed=7)
    other = split_examples(examples, dev_size=5, test_size=5, seed=8)
    assert [_uids(p) for p in first] == [_uids(p) for p in again]
    assert [_uids(p) for p in first] != [_uids(p) for p in other]


def test_split_independent_of_hash_seed() -> None:
    code = (
        "from rdistill.data.example import Example\n"
        "from rdistill.data.splits import split_examples\n"
        "ex = [Example(uid=f'u{i}', fields={'premise': f'p{i // 3}'}, label='x') "
        "for i in range(30)]\n"
        "for group in (None, lambda e: e.fields['premise']):\n"
        "    parts = split_examples(ex, dev_size=6, test_size=6, seed=3, group_key=group)\n"
        "    print([[e.uid for e in p] for p in parts])\n"
    )
    outputs = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        outputs.add(subprocess.run([sys.executable, "-c", code], env=env, check=True,
                                   capture_output=True, text=True).stdout)
    assert len(outputs) == 1


def test_group_key_keeps_groups_together() -> None:
    examples = _examples(30, per_premise=3)
    parts = split_examples(examples, dev_size=6, test_size=0.2, seed=0,
                           group_key=lambda e: e.fields["premise"])
    premises = [{e.fields["premise"] for e in part} for part in parts]
    assert not (premises[0] & premises[1] or premises[0] & premises[2] or premises[1] & premises[2])
    assert [len(p) for p in parts] == [18, 6, 6]


@pytest.mark.parametrize(
    ("dev_size", "test_size", "message"),
    [
        (60, 50, r"dev_size=60 \(60 rows\) \+ data.test_size=50 \(50 rows\) exceed the 100 examples"),
        (0.7, 0.5, "exceed the 100 examples"),
        (-1, 5, "dev_size=-1: a count must be >= 0"),
        (10, 1.0, "test_size=1.0: a fraction must lie strictly between 0 and 1"),
        (10, 0.0, "test_size=0.0: a fraction"),
        (True, 5, "dev_size=True: expected a count"),
        ("10", 5, "dev_size='10': expected a count"),
    ],
)
def test_invalid_sizes(dev_size, test_size, message) -> None:
    with pytest.raises(ConfigError, match=message):
        split_examples(_examples(100), dev_size=dev_size, test_size=test_size, seed=0)


def test_zero_sizes_allowed() -> None:
    train, dev, test = split_examples(_examples(4), dev_size=0, test_size=0, seed=0)
    assert (len(train), dev, test) == (4, [], [])
