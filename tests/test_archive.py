"""Packing and unpacking: digests recorded, the same sources give the same
bytes, containment compared by component, the cache pruned by exact name."""

from __future__ import annotations

import os
import zipfile

import pytest
import yaml
from extkit import write_extension
from stackkit import REPO

from ext_host.archive import check, extract, file_sha256, is_inside, pack
from ext_host.errors import ArchiveError
from ext_host.loader import prune_cache


def test_pack_records_a_digest_for_every_file_and_is_reproducible(tmp_path):
    one = pack(REPO / "examples" / "ext_hello", out_dir=tmp_path / "a")
    two = pack(REPO / "examples" / "ext_hello", out_dir=tmp_path / "b")
    assert one.read_bytes() == two.read_bytes()
    with zipfile.ZipFile(one) as zf:
        names = zf.namelist()
        manifest = yaml.safe_load(zf.read("extension.yaml"))
    assert names == ["extension.yaml", "ext_hello/__init__.py", "ext_hello/plugin.py"]
    assert manifest["files"] == {
        name: file_sha256(REPO / "examples" / name) for name in names[1:]
    }


def test_pack_skips_caches_and_hidden_files_and_refuses_symlinks(tmp_path):
    archive = write_extension(tmp_path, "demo")
    package = tmp_path / "ext_demo"
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "plugin.cpython-311.pyc").write_bytes(b"x")
    (package / ".secret").write_text("x")
    again = pack(package, out_dir=tmp_path / "again")
    assert again.read_bytes() == archive.read_bytes()

    (package / "link.py").symlink_to(package / "plugin.py")
    with pytest.raises(ArchiveError) as info:
        pack(package, out_dir=tmp_path / "x")
    assert str(info.value) == (
        f"{package / 'link.py'}: symlinks cannot be packed; copy the file"
    )


def test_is_inside_compares_components_not_prefixes(tmp_path):
    root = tmp_path / "ext-cache" / "demo"
    assert is_inside(root, root / "pkg" / "a.py")
    assert not is_inside(root, tmp_path / "ext-cache" / "demo-evil" / "a.py")
    assert not is_inside(root, tmp_path / "ext-cache" / "demo2")
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "out").symlink_to(tmp_path)
    assert not is_inside(root, root / "pkg" / "out" / "x")


def test_extract_is_all_or_nothing_and_keeps_a_finished_copy(tmp_path):
    archive = write_extension(tmp_path / "src", "demo")
    target = tmp_path / "cache" / "demo-0123456789abcdef"
    info = extract(archive, target)
    assert sorted(p.name for p in target.rglob("*") if p.is_file()) == [
        "__init__.py",
        "extension.yaml",
        "plugin.py",
    ]
    marker = target / "marker"
    marker.write_text("first")
    extract(archive, target)  # a second process finishing later keeps the first copy
    assert marker.read_text() == "first"
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]
    assert info.sha256 == file_sha256(archive)


def test_prune_keeps_the_newest_versions_and_never_a_siblings(tmp_path):
    cache = tmp_path / "cache"
    names = [f"demo-{i:016x}" for i in range(5)] + [
        "demo-extra-0000000000000000",
        "demo2-0000000000000000",
    ]
    for age, name in enumerate(names):
        (cache / name).mkdir(parents=True)
        os.utime(cache / name, (1000 + age, 1000 + age))
    keep = cache / "demo-0000000000000000"
    prune_cache(cache, "demo", keep=keep)
    assert sorted(p.name for p in cache.iterdir()) == [
        "demo-0000000000000000",
        "demo-0000000000000003",
        "demo-0000000000000004",
        "demo-extra-0000000000000000",
        "demo2-0000000000000000",
    ]


def test_check_names_the_upload_not_the_staged_file(tmp_path):
    staged = tmp_path / "1234-5678.ext.part"
    staged.write_bytes(b"junk")
    with pytest.raises(ArchiveError) as info:
        check(staged, source="wecom.ext")
    assert str(info.value) == (
        "wecom.ext: not a zip archive; build it with `ext-host ext pack`"
    )
