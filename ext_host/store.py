"""The host's embedded store: one SQLite file in the data folder.

The rest of the host talks to it only through :class:`Store`'s few methods
(``query``, ``execute``, ``transaction``, ``ensure_schema`` and the small
key-value helpers), so a PostgreSQL store could replace it behind the same
calls.  Each thread gets its own connection; WAL mode lets the web server's
threads and a CLI process read while one writes.

The file and its ``-wal`` and ``-shm`` companions (SQLite gives them the
database's mode) are readable by the host's account only: they hold cached
WeCom access tokens, password hashes and revoked sessions.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_HOST_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    alias TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL DEFAULT '',
    enabled INTEGER NOT NULL DEFAULT 1,
    phone TEXT NOT NULL DEFAULT '',
    is_admin INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS user_fields (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    norm TEXT NOT NULL,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX IF NOT EXISTS user_fields_norm ON user_fields (key, norm);
CREATE TABLE IF NOT EXISTS groups (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    parent_id INTEGER REFERENCES groups(id),
    source TEXT NOT NULL DEFAULT '',
    external_id TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS user_groups (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    group_id INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, group_id)
);
CREATE TABLE IF NOT EXISTS reports (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    path TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    mobile INTEGER NOT NULL DEFAULT 0,
    viewers TEXT NOT NULL DEFAULT '["*"]',
    dataset TEXT NOT NULL,
    query TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS options (
    ext TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    secret INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL,
    PRIMARY KEY (ext, key)
);
CREATE TABLE IF NOT EXISTS extension_state (
    name TEXT PRIMARY KEY,
    enabled INTEGER NOT NULL DEFAULT 1,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS kv (
    ns TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    expires_at REAL,
    PRIMARY KEY (ns, key)
);
CREATE TABLE IF NOT EXISTS schema_versions (
    name TEXT PRIMARY KEY,
    version INTEGER NOT NULL
);
"""


def _make_private(path: Path) -> None:
    """Create ``path`` with mode 0600, or bring an older store (and its WAL
    files) down to 0600."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        for each in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            with contextlib.suppress(OSError):  # absent, or not ours to change
                if each.stat().st_mode & 0o077:
                    os.chmod(each, 0o600)


class Store:
    """A SQLite database file with per-thread connections."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _make_private(self.path)
        self._local = threading.local()
        self._write_lock = threading.RLock()
        # executescript manages its own transaction; the statements are idempotent.
        self._conn().executescript(_HOST_SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
        return conn

    def close(self) -> None:
        """Close this thread's connection (others close when their thread ends)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed on success, rolled back on error.

        ``BEGIN IMMEDIATE`` takes the write lock up front, so two processes
        never both read-then-write the same rows.
        """
        conn = self._conn()
        if conn.in_transaction:
            yield conn
            return
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")

    def query(
        self, sql: str, params: Sequence[Any] | dict[str, Any] = ()
    ) -> list[sqlite3.Row]:
        return self._conn().execute(sql, params).fetchall()

    def query_one(
        self, sql: str, params: Sequence[Any] | dict[str, Any] = ()
    ) -> sqlite3.Row | None:
        return self._conn().execute(sql, params).fetchone()

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> int:
        """Run one write statement in its own transaction; returns lastrowid."""
        with self.transaction() as conn:
            cur = conn.execute(sql, params)
            return cur.lastrowid or cur.rowcount

    def ensure_schema(self, name: str, migrations: Sequence[str]) -> None:
        """Apply the not-yet-applied scripts of ``migrations`` for ``name``.

        Extensions own their tables this way: migration *i* runs once, when the
        stored version for ``name`` is below *i + 1*.
        """
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT version FROM schema_versions WHERE name = ?", (name,)
            ).fetchone()
            current = row["version"] if row else 0
            for number, script in enumerate(migrations, start=1):
                if number <= current:
                    continue
                for statement in _split_sql(script):
                    conn.execute(statement)
                log.info("schema %s migrated to version %d", name, number)
            conn.execute(
                "INSERT INTO schema_versions (name, version) VALUES (?, ?) "
                "ON CONFLICT(name) DO UPDATE SET version = excluded.version",
                (name, max(current, len(migrations))),
            )

    # -- key-value helpers, for caches shared between processes ---------------

    def kv_get(self, ns: str, key: str, now: float | None = None) -> Any | None:
        row = self.query_one(
            "SELECT value, expires_at FROM kv WHERE ns = ? AND key = ?", (ns, key)
        )
        if row is None:
            return None
        now = time.time() if now is None else now
        if row["expires_at"] is not None and row["expires_at"] <= now:
            return None
        return json.loads(row["value"])

    def kv_set(
        self, ns: str, key: str, value: Any, expires_at: float | None = None
    ) -> None:
        self.execute(
            "INSERT INTO kv (ns, key, value, expires_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(ns, key) DO UPDATE SET value = excluded.value, "
            "expires_at = excluded.expires_at",
            (ns, key, json.dumps(value), expires_at),
        )

    def kv_delete(self, ns: str, key: str) -> None:
        self.execute("DELETE FROM kv WHERE ns = ? AND key = ?", (ns, key))


def _split_sql(script: str) -> list[str]:
    return [part.strip() for part in script.split(";") if part.strip()]
