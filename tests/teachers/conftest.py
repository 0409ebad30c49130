"""Teach configs on the toy e-SNLI file (``esnli_file``) with the tiny causal model."""

from __future__ import annotations

import pytest


@pytest.fixture
def teach_raw(esnli_file, tiny_causal_dir):
    """A raw teach config dict: 60 toy rows split 9 test / 6 dev / 45 train, tiny local teacher."""

    def make(**teacher):
        return {
            "name": "toy-teach",
            "task": "esnli",
            "data": {"file": str(esnli_file), "dev_size": 6, "test_size": 9, "split_by": "row",
                     "seed": 3},
            "prompt": {"shots": 2},
            "generation": {"max_tokens": 6},
            "teacher": teacher or {"backend": "local", "model": str(tiny_causal_dir), "batch_size": 4},
        }

    return make
