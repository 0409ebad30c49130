"""Atomic writes: whole files or none, readable like any other result file."""

import os

import pytest

import rdistill.io as rio


def test_atomic_write_replaces_the_file_with_the_usual_mode(tmp_path):
    path = tmp_path / "sub" / "result.json"
    rio.write_json_atomic(path, {"a": 1})
    rio.write_json_atomic(path, {"a": 2})
    assert path.read_text() == '{\n  "a": 2\n}\n'
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's private 0600
    assert [p.name for p in path.parent.iterdir()] == ["result.json"]


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "result.txt"
    rio.write_text_atomic(path, "old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(rio.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        rio.write_text_atomic(path, "new")
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["result.txt"]


def test_json_files_are_strict_json(tmp_path):
    """NaN / inf would be written as the non-standard NaN / Infinity: they become null."""
    import json as json_module
    import math

    rio.write_json_atomic(tmp_path / "m.json", {"a": math.nan, "b": [1.0, math.inf], "c": {"d": -math.inf}})
    text = (tmp_path / "m.json").read_text()
    assert json_module.loads(text, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c))) == {
        "a": None, "b": [1.0, None], "c": {"d": None}}
