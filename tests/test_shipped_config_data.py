"""Every shipped recipe names data files that exist in the shared data (needs RDISTILL_DATA_DIR)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rdistill.methods.registry import load_recipe
from rdistill.data.paths import DATA_DIR_ENV, resolve_data_path
from rdistill.tasks.registry import get_task

CONFIGS = sorted((Path(__file__).parents[1] / "configs").glob("*.yaml"))


@pytest.mark.real_data
@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_config_data_files_exist(path: Path) -> None:
    if not os.environ.get(DATA_DIR_ENV):
        pytest.skip(f"{DATA_DIR_ENV} is not set")
    data = load_recipe(path).data
    if data.train_file.startswith("hub:"):
        pytest.skip("Hub data set")
    resolve_data_path(data.train_file, None)
    for entry in data.teacher_files:
        for f in [entry] if isinstance(entry, str) else entry.files:
            resolve_data_path(f, None)
    # split_by=premise needs a task whose rows share premises
    assert data.split_by == "row" or get_task(data.dataset).group_field is not None
