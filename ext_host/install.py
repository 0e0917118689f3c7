"""Installing an uploaded archive into the extension folder, all or nothing.

The bytes go to a private staging folder (mode 0700) inside the extension
folder, are validated completely there, and only then renamed over
``NAME.ext`` in one step; a failure leaves the folder exactly as it was.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .archive import Limits, check
from .config import HostConfig
from .errors import ArchiveError, NotFound

STAGING = ".staging"


@dataclass(frozen=True)
class InstallResult:
    name: str
    version: str
    path: Path
    replaced: bool
    message: str


def install_archive(config: HostConfig, data: bytes, filename: str) -> InstallResult:
    if not filename.endswith(".ext"):
        raise ArchiveError(f"{filename}: extension archives end in .ext")
    folder = config.extensions_dir
    folder.mkdir(parents=True, exist_ok=True)
    staging = folder / STAGING
    staging.mkdir(mode=0o700, exist_ok=True)
    os.chmod(staging, 0o700)
    fd, tmp_name = tempfile.mkstemp(dir=staging, suffix=".ext.part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        info = check(tmp, Limits(config.max_archive_entries, config.max_archive_bytes))
        target = folder / f"{info.manifest.name}.ext"
        replaced = target.exists()
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    verb = "replaced" if replaced else "installed"
    return InstallResult(
        name=info.manifest.name,
        version=str(info.manifest.version),
        path=target,
        replaced=replaced,
        message=(
            f"{verb} {info.manifest.name} {info.manifest.version} as {target}; "
            "restart the host (or reload) to load it"
        ),
    )


def set_enabled(host: Any, name: str, enabled: bool) -> str:
    """Enable or disable extension ``name``; the state survives restarts."""
    if name not in host.extensions:
        known = ", ".join(sorted(host.extensions)) or "none"
        raise NotFound(f"no extension {name!r}; extensions: {known}")
    host.store.execute(
        "INSERT INTO extension_state (name, enabled, updated_at) VALUES (?, ?, ?) "
        "ON CONFLICT(name) DO UPDATE SET enabled = excluded.enabled, "
        "updated_at = excluded.updated_at",
        (name, int(enabled), time.time()),
    )
    verb = "enabled" if enabled else "disabled"
    return f"{verb} {name}; restart the host (or reload) for it to take effect"


def remove_extension(host: Any, name: str, purge: bool = False) -> str:
    """Delete ``name``'s archive from the extension folder.

    Its stored settings stay (so re-installing it restores them) unless
    ``purge`` is set.
    """
    record = host.extensions.get(name)
    if record is None or not record.source.endswith(".ext"):
        raise NotFound(
            f"no archive for extension {name!r} in {host.config.extensions_dir}"
        )
    Path(record.source).unlink(missing_ok=True)
    if purge:
        with host.store.transaction() as conn:
            conn.execute("DELETE FROM options WHERE ext = ?", (name,))
            conn.execute("DELETE FROM extension_state WHERE name = ?", (name,))
    kept = "its settings were deleted" if purge else "its settings are kept"
    return f"removed {name} ({kept}); restart the host (or reload) to unload it"
