"""The shipped GSM8K and SVAMP files (needs RDISTILL_DATA_DIR)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rdistill.data.gsm8k import load_gsm8k
from rdistill.tasks.palm import attach_palm_rationales
from rdistill.data.paths import DATA_DIR_ENV
from rdistill.data.svamp import load_svamp


def _root() -> Path:
    root = os.environ.get(DATA_DIR_ENV)
    if not root:
        pytest.skip(f"{DATA_DIR_ENV} is not set")
    return Path(root)


@pytest.mark.real_data
def test_gsm8k_train_loads_every_row():
    path = _root() / "gsm8k" / "train.jsonl"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    result = load_gsm8k(path)
    assert result.n_read == len(result.examples) == 7473
    assert result.examples[0].label == "72"
    assert all("<<" not in e.explanations[0] and "," not in e.label for e in result.examples)


@pytest.mark.real_data
def test_svamp_with_palm_rationales():
    root = _root() / "svamp"
    if not (root / "svamp_train.json").is_file():
        pytest.skip(f"SVAMP not found under {root}")
    loaded = load_svamp(root / "svamp_train.json")
    assert loaded.n_read == len(loaded.examples) == 800
    assert loaded.examples[0].label == "42"
    attached = attach_palm_rationales(loaded.examples, [root / "palm" / f"train_CoT_{i}.json" for i in (0, 1)],
                                      task="svamp")
    # Measured on the shipped files: PaLM states a parseable answer on 766 rows, right on 594.
    assert attached.counts["palm label parsed"] == 766
    assert attached.counts["palm label agrees with gold"] == 594
