"""``.ext`` archives: packing, and refusing anything hostile before it lands.

An archive is a zip file with ``extension.yaml`` at its root and the
extension's Python package (plus any static files) beside it.  Nothing in an
archive is trusted: names are checked one by one, sizes are counted as bytes
are read rather than taken from headers, and every file must match the
SHA-256 that ``ext-host ext pack`` recorded in the manifest.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import stat
import struct
import tempfile
import unicodedata
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from .config import Limits
from .errors import ArchiveError, ManifestError
from .manifest import MANIFEST_NAME, Manifest, parse_manifest

#: Fixed timestamp for packed entries, so the same sources pack to the same bytes.
_EPOCH = (2020, 1, 1, 0, 0, 0)
_SKIP_DIRS = {"__pycache__", ".git", ".mypy_cache", ".pytest_cache"}
_SKIP_SUFFIXES = {".pyc", ".pyo"}
_MAX_MANIFEST = 256 * 1024
_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")


@dataclass(frozen=True)
class ArchiveInfo:
    """What a validated archive holds."""

    path: Path
    sha256: str
    manifest: Manifest
    files: tuple[str, ...]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


# -- packing -------------------------------------------------------------------


def _source_files(package_dir: Path) -> list[Path]:
    found = []
    for root, dirs, files in os.walk(package_dir):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and d[0] != ".")
        for name in sorted(files):
            path = Path(root) / name
            if path.suffix in _SKIP_SUFFIXES or name.startswith("."):
                continue
            if name == MANIFEST_NAME and path.parent == package_dir:
                continue
            if path.is_symlink():
                raise ArchiveError(f"{path}: symlinks cannot be packed; copy the file")
            found.append(path)
    return found


def pack(
    package_dir: Path, output: Path | None = None, out_dir: Path | None = None
) -> Path:
    """Pack ``package_dir`` (a Python package holding ``extension.yaml``).

    The archive gets the manifest at its root, with a ``files`` table of
    SHA-256 digests added, and the package under its own name.  Returns the
    archive's path (``output``, else ``out_dir/<name>.ext``).
    """
    package_dir = Path(package_dir).resolve()
    manifest_path = package_dir / MANIFEST_NAME
    if not manifest_path.is_file():
        raise ArchiveError(
            f"{package_dir}: no {MANIFEST_NAME}; `ext-host ext new NAME` scaffolds one"
        )
    text = manifest_path.read_text(encoding="utf-8")
    manifest = parse_manifest(text, str(manifest_path))
    if manifest.top_package != package_dir.name:
        raise ArchiveError(
            f"{manifest_path}: entry {manifest.entry!r} must live in the package "
            f"being packed ({package_dir.name!r})"
        )

    members: list[tuple[str, bytes]] = []
    for path in _source_files(package_dir):
        arcname = f"{package_dir.name}/{path.relative_to(package_dir).as_posix()}"
        members.append((arcname, path.read_bytes()))
    raw = yaml.safe_load(text)
    raw["files"] = {name: hashlib.sha256(data).hexdigest() for name, data in members}
    manifest_bytes = yaml.safe_dump(raw, allow_unicode=True, sort_keys=False).encode()

    if output is None:
        output = Path(out_dir or package_dir.parent) / f"{manifest.name}.ext"
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in [(MANIFEST_NAME, manifest_bytes), *members]:
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    _atomic_write(output, buffer.getvalue())
    return output


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".pack-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# -- checking ------------------------------------------------------------------


def _check_name(name: str) -> str | None:
    """The rule ``name`` breaks, or None when it is a safe relative path."""
    if name == "":
        return "empty name"
    if "\x00" in name:
        return "NUL character in name"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        return "control character in name"
    if "\\" in name:
        return "backslash in name (Windows or UNC path)"
    if name.startswith("/"):
        return "absolute path"
    if len(name) >= 2 and name[1] == ":" and name[0].isalpha():
        return "drive prefix"
    parts = name.rstrip("/").split("/")
    if any(part == ".." for part in parts):
        return "'..' component"
    if any(part in ("", ".") for part in parts):
        return "empty or '.' component"
    if any(len(part.encode("utf-8")) > 255 for part in parts):
        return "a name component is longer than 255 bytes"
    return None


#: PKWARE's Unix extra field: its variable part is a link target.
_UNIX_EXTRA = 0x000D
_UNIX_EXTRA_FIXED = 12  # atime, mtime, uid, gid
_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}


def _entry_kind(info: zipfile.ZipInfo) -> str | None:
    """The refused kind of a non-regular entry, or None."""
    if _link_in_extra(info.extra):
        return "hardlink or symlink (link target in the Unix extra field)"
    mode = info.external_attr >> 16
    if info.create_system != 3 or stat.S_IFMT(mode) == 0:
        return None  # no Unix file type recorded: a plain file or folder
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
        return "special file"
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        return "unknown file type"
    return None


def _link_in_extra(extra: bytes) -> bool:
    pos = 0
    while pos + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, pos)
        if tag == _UNIX_EXTRA and size > _UNIX_EXTRA_FIXED:
            return True
        pos += 4 + size
    return False


def is_inside(root: Path, path: Path) -> bool:
    """Whether ``path`` is ``root`` or below it, compared component by
    component (``/cache/demo-2`` is not inside ``/cache/demo``)."""
    return Path(path).resolve().is_relative_to(Path(root).resolve())


def _check_overlaps(
    source: str, fh: io.BufferedReader, infos: Iterable[zipfile.ZipInfo]
) -> None:
    spans = []
    size = os.fstat(fh.fileno()).st_size
    for info in infos:
        fh.seek(info.header_offset)
        header = fh.read(_LOCAL_HEADER.size)
        if len(header) != _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
            raise ArchiveError(
                f"{source}: entry {info.filename!r} refused: its local header is "
                "missing"
            )
        fields = _LOCAL_HEADER.unpack(header)
        name_len, extra_len = fields[9], fields[10]
        local_extra = fh.read(name_len + extra_len)[name_len:]
        if _link_in_extra(local_extra):
            raise ArchiveError(
                f"{source}: entry {info.filename!r} refused: hardlink or symlink "
                "(link target in the Unix extra field)"
            )
        end = info.header_offset + _LOCAL_HEADER.size + name_len + extra_len
        end += info.compress_size
        if end > size:
            raise ArchiveError(
                f"{source}: entry {info.filename!r} refused: its data runs past "
                "the end of the archive"
            )
        spans.append((info.header_offset, end, info.filename))
    spans.sort()
    for (_, end, name), (start, _, other) in zip(spans, spans[1:], strict=False):
        if start < end:
            raise ArchiveError(
                f"{source}: entry {other!r} refused: overlaps entry {name!r}"
            )


def _check_entries(
    source: str, infos: list[zipfile.ZipInfo], limits: Limits
) -> dict[str, str]:
    """Check each entry's name and kind; returns the names by folded key."""
    if len(infos) > limits.entries:
        raise ArchiveError(
            f"{source}: {len(infos)} entries, more than the limit of "
            f"{limits.entries} (archive_limits.entries in host.yaml)"
        )
    seen: dict[str, str] = {}
    for info in infos:
        name = info.orig_filename  # zipfile cuts ``filename`` at a NUL
        rule = _check_name(name)
        if rule is None:
            rule = _entry_kind(info)
        if rule is None and info.flag_bits & 0x1:
            rule = "encrypted"
        if rule is None and info.compress_type not in _METHODS:
            rule = (
                f"compression method {info.compress_type} (only stored and "
                "deflated are accepted; re-pack with `ext-host ext pack`)"
            )
        key = unicodedata.normalize("NFC", name.rstrip("/")).casefold()
        if rule is None and key in seen:
            other = seen[key]
            if other == name:
                rule = "duplicate name"
            elif _nfc(other) == _nfc(name):
                rule = f"name is {other!r} written in another Unicode form"
            else:
                rule = f"name collides with {other!r} ignoring case"
        if rule:
            raise ArchiveError(f"{source}: entry {name!r} refused: {rule}")
        seen[key] = name
    for info in infos:
        if info.is_dir():
            continue
        parts = unicodedata.normalize("NFC", info.filename).casefold().split("/")
        for depth in range(1, len(parts)):
            folder = "/".join(parts[:depth])
            holder = seen.get(folder)
            if holder is not None and not holder.endswith("/"):
                raise ArchiveError(
                    f"{source}: entry {info.filename!r} refused: {holder!r} is a "
                    "file, not a folder"
                )
    return seen


