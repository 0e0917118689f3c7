"""The names and one-line help of the CLI commands extensions contribute,
cached in the data folder so ``ext-host --help`` lists them without importing
and starting every extension.

The cache is keyed by a stamp of everything that decides which extensions
load: every file in the extension folder (name, size, mtime_ns, inode), the
operator's enable/disable choices, the ``load_only`` setting, the host's
version, and the folders on ``sys.path`` where installed distributions (entry
points) live.  When the stamp differs the CLI starts the host and rewrites the
cache.  Only the listing comes from here: running a command always starts the
host and uses the extension's real command.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import sys
import tempfile
from pathlib import Path
from typing import Any

from . import __version__

log = logging.getLogger(__name__)

CACHE_NAME = "cli-commands.json"


def _files(folder: Path) -> list[list[Any]]:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return []
    found: list[list[Any]] = []
    for entry in entries:
        try:
            st = entry.stat()  # follows symlinks: a replaced target counts
        except OSError:
            continue
        found.append([entry.name, st.st_size, st.st_mtime_ns, st.st_ino])
    return found


def _states(database: Path) -> list[list[Any]] | None:
    """The enable/disable rows, read-only; None when they cannot be read."""
    if not database.exists():
        return []
    try:
        conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return None
    try:
        rows = conn.execute(
            "SELECT name, enabled FROM extension_state ORDER BY name"
        ).fetchall()
    except sqlite3.OperationalError as exc:
        return [] if "no such table" in str(exc) else None
    finally:
        conn.close()
    return [list(r) for r in rows]


def stamp(config: Any) -> str | None:
    """The digest of what decides the extension commands; None if unknown."""
    states = _states(config.database)
    if states is None:
        return None
    paths = []
    for entry in sys.path:
        try:
            paths.append([entry, os.stat(entry or ".").st_mtime_ns])
        except OSError:
            continue
    parts = {
        "version": __version__,
        "folder": str(config.extensions_dir),
        "files": _files(config.extensions_dir),
        "states": states,
        "load_only": None if config.load_only is None else sorted(config.load_only),
        "paths": paths,
    }
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def read(config: Any, current: str | None) -> dict[str, str] | None:
    """The cached ``{name: short help}``, or None when missing or stale."""
    if current is None:
        return None
    try:
        data = json.loads((config.data_dir / CACHE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("stamp") != current:
        return None
    commands = data.get("commands")
    return dict(commands) if isinstance(commands, dict) else None


def write(config: Any, current: str | None, commands: dict[str, str]) -> None:
    """Store the listing atomically; a failure only costs the next --help time."""
    if current is None:
        return
    path = config.data_dir / CACHE_NAME
    text = json.dumps({"stamp": current, "commands": commands}, ensure_ascii=False)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".cli-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        log.debug("cannot write %s: %s", path, exc)
