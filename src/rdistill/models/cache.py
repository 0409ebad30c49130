"""Where rdistill keeps derived model artifacts, and how it writes them safely."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rdistill.io import folder_mode

logger = logging.getLogger(__name__)


def cache_dir() -> Path:
    """The rdistill cache root: ``$RDISTILL_CACHE`` if set, else ``~/.cache/rdistill``."""
    env = os.environ.get("RDISTILL_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "rdistill"


@contextmanager
def atomic_dir(out_dir: str | Path) -> Iterator[Path]:
    """Yield an empty temp folder next to ``out_dir``; on normal exit rename it to ``out_dir``.

    A crash (or an exception in the block) removes the temp folder, so readers
    never see a half-written model. The temp folder lives in the same parent so
    the final rename stays on one file system (and is therefore atomic).
    An existing ``out_dir`` is replaced.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    os.chmod(tmp, folder_mode())  # mkdtemp's folder is private (0700); the result is an ordinary folder
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old: Path | None = None
    if out_dir.exists():
        # rename() cannot replace a non-empty folder: move the stale one aside first.
        old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
        os.rename(out_dir, old / "stale")
    try:
        os.rename(tmp, out_dir)
    except OSError:
        if not out_dir.exists():
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        # Another process published the same artifact between our check and rename: keep theirs.
        logger.info("%s was written concurrently by another process; keeping that copy", out_dir)
        shutil.rmtree(tmp, ignore_errors=True)
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
