"""Installing an uploaded archive into the extension folder, all or nothing.

The bytes go to a private staging folder (mode 0700) inside the extension
folder, so on the same file system, are validated completely there, and only
then renamed over the archive they replace in one step.  A failure, or the
process dying at any point, leaves the folder with the old archive or the new
one, never neither and never a half-written one: a partial upload is a hidden
file under ``.staging`` that discovery ignores.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .archive import ArchiveInfo, Limits, check, file_sha256
from .config import HostConfig
from .errors import ArchiveError, HostError, NotFound
from .loader import discover_archives, prune_cache
from .manifest import MANIFEST_NAME, parse_manifest

log = logging.getLogger(__name__)

STAGING = ".staging"
#: A staged upload older than this is left over from a process that died.
STALE_SECONDS = 3600
#: For tests only: ``POINT:FLAGFILE`` makes :func:`install_archive` create
#: FLAGFILE and wait (up to 30 s) at POINT, ``staged`` (validated, not yet
#: moved) or ``moved`` (just moved), so a test can kill the process there.
PAUSE_ENV = "EXT_HOST_TEST_INSTALL_PAUSE"


@dataclass(frozen=True)
class InstallResult:
    name: str
    version: str
    path: Path
    replaced: bool
    message: str
    #: "reload", "restart" or "" (nothing to do: the archive was unchanged,
    #: or the host given to :func:`install_archive` already reloaded it).
    needs: str = "restart"
    previous_version: str = ""


def install_archive(
    config: HostConfig, data: bytes, filename: str, host: Any = None
) -> InstallResult:
    """Validate ``data`` (an uploaded archive called ``filename``) and install it.

    The archive lands as ``NAME.ext`` (NAME from its manifest), or over the
    archive that already holds extension NAME.  A running host keeps using
    the version it loaded; pass ``host`` to reload it straight away (the
    message then says whether it is in use or still needs a restart),
    otherwise the message says to restart the host.
    """
    display = Path(filename.replace("\\", "/")).name or "upload"
    if not display.endswith(".ext"):
        raise ArchiveError(
            f"{display}: extension archives end in .ext; build one with "
            "`ext-host ext pack`"
        )
    limits = Limits(config.max_archive_entries, config.max_archive_bytes)
    if len(data) > limits.bytes:
        raise ArchiveError(
            f"{display}: {len(data)} bytes, more than the limit of {limits.bytes} "
            "(archive_limits.bytes in host.yaml)"
        )
    folder = config.extensions_dir
    folder.mkdir(parents=True, exist_ok=True)
    staging = folder / STAGING
    staging.mkdir(mode=0o700, exist_ok=True)
    os.chmod(staging, 0o700)
    _remove_stale(staging)
    tmp = staging / f"{os.getpid()}-{time.time_ns()}.ext.part"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        info = check(tmp, limits, source=display)
        _check_host_version(info, display)
        target, previous = _target_for(folder, info, display)
        if previous is not None and file_sha256(target) == info.sha256:
            tmp.unlink()
            return InstallResult(
                info.manifest.name,
                str(info.manifest.version),
                target,
                replaced=False,
                message=(
                    f"unchanged: {target} already holds {info.manifest.name} "
                    f"{info.manifest.version}; nothing to do"
                ),
                needs="",
                previous_version=previous,
            )
        _pause("staged")
        os.replace(tmp, target)
        _fsync_dir(folder)
        _pause("moved")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        _remove_if_empty(staging)

    name, version = info.manifest.name, str(info.manifest.version)
    if previous is None:
        what = f"installed {name} {version} as {target}"
    else:
        what = f"replaced {name} {previous} with {version} in {target}"
        if info.manifest.version < _version(previous):
            what += " (a downgrade)"
    log.info("%s", what)
    if host is not None and getattr(host, "started", False):
        reloaded = host.reload()
        record = host.extensions.get(name)
        state = f"{name} is {record.state}" if record else f"{name} is not loaded"
        if record is not None and record.message:
            state += f" ({record.message})"
        needs = "restart" if reloaded.restart_needed else ""
        tail = (
            "; restart the host to serve its new HTTP routes" if needs else "; in use"
        )
        message = f"{what}; reloaded: {state}{tail}"
    else:
        needs = "restart"
        message = (
            f"{what}; the running host keeps the version it loaded: restart the "
            "host to load this one"
        )
    return InstallResult(
        name,
        version,
        target,
        replaced=previous is not None,
        message=message,
        needs=needs,
        previous_version=previous or "",
    )


def _check_host_version(info: ArchiveInfo, display: str) -> None:
    from . import __version__

    supported = info.manifest.host
    if supported and not supported.contains(_version(__version__), prereleases=True):
        raise ArchiveError(
            f"{display}: {info.manifest.name} {info.manifest.version} requires host "
            f"{supported}, this host is {__version__}; install a version of the "
            "extension made for this host"
        )


def _version(text: str) -> Any:
    from packaging.version import Version

    return Version(text)


def _target_for(folder: Path, info: ArchiveInfo, display: str) -> tuple[Path, Any]:
    """Where the new archive goes, and the version it replaces (or None)."""
    name = info.manifest.name
    default = folder / f"{name}.ext"
    for path in discover_archives(folder):
        held = archive_name(path)
        if held == name:
            return path, archive_version(path)
        if path.name == default.name and held is not None:
            raise ArchiveError(
                f"{display}: {default} already holds extension {held!r}; rename "
                f"or remove it before installing {name!r}"
            )
    return default, None


def _read_manifest(path: Path) -> Any:
    try:
        with zipfile.ZipFile(path) as zf, zf.open(MANIFEST_NAME) as fh:
            return parse_manifest(fh.read(256 * 1024), path.name)
    except (OSError, KeyError, zipfile.BadZipFile, HostError):
        return None


def archive_name(path: Path) -> str | None:
    """The extension name in archive ``path``'s manifest, or None if unreadable."""
    manifest = _read_manifest(path)
    return manifest.name if manifest else None


