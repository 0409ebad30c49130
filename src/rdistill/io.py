"""Atomic file writes: a crash never leaves a half-written result behind."""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any


def write_text_atomic(path: str | Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Read once at import: os.umask can only be read by setting it, which must not race other threads.
_UMASK = _read_umask()


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp makes the file private (0600); a result file gets the usual mode (0644 under umask 022).
        os.fchmod(fd, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_writable(folder: str | Path, what: str) -> None:
    """Fail before any work when nothing can be written into ``folder``: ConfigError naming ``what``
    (the flag or key) and the path. Creates nothing (a refused command leaves no empty folder):
    the nearest folder that exists must take a file."""
    from rdistill.errors import ConfigError

    folder = existing = Path(folder).absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(f"{what} {folder}: cannot write there ({existing} is a file, not a folder)")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as err:
        raise ConfigError(f"{what} {folder}: cannot write there ({err.strerror or err})") from None


def check_output_file(path: str | Path, what: str) -> None:
    """``check_writable`` for a file to be written at ``path``, which must not be a folder."""
    from rdistill.errors import ConfigError

    if Path(path).is_dir():
        raise ConfigError(f"{what} {path} is a folder; give a file name")
    check_writable(Path(path).parent, what)


def folder_mode() -> int:
    """The mode a new folder gets under this process's umask (0755 under umask 022)."""
    return 0o777 & ~_UMASK


def strict_json(value: Any) -> Any:
    """``value`` with every non-finite float (NaN, +-inf) replaced by None: what strict JSON
    parsers accept (Python's json module would write the non-standard ``NaN``)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(v) for v in value]
    return value


def dumps_strict(value: Any, **kwargs: Any) -> str:
    """``json.dumps`` that writes valid JSON only (non-finite numbers become null)."""
    return json.dumps(strict_json(value), allow_nan=False, **kwargs)


def write_json_atomic(path: str | Path, data: Any) -> None:
    write_text_atomic(path, dumps_strict(data, indent=2, ensure_ascii=False) + "\n")


def read_text(path: str | Path, error: type[Exception] | None = None) -> str:
    """A UTF-8 text file; bytes that are not UTF-8 raise ``error`` (default DataError) naming the
    file, the line and the byte, instead of a UnicodeDecodeError traceback."""
    from rdistill.errors import DataError

    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise (error or DataError)(f"{path} line {line}: not UTF-8 text (byte {data[err.start]:#04x} at "
                                   f"offset {err.start}); save the file as UTF-8") from None


def iter_jsonl(path: str | Path):
    """``(line number, parsed value)`` for each non-blank line; DataError naming file and line."""
    from rdistill.errors import DataError

    path = Path(path)
    for line_no, line in enumerate(read_text(path).splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield line_no, json.loads(line)
        except json.JSONDecodeError as err:
            raise DataError(f"{path} line {line_no}: not valid JSON ({err.msg})") from None


def read_yaml(path: str | Path, error: type[Exception] | None = None) -> Any:
    """A YAML file through ``yaml.safe_load``, refusing a key given twice in one mapping (PyYAML
    would keep the last one silently); ``error`` (default DataError) names the file and line."""
    import yaml

    from rdistill.errors import DataError

    class UniqueKeyLoader(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):
            seen = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                if key_node.tag != "tag:yaml.org,2002:merge" and isinstance(key, (str, int, float, bool)):
                    if key in seen:
                        raise yaml.MarkedYAMLError(problem=f"key {key!r} appears twice in one mapping",
                                                   problem_mark=key_node.start_mark)
                    seen.add(key)
            return super().construct_mapping(node, deep)

    text = read_text(path, error)
    try:
        return yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f" line {mark.line + 1}" if mark else ""
        raise (error or DataError)(f"{path}{where}: not valid YAML ({err.problem or err.context})") from None
    except yaml.YAMLError as err:
        raise (error or DataError)(f"{path}: not valid YAML ({err})") from None


def file_sha256(path: str | Path) -> str:
    """sha256 hex digest of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
