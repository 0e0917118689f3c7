"""Building extensions and archives for the loader tests, good and hostile.

``write_extension`` writes a real extension package and packs it with the
host's own ``pack``.  ``raw_zip`` writes zip bytes by hand, so a test can
make every lie a hostile archive tells: names zipfile would refuse to
write, entries sharing bytes, headers that understate sizes, link targets in
extra fields.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import struct
import textwrap
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ext_host.archive import pack

PLUGIN_HEADER = "from ext_host.api import hookimpl\n\n"


def write_extension(
    root: Path,
    name: str,
    body: str = "class Extension:\n    pass\n",
    out_dir: Path | None = None,
    **manifest: object,
) -> Path:
    """Write package ``ext_NAME`` under ``root`` and pack it; returns the archive.

    ``body`` is the plugin module's code (after the hookimpl import);
    ``manifest`` adds or overrides manifest fields.
    """
    package = root / f"ext_{name.replace('-', '_')}"
    if package.exists():
        shutil.rmtree(package)
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "plugin.py").write_text(PLUGIN_HEADER + textwrap.dedent(body))
    fields: dict[str, object] = {
        "name": name,
        "version": "1.0.0",
        "entry": f"{package.name}.plugin:Extension",
    }
    fields.update(manifest)
    (package / "extension.yaml").write_text(yaml.safe_dump(fields, sort_keys=False))
    return pack(package, out_dir=out_dir or root / "archives")


@dataclass
class Entry:
    """One entry of a hand-written zip."""

    name: str | bytes
    data: bytes = b""
    method: int = 0  # 0 stored, 8 deflated, anything else as given
    mode: int = 0o100644  # Unix mode in the high bits of external_attr
    create_system: int = 3
    flags: int = 0
    extra: bytes = b""  # central directory extra field
    local_extra: bytes = b""
    local_name: str | bytes | None = None  # a different name in the local header
    declared_size: int | None = None  # the uncompressed size the headers claim
    compressed_size: int | None = None  # the compressed size the central dir claims
    header_of: int | None = None  # point at another entry's local header
    crc: int | None = None

    def raw_name(self) -> bytes:
        return self.name.encode() if isinstance(self.name, str) else self.name


def raw_zip(entries: list[Entry]) -> bytes:
    out = bytearray()
    central = bytearray()
    offsets: list[int] = []
    for entry in entries:
        name = entry.raw_name()
        local_name = entry.local_name
        lname = (
            name
            if local_name is None
            else (local_name.encode() if isinstance(local_name, str) else local_name)
        )
        if entry.method == 8:
            packer = zlib.compressobj(6, zlib.DEFLATED, -15)
            payload = packer.compress(entry.data) + packer.flush()
        else:
            payload = entry.data
        crc = entry.crc if entry.crc is not None else zlib.crc32(entry.data)
        size = (
            entry.declared_size if entry.declared_size is not None else len(entry.data)
        )
        csize = len(payload)
        flags = entry.flags | 0x800  # names are UTF-8
        offset = len(out)
        offsets.append(offset)
        out += struct.pack(
            "<4sHHHHHIIIHH",
            b"PK\x03\x04",
            20,
            flags,
            entry.method,
            0,
            0x21,
            crc,
            csize,
            size,
            len(lname),
            len(entry.local_extra),
        )
        out += lname + entry.local_extra + payload
        header = offsets[entry.header_of] if entry.header_of is not None else offset
        central += struct.pack(
            "<4sHHHHHHIIIHHHHHII",
            b"PK\x01\x02",
            (entry.create_system << 8) | 20,
            20,
            flags,
            entry.method,
            0,
            0x21,
            crc,
            entry.compressed_size if entry.compressed_size is not None else csize,
            size,
            len(name),
            len(entry.extra),
            0,
            0,
            0,
            (entry.mode << 16) & 0xFFFFFFFF,
            header,
        )
        central += name + entry.extra
    start = len(out)
    out += central
    out += struct.pack(
        "<4sHHHHIIH",
        b"PK\x05\x06",
        0,
        0,
        len(entries),
        len(entries),
        len(central),
        start,
        0,
    )
    return bytes(out)


MANIFEST = {
    "name": "victim",
    "version": "1.0.0",
    "entry": "victim.plugin:Extension",
}
PLUGIN = b"class Extension:\n    pass\n"


@dataclass
class Archive:
    """A valid-looking archive: the manifest (with digests) plus ``members``.

    ``digests`` overrides the computed ``files`` table; ``manifest`` overrides
    fields (``None`` drops one).
    """

    members: list[Entry] = field(
        default_factory=lambda: [
            Entry("victim/__init__.py", b""),
            Entry("victim/plugin.py", PLUGIN),
        ]
    )
    manifest: dict[str, object] = field(default_factory=dict)
    digests: dict[str, str] | None = None
    manifest_name: str = "extension.yaml"
    manifest_method: int = 0

    def build(self) -> bytes:
        fields = {**MANIFEST, **self.manifest}
        fields = {k: v for k, v in fields.items() if v is not None}
        if self.digests is None:
            files = {
                e.name: hashlib.sha256(e.data).hexdigest()
                for e in self.members
                if isinstance(e.name, str) and not e.name.endswith("/")
            }
        else:
            files = self.digests
        if files:
            fields["files"] = files
        text = yaml.safe_dump(fields, sort_keys=False).encode()
        head = Entry(self.manifest_name, text, method=self.manifest_method)
        return raw_zip([head, *self.members])


def folder_snapshot(folder: Path) -> list[tuple[str, int, str]]:
    """Every file and folder below ``folder``: path, mode, content digest."""
    found = []
    for path in sorted(folder.rglob("*")):
        st = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
        found.append((str(path.relative_to(folder)), st.st_mode, digest))
    return found


def store_snapshot(database: Path) -> list[str]:
    """The whole SQLite store as SQL statements."""
    conn = sqlite3.connect(database)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()
