"""Durable record of every teacher request: SQLite in WAL mode, one row per request key.

The key is sha256 of (teacher id, prompt, generation settings), so a re-run skips
what is done and a changed prompt or setting asks again. Each result is committed
as soon as it arrives: ``kill -9`` loses only the requests in flight (left ``pending``,
asked again next run). WAL lets several processes read while one writes; writers
wait on each other through SQLite's lock (``busy_timeout``), so two ``rdistill teach``
runs sharing a cache never corrupt it (at worst both ask the same request once).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    key TEXT PRIMARY KEY,
    teacher TEXT NOT NULL,
    uid TEXT NOT NULL,
    prompt TEXT NOT NULL,
    settings TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed')),
    raw TEXT,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    latency_s REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    updated REAL NOT NULL
)
"""


def request_key(teacher_id: str, prompt: Any, settings: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of (teacher id, prompt (text or messages), settings)."""
    blob = json.dumps([teacher_id, prompt, settings], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass
class Result:
    """What one request produced; ``status`` is ``done`` or ``failed`` (after all retries)."""

    key: str
    status: str
    raw: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_s: float | None = None
    attempts: int = 1
    error: str | None = None


class TeacherCache:
    """One SQLite file; use one instance per process (connections are not shared)."""

    def __init__(self, path: str | Path, timeout_s: float = 60.0):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: autocommit; each write is its own durable transaction.
        self.conn = sqlite3.connect(self.path, timeout=timeout_s, isolation_level=None,
                                    check_same_thread=False)
        self.conn.execute(f"PRAGMA busy_timeout = {int(timeout_s * 1000)}")
        self.conn.execute("PRAGMA journal_mode = WAL")
        # NORMAL in WAL mode: a committed row survives a process crash (kill -9); only a
        # power loss may drop the last commits, which are then simply asked again.
        self.conn.execute("PRAGMA synchronous = NORMAL")
        self.conn.execute(_SCHEMA)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> TeacherCache:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def done(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        """``key -> row`` for the keys already answered (status ``done``)."""
        out: dict[str, dict[str, Any]] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            rows = self.conn.execute(
                f"SELECT * FROM requests WHERE status = 'done' AND key IN ({','.join('?' * len(chunk))})",
                chunk)
            cols = [c[0] for c in rows.description]
            out.update({r[0]: dict(zip(cols, r)) for r in rows.fetchall()})
        return out

    def get(self, key: str) -> dict[str, Any] | None:
        cur = self.conn.execute("SELECT * FROM requests WHERE key = ?", (key,))
        row = cur.fetchone()
        return None if row is None else dict(zip([c[0] for c in cur.description], row))

    def begin(self, key: str, teacher: str, uid: str, prompt: Any, settings: dict[str, Any]) -> None:
        """Record a request about to be sent (``pending``); a done row is never downgraded."""
        self.conn.execute(
            "INSERT INTO requests (key, teacher, uid, prompt, settings, status, updated) "
            "VALUES (?, ?, ?, ?, ?, 'pending', ?) "
            "ON CONFLICT(key) DO UPDATE SET status = 'pending', updated = excluded.updated "
            "WHERE requests.status != 'done'",
            (key, teacher, uid, json.dumps(prompt, ensure_ascii=False),
             json.dumps(settings, sort_keys=True), time.time()))

    def finish(self, result: Result) -> None:
        """Record a result; attempts add up over runs. A done row is never overwritten."""
        self.conn.execute(
            "UPDATE requests SET status = ?, raw = ?, prompt_tokens = ?, completion_tokens = ?, "
            "latency_s = ?, attempts = attempts + ?, error = ?, updated = ? "
            "WHERE key = ? AND status != 'done'",
            (result.status, result.raw, result.prompt_tokens, result.completion_tokens,
             result.latency_s, result.attempts, result.error, time.time(), result.key))

    def counts(self) -> dict[str, int]:
        return dict(self.conn.execute("SELECT status, COUNT(*) FROM requests GROUP BY status").fetchall())