def _nfc(name: str) -> str:
    return unicodedata.normalize("NFC", name)


def _open_zip(path: Path, source: str, limits: Limits) -> zipfile.ZipFile:
    try:
        size = Path(path).stat().st_size
        if size > limits.bytes:
            raise ArchiveError(
                f"{source}: {size} bytes, more than the limit of {limits.bytes} "
                "(archive_limits.bytes in host.yaml)"
            )
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError):
        raise ArchiveError(
            f"{source}: not a zip archive; build it with `ext-host ext pack`"
        ) from None
    except OSError as exc:
        raise ArchiveError(f"{source}: cannot read ({exc.strerror})") from None


def inspect(
    path: Path, limits: Limits | None = None, source: str | None = None
) -> tuple[Manifest, list[zipfile.ZipInfo]]:
    """Check the archive's structure and manifest, without extracting.

    Raises :class:`ArchiveError` or :class:`ManifestError` naming the file
    (``source``, else the file's name), the entry and the rule it breaks.
    """
    limits = limits or Limits()
    source = source or Path(path).name
    with _open_zip(path, source, limits) as zf:
        try:
            return _inspect_open(path, zf, source, limits)
        except (zipfile.BadZipFile, EOFError, NotImplementedError) as exc:
            raise ArchiveError(f"{source}: corrupt archive ({exc})") from None


