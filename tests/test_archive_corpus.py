"""The hostile-archive corpus: each archive is refused with its exact message,
the extension folder and the store are left exactly as they were, and the
host keeps serving.

Each case is uploaded through ``install_archive`` (the service behind both
``ext-host ext upload`` and the config page) to a running host with the
hello example loaded, then checked again with ``archive.check`` (what
``ext-host ext check`` runs) and by dropping it into a folder the loader
scans.
"""

from __future__ import annotations

import hashlib
import stat
import zipfile
from pathlib import Path

import pytest
import requests
from extkit import Archive, Entry, folder_snapshot, raw_zip, store_snapshot
from stackkit import REPO

from ext_host.archive import Limits, check, pack
from ext_host.config import DEFAULT_CONFIG, load_config
from ext_host.errors import HostError
from ext_host.host import Host
from ext_host.install import install_archive
from ext_host.web import start_server

LIMITS = Limits(entries=50, bytes=100_000)
PLUGIN = b"class Extension:\n    pass\n"


def unix_extra_with_link(target: bytes) -> bytes:
    """PKWARE's Unix extra field (0x000d) whose variable part names a link."""
    body = b"\0" * 12 + target
    return (0x000D).to_bytes(2, "little") + len(body).to_bytes(2, "little") + body


def members(*extra: Entry) -> list[Entry]:
    return [Entry("victim/__init__.py", b""), Entry("victim/plugin.py", PLUGIN), *extra]


def archive(*extra: Entry, **kwargs: object) -> bytes:
    return Archive(members=members(*extra), **kwargs).build()  # type: ignore[arg-type]


def overlapping() -> bytes:
    entries = members(
        Entry("victim/a.py", b"a = 1\n"), Entry("victim/b.py", b"a = 1\n")
    )
    entries[3].header_of = 3  # b's central entry points at a's bytes (the
    # manifest is entry 0 of the zip, so a is entry 3)
    return Archive(members=entries).build()


def header_lies_about_size() -> bytes:
    big = b"0" * 5000
    return Archive(
        members=members(Entry("victim/big.py", big, method=8, declared_size=10))
    ).build()


def bomb() -> bytes:
    return archive(Entry("victim/zeros.py", b"0" * 200_000, method=8))


def too_many_entries() -> bytes:
    return archive(*[Entry(f"victim/m{i}.py", b"") for i in range(49)])


def too_big_on_disk() -> bytes:
    noise = hashlib.sha512(b"seed").digest() * 1700  # ~108 KB stored
    return archive(Entry("victim/noise.bin", noise))


def modified() -> bytes:
    entries = members()
    digests = {
        "victim/__init__.py": hashlib.sha256(b"").hexdigest(),
        "victim/plugin.py": hashlib.sha256(b"original\n").hexdigest(),
    }
    return Archive(members=entries, digests=digests).build()


def listed_but_missing() -> bytes:
    digests = {
        "victim/__init__.py": hashlib.sha256(b"").hexdigest(),
        "victim/plugin.py": hashlib.sha256(PLUGIN).hexdigest(),
        "victim/gone.py": hashlib.sha256(b"").hexdigest(),
    }
    return Archive(members=members(), digests=digests).build()


def not_in_manifest() -> bytes:
    digests = {
        "victim/__init__.py": hashlib.sha256(b"").hexdigest(),
        "victim/plugin.py": hashlib.sha256(PLUGIN).hexdigest(),
    }
    return Archive(
        members=members(Entry("victim/extra.py", b"x = 1\n")), digests=digests
    ).build()


