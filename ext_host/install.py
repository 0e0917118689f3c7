"""Installing an uploaded archive into the extension folder, all or nothing.

The bytes go to a private staging folder (mode 0700) inside the extension
folder, are validated completely there, and only then renamed over
``NAME.ext`` in one step; a failure leaves the folder exactly as it was.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .archive import Limits, check
from .config import HostConfig
from .errors import ArchiveError

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
