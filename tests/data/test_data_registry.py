from __future__ import annotations

from pathlib import Path

import pytest

from rdistill.data.paths import DATA_DIR_ENV, resolve_data_path
from rdistill.tasks.registry import TASKS as LOADERS, load_dataset_file
from rdistill.errors import DataError


def test_loaders_dict() -> None:
    assert set(LOADERS) >= {"esnli"}


def test_load_dataset_file(esnli_file: Path) -> None:
    assert len(load_dataset_file("esnli", esnli_file, skip_invalid=True).examples) == 5


def test_unknown_data_set_lists_known(esnli_file: Path) -> None:
    with pytest.raises(DataError, match=r"unknown data set 'snli'; known data sets: (\w+, )*esnli(, \w+)*$"):
        load_dataset_file("snli", esnli_file)


def test_absolute_path_as_is(esnli_file: Path, monkeypatch) -> None:
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    assert resolve_data_path(esnli_file, None) == esnli_file
    with pytest.raises(DataError, match="data file not found"):
        resolve_data_path(esnli_file.with_name("missing.json"), None)


def test_data_dir_wins_over_env(esnli_file: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "elsewhere"))
    assert resolve_data_path("esnli_valid.json", str(tmp_path)) == esnli_file


def test_env_var_used(esnli_file: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    assert resolve_data_path("esnli_valid.json", None) == esnli_file


def test_no_root_set(monkeypatch) -> None:
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    with pytest.raises(DataError) as info:
        resolve_data_path("esnli/esnli_valid.json", None)
    assert "--data-dir" in str(info.value) and DATA_DIR_ENV in str(info.value)


@pytest.mark.parametrize("via_env", [True, False])
def test_missing_under_root_names_root(tmp_path: Path, monkeypatch, via_env: bool) -> None:
    if via_env:
        monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    else:
        monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    with pytest.raises(DataError) as info:
        resolve_data_path("esnli/esnli_valid.json", None if via_env else str(tmp_path))
    message = str(info.value)
    assert f"not found under {tmp_path}" in message
    assert ("$" + DATA_DIR_ENV if via_env else "--data-dir") in message


def test_dot_slash_path_is_taken_from_the_current_directory(tmp_path: Path, monkeypatch) -> None:
    # ./x is the user's own file (e.g. a teacher file `rdistill teach` wrote), never looked up
    # under the data root, even when the root holds a file of the same name.
    root, work = tmp_path / "root", tmp_path / "work"
    (root / "teach").mkdir(parents=True)
    (work / "teach").mkdir(parents=True)
    (root / "teach" / "r.jsonl").write_text("root\n")
    (work / "teach" / "r.jsonl").write_text("work\n")
    monkeypatch.chdir(work)
    assert resolve_data_path("./teach/r.jsonl", root).read_text() == "work\n"
    assert resolve_data_path("teach/r.jsonl", root).read_text() == "root\n"
    with pytest.raises(DataError, match="not found"):
        resolve_data_path("./teach/missing.jsonl", root)