def _inspect_open(
    path: Path, zf: zipfile.ZipFile, source: str, limits: Limits
) -> tuple[Manifest, list[zipfile.ZipInfo]]:
    infos = zf.infolist()
    seen = _check_entries(source, infos, limits)
    with open(path, "rb") as fh:
        _check_overlaps(source, fh, infos)  # type: ignore[arg-type]

    if seen.get(MANIFEST_NAME) != MANIFEST_NAME:
        raise ArchiveError(
            f"{source}: no {MANIFEST_NAME} at the archive root; "
            "pack the extension with `ext-host ext pack`"
        )
    with zf.open(MANIFEST_NAME) as fh:
        text = fh.read(_MAX_MANIFEST + 1)
    if len(text) > _MAX_MANIFEST:
        raise ArchiveError(f"{source}: {MANIFEST_NAME} is larger than 256 KiB")
    manifest = parse_manifest(text, f"{source}: {MANIFEST_NAME}")

    files = [i for i in infos if not i.is_dir() and i.filename != MANIFEST_NAME]
    if not manifest.files:
        raise ManifestError(
            f"{source}: {MANIFEST_NAME}: no 'files' digests; re-pack the extension "
            "with `ext-host ext pack`"
        )
    names = {i.filename for i in files}
    for listed in sorted(set(manifest.files) - names):
        raise ArchiveError(
            f"{source}: modified: {listed!r} is listed in the manifest but missing"
        )
    for extra in sorted(names - set(manifest.files)):
        raise ArchiveError(f"{source}: modified: {extra!r} is not in the manifest")
    package = manifest.top_package
    for info in files:
        top = info.filename.split("/")[0]
        if top != package and top != "static":
            raise ArchiveError(
                f"{source}: entry {info.filename!r} refused: outside the "
                f"extension's package {package!r} (and not under static/)"
            )
    return manifest, files


def extract(
    path: Path, target: Path, limits: Limits | None = None, source: str | None = None
) -> ArchiveInfo:
    """Validate ``path`` fully and extract it into the new folder ``target``.

    Extraction goes to a sibling temporary folder that is renamed into place
    only when every byte has been read and every digest matched, so
    ``target`` either does not exist or is complete.  When ``target``
    already exists (another process got there first; the folder is named
    after the archive's digest) it is kept and the new copy discarded.
    """
    limits = limits or Limits()
    path = Path(path)
    source = source or path.name
    manifest, files = inspect(path, limits, source)
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}-"))
    root = tmp.resolve()
    total = 0
    try:
        with zipfile.ZipFile(path) as zf:
            for info in files:
                dest = root / info.filename
                if not is_inside(root, dest):
                    raise ArchiveError(
                        f"{source}: entry {info.filename!r} refused: resolves "
                        "outside the extension's folder"
                    )
                dest.parent.mkdir(parents=True, exist_ok=True)
                digest = hashlib.sha256()
                with zf.open(info) as src, open(dest, "xb") as out:
                    while block := src.read(1 << 16):
                        total += len(block)
                        if total > limits.bytes:
                            raise ArchiveError(
                                f"{source}: more than {limits.bytes} bytes "
                                "uncompressed (archive_limits.bytes in host.yaml)"
                            )
                        digest.update(block)
                        out.write(block)
                if digest.hexdigest() != manifest.files[info.filename]:
                    raise ArchiveError(
                        f"{source}: modified: {info.filename!r} does not match its "
                        "SHA-256 in the manifest"
                    )
            manifest_text = zf.read(MANIFEST_NAME)
        (tmp / MANIFEST_NAME).write_bytes(manifest_text)
        try:
            os.rename(tmp, target)
        except OSError:
            if (target / MANIFEST_NAME).is_file():
                shutil.rmtree(tmp, ignore_errors=True)  # complete: keep it
            else:
                shutil.rmtree(target, ignore_errors=True)  # not ours: replace
                os.rename(tmp, target)
    except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ArchiveError(f"{source}: corrupt archive ({exc})") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ArchiveInfo(
        path=path,
        sha256=file_sha256(path),
        manifest=manifest,
        files=tuple(i.filename for i in files),
    )


def check(
    path: Path, limits: Limits | None = None, source: str | None = None
) -> ArchiveInfo:
    """Validate an archive completely (extracting to a throw-away folder)."""
    with tempfile.TemporaryDirectory(prefix="ext-check-") as tmp:
        return extract(path, Path(tmp) / "x", limits, source)
