"""The shipped e-SNLI validation file with its PaLM rationales (needs RDISTILL_DATA_DIR)."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

from rdistill.data.esnli import load_esnli
from rdistill.tasks.palm import attach_palm_rationales
from rdistill.data.paths import DATA_DIR_ENV


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


def _shared(*parts: str) -> Path:
    root = os.environ.get(DATA_DIR_ENV)
    if not root:
        pytest.skip(f"{DATA_DIR_ENV} is not set")
    path = Path(root).joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not found")
    return path


@pytest.mark.real_data
def test_anli1_valid_with_palm() -> None:
    from rdistill.data.anli import load_anli

    loaded = load_anli(_shared("anli1", "anli1_valid.json"))
    assert loaded.n_read == len(loaded.examples) == 1000 and not loaded.skipped
    assert Counter(e.label for e in loaded.examples) == {"entailment": 334, "neutral": 333,
                                                         "contradiction": 333}
    assert all(e.explanations for e in loaded.examples)  # every row has its annotator's reason
    result = attach_palm_rationales(loaded.examples, [_shared("anli1", "palm", "valid_CoT_0.json")],
                                    task="anli")
    parsed = result.counts["palm label parsed"]
    assert parsed / 1000 > 0.95
    # with the e-SNLI encoding (0 entailment, 1 neutral, 2 contradiction) PaLM agrees with
    # gold on about two thirds of the rows; a wrong encoding would put it near a third
    agreement = result.counts["palm label agrees with gold"] / parsed
    assert 0.6 < agreement < 0.8, f"PaLM-gold agreement {agreement:.3f}"
    assert not any("\n\nPremise" in e.rationales[0].text for e in result.examples)


@pytest.mark.real_data
def test_cqa_train_with_palm() -> None:
    from rdistill.data.cqa import load_cqa

    loaded = load_cqa(_shared("cqa", "cqa_train.json"))
    assert loaded.n_read == len(loaded.examples) == 9741 and not loaded.skipped
    assert loaded.counts == {"answer in several choices": 42}
    assert set(Counter(e.label for e in loaded.examples)) == {"a", "b", "c", "d", "e"}
    files = [_shared("cqa", "palm", f"train_CoT_{i}.json") for i in range(10)]
    result = attach_palm_rationales(loaded.examples, files, task="cqa")
    parsed = result.counts["palm label parsed"]
    assert parsed / 9741 > 0.95
    agreement = result.counts["palm label agrees with gold"] / parsed
    assert 0.6 < agreement < 0.95, f"PaLM-gold agreement {agreement:.3f}"
    assert not any("\n\nQ:" in e.rationales[0].text for e in result.examples)
