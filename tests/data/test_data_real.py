"""The shipped e-SNLI validation file with its PaLM rationales (needs RDISTILL_DATA_DIR)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rdistill.data import attach_palm_rationales, load_esnli
from rdistill.data.registry import DATA_DIR_ENV


@pytest.mark.real_data
def test_esnli_valid_with_palm() -> None:
    root = os.environ.get(DATA_DIR_ENV)
    if not root:
        pytest.skip(f"{DATA_DIR_ENV} is not set")
    data = Path(root) / "esnli" / "esnli_valid.json"
    palm = [Path(root) / "esnli" / "palm" / f"valid_CoT_{i}.json" for i in (0, 1)]
    if not data.is_file() or not all(p.is_file() for p in palm):
        pytest.skip(f"e-SNLI files not found under {root}")

    loaded = load_esnli(data)
    assert loaded.n_read == len(loaded.examples) == 9842
    assert not loaded.skipped
    assert all(e.explanations for e in loaded.examples)

    result = attach_palm_rationales(loaded.examples, palm)
    assert len(result.examples) == 9842
    assert all(len(e.rationales) == 1 for e in result.examples)
    parsed = result.counts["palm label parsed"]
    assert parsed / 9842 > 0.95
    agreement = result.counts["palm label agrees with gold"] / parsed
    assert 0.6 < agreement < 1.0, f"PaLM-gold agreement {agreement:.3f}"
    # no few-shot spill-over survives in the rationales
    assert not any("\n\nPremise" in e.rationales[0].text for e in result.examples)