def truncated() -> bytes:
    good = archive()
    return good[: len(good) // 2]


def local_name_differs() -> bytes:
    return archive(Entry("victim/a.py", b"a = 1\n", local_name="victim/x.py"))


def data_past_end() -> bytes:
    return archive(Entry("victim/a.py", b"a = 1\n", compressed_size=10_000_000))


DEVICE = stat.S_IFCHR | 0o644
EVIL = "evil.ext"

#: (case id, archive bytes, the exact refusal)
CORPUS: list[tuple[str, bytes, str]] = [
    (
        "not-a-zip",
        b"this is not a zip archive",
        "evil.ext: not a zip archive; build it with `ext-host ext pack`",
    ),
    (
        "empty-file",
        b"",
        "evil.ext: not a zip archive; build it with `ext-host ext pack`",
    ),
    (
        "truncated",
        truncated(),
        "evil.ext: not a zip archive; build it with `ext-host ext pack`",
    ),
    (
        "absolute-path",
        archive(Entry("/etc/cron.d/evil", b"x")),
        "evil.ext: entry '/etc/cron.d/evil' refused: absolute path",
    ),
    (
        "double-slash-absolute",
        archive(Entry("//server/share/x.py", b"x")),
        "evil.ext: entry '//server/share/x.py' refused: absolute path",
    ),
    (
        "drive-prefix",
        archive(Entry("C:/Windows/evil.py", b"x")),
        "evil.ext: entry 'C:/Windows/evil.py' refused: drive prefix",
    ),
    (
        "drive-relative",
        archive(Entry("c:evil.py", b"x")),
        "evil.ext: entry 'c:evil.py' refused: drive prefix",
    ),
    (
        "unc-name",
        archive(Entry("\\\\server\\share\\evil.py", b"x")),
        "evil.ext: entry '\\\\\\\\server\\\\share\\\\evil.py' refused: backslash in "
        "name (Windows or UNC path)",
    ),
    (
        "backslash-dotdot",
        archive(Entry("victim\\..\\..\\evil.py", b"x")),
        "evil.ext: entry 'victim\\\\..\\\\..\\\\evil.py' refused: backslash in name "
        "(Windows or UNC path)",
    ),
    (
        "dotdot",
        archive(Entry("victim/../../evil.py", b"x")),
        "evil.ext: entry 'victim/../../evil.py' refused: '..' component",
    ),
    (
        "sibling-prefix-escape",
        archive(Entry("../victim-evil/plugin.py", b"x")),
        "evil.ext: entry '../victim-evil/plugin.py' refused: '..' component",
    ),
    (
        "sibling-prefix-escape-deep",
        archive(Entry("victim/../../victim2/plugin.py", b"x")),
        "evil.ext: entry 'victim/../../victim2/plugin.py' refused: '..' component",
    ),
    (
        "dot-component",
        archive(Entry("victim/./x.py", b"x")),
        "evil.ext: entry 'victim/./x.py' refused: empty or '.' component",
    ),
    (
        "empty-component",
        archive(Entry("victim//x.py", b"x")),
        "evil.ext: entry 'victim//x.py' refused: empty or '.' component",
    ),
    (
        "nul-in-name",
        archive(Entry("victim/a\x00.py", b"x")),
        "evil.ext: entry 'victim/a\\x00.py' refused: NUL character in name",
    ),
    (
        "control-character",
        archive(Entry("victim/a\n.py", b"x")),
        "evil.ext: entry 'victim/a\\n.py' refused: control character in name",
    ),
    (
        "empty-name",
        archive(Entry("", b"x")),
        "evil.ext: entry '' refused: empty name",
    ),
    (
        "long-component",
        archive(Entry("victim/" + "a" * 256 + ".py", b"x")),
        f"evil.ext: entry {'victim/' + 'a' * 256 + '.py'!r} refused: a name "
        "component is longer than 255 bytes",
    ),
    (
        "duplicate-name",
        archive(Entry("victim/plugin.py", b"evil = 1\n")),
        "evil.ext: entry 'victim/plugin.py' refused: duplicate name",
    ),
    (
        "case-collision",
        archive(Entry("victim/PLUGIN.py", b"x")),
        "evil.ext: entry 'victim/PLUGIN.py' refused: name collides with "
        "'victim/plugin.py' ignoring case",
    ),
    (
        "unicode-collision",
        archive(
            Entry("victim/caf\u00e9.py", b"x"), Entry("victim/cafe\u0301.py", b"x")
        ),
        "evil.ext: entry 'victim/cafe\u0301.py' refused: name is "
        "'victim/caf\u00e9.py' written in another Unicode form",
    ),
    (
        "manifest-case-collision",
        archive(Entry("EXTENSION.yaml", b"name: other\n")),
        "evil.ext: entry 'EXTENSION.yaml' refused: name collides with "
        "'extension.yaml' ignoring case",
    ),
    (
        "file-used-as-folder",
        archive(Entry("victim/lib", b"x"), Entry("victim/lib/evil.py", b"x")),
        "evil.ext: entry 'victim/lib/evil.py' refused: 'victim/lib' is a file, not "
        "a folder",
    ),
    (
        "symlink",
        archive(Entry("victim/link.py", b"/etc/passwd", mode=stat.S_IFLNK | 0o777)),
        "evil.ext: entry 'victim/link.py' refused: symlink",
    ),
    (
        "hardlink-extra-field",
        archive(
            Entry("victim/hard.py", b"", extra=unix_extra_with_link(b"/etc/shadow"))
        ),
        "evil.ext: entry 'victim/hard.py' refused: hardlink or symlink (link target "
        "in the Unix extra field)",
    ),
    (
        "hardlink-in-local-header-only",
        archive(
            Entry("victim/hard.py", b"", local_extra=unix_extra_with_link(b"/etc/x"))
        ),
        "evil.ext: entry 'victim/hard.py' refused: hardlink or symlink (link target "
        "in the Unix extra field)",
    ),
    (
        "character-device",
        archive(Entry("victim/tty", b"", mode=DEVICE)),
        "evil.ext: entry 'victim/tty' refused: device",
    ),
    (
        "block-device",
        archive(Entry("victim/sda", b"", mode=stat.S_IFBLK | 0o644)),
        "evil.ext: entry 'victim/sda' refused: device",
    ),
    (
        "fifo",
        archive(Entry("victim/pipe", b"", mode=stat.S_IFIFO | 0o644)),
        "evil.ext: entry 'victim/pipe' refused: special file",
    ),
    (
        "encrypted",
        archive(Entry("victim/secret.py", b"x", flags=0x1)),
        "evil.ext: entry 'victim/secret.py' refused: encrypted",
    ),
    (
        "unknown-compression",
        archive(Entry("victim/b.py", b"x", method=12)),
        "evil.ext: entry 'victim/b.py' refused: compression method 12 (only stored "
        "and deflated are accepted; re-pack with `ext-host ext pack`)",
    ),
    (
        "overlapping-entries",
        overlapping(),
        "evil.ext: entry 'victim/b.py' refused: overlaps entry 'victim/a.py'",
    ),
    (
        "data-past-end",
        data_past_end(),
        "evil.ext: entry 'victim/a.py' refused: its data runs past the end of the "
        "archive",
    ),
    (
        "local-name-differs",
        local_name_differs(),
        "evil.ext: corrupt archive (File name in directory 'victim/a.py' and "
        "header b'victim/x.py' differ.)",
    ),
    (
        "too-many-entries",
        too_many_entries(),
        "evil.ext: 52 entries, more than the limit of 50 (archive_limits.entries "
        "in host.yaml)",
    ),
    (
        "zip-bomb-counted-as-read",
        bomb(),
        "evil.ext: more than 100000 bytes uncompressed (archive_limits.bytes in "
        "host.yaml)",
    ),
    (
        "header-understates-size",
        header_lies_about_size(),
        "evil.ext: corrupt archive (Bad CRC-32 for file 'victim/big.py')",
    ),
    (
        "archive-too-big",
        too_big_on_disk(),
        f"evil.ext: {len(too_big_on_disk())} bytes, more than the limit of 100000 "
        "(archive_limits.bytes in host.yaml)",
    ),
    (
        "modified-file",
        modified(),
        "evil.ext: modified: 'victim/plugin.py' does not match its SHA-256 in the "
        "manifest",
    ),
    (
        "listed-but-missing",
        listed_but_missing(),
        "evil.ext: modified: 'victim/gone.py' is listed in the manifest but missing",
    ),
    (
        "file-not-in-manifest",
        not_in_manifest(),
        "evil.ext: modified: 'victim/extra.py' is not in the manifest",
    ),
    (
        "no-digests",
        Archive(members=members(), digests={}).build(),
        "evil.ext: extension.yaml: no 'files' digests; re-pack the extension with "
        "`ext-host ext pack`",
    ),
    (
        "no-manifest",
        raw_zip(members()),
        "evil.ext: no extension.yaml at the archive root; pack the extension with "
        "`ext-host ext pack`",
    ),
    (
        "manifest-in-a-folder",
        Archive(members=members(), manifest_name="victim/extension.yaml").build(),
        "evil.ext: no extension.yaml at the archive root; pack the extension with "
        "`ext-host ext pack`",
    ),
    (
        "invalid-manifest",
        archive(manifest={"version": None}),
        "evil.ext: extension.yaml: field 'version' is required; use a version such "
        "as 1.0.0",
    ),
    (
        "huge-manifest",
        Archive(
            members=members(),
            manifest={"description": "x" * 300_000},
            manifest_method=8,
        ).build(),
        "evil.ext: extension.yaml is larger than 256 KiB",
    ),
    (
        "outside-the-package",
        archive(Entry("other/evil.py", b"x")),
        "evil.ext: entry 'other/evil.py' refused: outside the extension's package "
        "'victim' (and not under static/)",
    ),
    (
        "wrong-host-version",
        archive(manifest={"host": ">=9"}),
        "evil.ext: victim 1.0.0 requires host >=9, this host is 0.1.0; install a "
        "version of the extension made for this host",
    ),
]


def test_the_corpus_is_large_and_its_cases_distinct():
    assert len(CORPUS) >= 30
    assert len({case for case, _, _ in CORPUS}) == len(CORPUS)
    assert len({data for _, data, _ in CORPUS}) == len(CORPUS)


@pytest.fixture(scope="module")
def serving(tmp_path_factory):
    """A running host with the hello example and its web server, shared by the
    corpus (each case must leave it as it found it)."""
    root = tmp_path_factory.mktemp("corpus")
    ext_dir = root / "ext"
    pack(REPO / "examples" / "ext_hello", out_dir=ext_dir)
    config = load_config(
        DEFAULT_CONFIG,
        env={},
        data_dir=root / "data",
        extensions_dir=ext_dir,
        max_archive_entries=LIMITS.entries,
        max_archive_bytes=LIMITS.bytes,
    )
    host = Host(config).start()
    server = start_server(host)
    yield host, server
    server.stop()
    host.stop()


@pytest.mark.parametrize(
    ("data", "message"),
    [(data, message) for _, data, message in CORPUS],
    ids=[case for case, _, _ in CORPUS],
)
def test_hostile_upload_is_refused_and_changes_nothing(serving, data, message):
    host, server = serving
    folder = host.config.extensions_dir
    before = folder_snapshot(folder), store_snapshot(host.config.database)

    with pytest.raises(HostError) as info:
        install_archive(host.config, data, EVIL, host=host)

    assert str(info.value) == message
    assert (folder_snapshot(folder), store_snapshot(host.config.database)) == before
    assert [r.name for r in host.loaded()] == ["hello"]
    page = requests.get(f"{server.url}/hello/corpus", timeout=10)
    assert (page.status_code, "Hello, corpus!" in page.text) == (200, True)


@pytest.mark.parametrize(
    ("data", "message"),
    [(d, m) for case, d, m in CORPUS if case not in ("wrong-host-version",)],
    ids=[case for case, _, _ in CORPUS if case != "wrong-host-version"],
)
def test_check_refuses_with_the_same_message(tmp_path, data, message):
    path = tmp_path / EVIL
    path.write_bytes(data)
    with pytest.raises(HostError) as info:
        check(path, LIMITS)
    assert str(info.value) == message
    assert sorted(p.name for p in tmp_path.iterdir()) == [EVIL]


def test_a_hostile_archive_in_the_folder_is_failed_and_the_rest_load(make_host):
    host = make_host(max_archive_entries=50, max_archive_bytes=100_000)
    folder = host.config.extensions_dir
    host.stop()
    pack(REPO / "examples" / "ext_hello", out_dir=folder)
    for case, data, _ in CORPUS[3:12]:
        (folder / f"{case}.ext").write_bytes(data)
    again = make_host(
        data_dir=host.config.data_dir,
        extensions_dir=folder,
        max_archive_entries=50,
        max_archive_bytes=100_000,
    )
    states = {name: (r.state, r.message) for name, r in again.extensions.items()}
    assert states.pop("hello") == ("loaded", "")
    expected = {
        case: ("failed", message.replace("evil.ext", f"{case}.ext"))
        for case, _, message in CORPUS[3:12]
    }
    assert states == expected
    # Nothing of a refused archive was unpacked.
    assert [p.name for p in again.cache_dir.iterdir() if "hello" not in p.name] == []


def test_zipfile_itself_reads_the_hand_written_archives(tmp_path):
    """The corpus builder writes zips zipfile accepts, so each refusal is ours."""
    path = tmp_path / "ok.ext"
    path.write_bytes(archive())
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
    assert check(path, LIMITS).manifest.name == "victim"


def test_check_of_a_good_hand_written_archive_names_its_files(tmp_path):
    path = Path(tmp_path) / "victim.ext"
    path.write_bytes(archive())
    info = check(path)
    assert info.files == ("victim/__init__.py", "victim/plugin.py")
