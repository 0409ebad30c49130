"""cache_dir and atomic_dir: where artifacts go, and that a failed write leaves nothing."""

from pathlib import Path

import pytest

from rdistill.models.cache import atomic_dir, cache_dir


def test_cache_dir_follows_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RDISTILL_CACHE", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    monkeypatch.delenv("RDISTILL_CACHE")
    assert cache_dir() == Path.home() / ".cache" / "rdistill"


def test_atomic_dir_publishes_on_success(tmp_path: Path) -> None:
    out = tmp_path / "models" / "m"
    with atomic_dir(out) as tmp:
        assert tmp.parent == out.parent and not out.exists()
        (tmp / "config.json").write_text("{}")
    assert (out / "config.json").read_text() == "{}"
    assert sorted(p.name for p in out.parent.iterdir()) == ["m"]  # no temp leftovers


def test_atomic_dir_replaces_existing(tmp_path: Path) -> None:
    out = tmp_path / "m"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with atomic_dir(out) as tmp:
        (tmp / "new.txt").write_text("new")
    assert [p.name for p in out.iterdir()] == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_atomic_dir_leaves_nothing_on_error(tmp_path: Path) -> None:
    out = tmp_path / "m"
    with pytest.raises(RuntimeError):
        with atomic_dir(out) as tmp:
            (tmp / "half.bin").write_text("x")
            raise RuntimeError("crash mid-write")
    assert list(tmp_path.iterdir()) == []