def archive_version(path: Path) -> str:
    manifest = _read_manifest(path)
    return str(manifest.version) if manifest else "?"


def _pause(point: str) -> None:
    wanted, _, flag = os.environ.get(PAUSE_ENV, "").partition(":")
    if wanted != point or not flag:
        return
    Path(flag).write_text(str(os.getpid()))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        time.sleep(0.05)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_stale(staging: Path) -> None:
    """Delete staged uploads whose process died (named ``PID-TIME.ext.part``)
    or that are older than :data:`STALE_SECONDS`."""
    cutoff = time.time() - STALE_SECONDS
    for part in staging.glob("*.ext.part"):
        try:
            if part.stat().st_mtime < cutoff or not _alive(part.name.split("-")[0]):
                part.unlink()
                log.info("removed %s, left over from an interrupted upload", part)
        except OSError:
            continue


def _alive(pid_text: str) -> bool:
    if not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_if_empty(staging: Path) -> None:
    # Fails while another upload is in progress or a stale part remains.
    with contextlib.suppress(OSError):
        staging.rmdir()


def set_enabled(host: Any, name: str, enabled: bool, reload: bool = False) -> str:
    """Enable or disable extension ``name``; the state survives restarts.

    With ``reload`` the host reloads its extensions at once; otherwise the
    change takes effect at the next start.
    """
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
    if reload:
        return f"{verb} {name}; {host.reload().message}"
    return f"{verb} {name}; restart the host for it to take effect"


def remove_extension(
    host: Any, name: str, purge: bool = False, reload: bool = False
) -> str:
    """Delete ``name``'s archive from the extension folder.

    Its stored settings (options and enabled state) stay, so re-installing
    it restores them, unless ``purge`` is set, which also drops its cached
    values.  Tables the extension created itself are never dropped.
    """
    record = host.extensions.get(name)
    if record is None:
        known = ", ".join(sorted(host.extensions)) or "none"
        raise NotFound(f"no extension {name!r}; extensions: {known}")
    if record.source.startswith("entry point "):
        raise NotFound(
            f"extension {name!r} is installed as a Python distribution "
            f"({record.source}); remove it with `pip uninstall`"
        )
    archive = Path(record.source)
    archive.unlink(missing_ok=True)
    prune_cache(host.cache_dir, archive.stem, versions=1)
    if purge:
        with host.store.transaction() as conn:
            conn.execute("DELETE FROM options WHERE ext = ?", (name,))
            conn.execute("DELETE FROM extension_state WHERE name = ?", (name,))
            conn.execute(
                "DELETE FROM kv WHERE ns = ? OR ns LIKE ?", (name, f"{name}.%")
            )
    kept = "its settings were deleted" if purge else "its settings are kept"
    if reload:
        return f"removed {name} ({kept}); {host.reload().message}"
    return f"removed {name} ({kept}); restart the host to unload it"
