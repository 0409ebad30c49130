"""Where data files are looked up: absolute paths, ``./`` paths, the data root."""

from __future__ import annotations

import os
from pathlib import Path

from rdistill.errors import DataError

DATA_DIR_ENV = "RDISTILL_DATA_DIR"


def resolve_data_path(relative: str | Path, data_dir: str | Path | None) -> Path:
    """Locate a data file: absolute as given, else under ``data_dir`` or $RDISTILL_DATA_DIR.

    ``data_dir`` (the ``--data-dir`` flag / config) wins over the environment variable.
    A path written ``./x`` is the user's own file (a teacher file that ``rdistill teach``
    wrote, say): it is taken from the current directory, never from the data root.
    Raises DataError naming the root searched and how to set it when the file is missing.
    """
    path = Path(relative).expanduser()
    if str(relative).startswith(("./", ".\\")):
        path = path.resolve()
    if path.is_absolute():
        if not path.is_file():
            raise DataError(f"data file not found: {path}")
        return path
    if data_dir is not None and str(data_dir).strip():
        root, origin = Path(data_dir).expanduser(), "--data-dir"
    elif os.environ.get(DATA_DIR_ENV, "").strip():
        root, origin = Path(os.environ[DATA_DIR_ENV]).expanduser(), f"${DATA_DIR_ENV}"
    else:
        raise DataError(
            f"data file {str(relative)!r} is a relative path but no data directory is set; "
            f"pass --data-dir DIR or set the environment variable {DATA_DIR_ENV}=DIR"
        )
    candidate = root / path
    if not candidate.is_file():
        raise DataError(
            f"data file {str(relative)!r} not found under {root} (from {origin}); "
            f"looked for {candidate}; fix --data-dir or {DATA_DIR_ENV}"
        )
    return candidate
