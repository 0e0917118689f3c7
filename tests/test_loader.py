"""Discovery and loading: archives in the folder, broken ones recorded, the host
still starts."""

import zipfile

from ext_host.loader import discover_archives


def test_wecom_loads_from_its_archive(make_host, wecom_archive):
    host = make_host([wecom_archive])
    record = host.extensions["wecom"]
    assert (record.state, record.version, record.message) == ("loaded", "1.0.0", "")
    assert record.hooks == [
        "cli_commands",
        "http_routes",
        "menu_items",
        "option_panels",
        "serving",
        "shutdown",
        "sign_in_url",
        "startup",
        "user_fields",
    ]
    assert [p.name for _, p in host.options.panels()] == ["wecom"]
    assert record.code_dir.is_relative_to(host.config.data_dir / "ext-cache")


def test_not_a_zip_is_listed_as_failed_and_the_host_starts(
    make_host, tmp_path, wecom_archive
):
    ext_dir = tmp_path / "ext"
    ext_dir.mkdir()
    (ext_dir / "broken.ext").write_text("this is not a zip")
    host = make_host([wecom_archive], extensions_dir=ext_dir)
    assert host.extensions["broken"].state == "failed"
    assert host.extensions["broken"].message == (
        "broken.ext: not a zip archive; build it with `ext-host ext pack`"
    )
    assert host.extensions["wecom"].state == "loaded"


def test_archive_without_manifest_fails(make_host, tmp_path):
    ext_dir = tmp_path / "ext"
    ext_dir.mkdir()
    with zipfile.ZipFile(ext_dir / "empty.ext", "w") as zf:
        zf.writestr("pkg/__init__.py", "")
    host = make_host(extensions_dir=ext_dir)
    assert host.extensions["empty"].message == (
        "empty.ext: no extension.yaml at the archive root; pack the extension with "
        "`ext-host ext pack`"
    )


def test_archive_with_invalid_manifest_fails(make_host, tmp_path):
    ext_dir = tmp_path / "ext"
    ext_dir.mkdir()
    with zipfile.ZipFile(ext_dir / "bad.ext", "w") as zf:
        zf.writestr("extension.yaml", "name: bad\nentry: bad.plugin\n")
    host = make_host(extensions_dir=ext_dir)
    assert host.extensions["bad"].state == "failed"
    assert host.extensions["bad"].message == (
        "bad.ext: extension.yaml: field 'version' is required; use a version such as 1.0.0"
    )


def test_discovery_ignores_hidden_partial_and_other_files(tmp_path, wecom_archive):
    (tmp_path / ".hidden.ext").write_bytes(b"")
    (tmp_path / "upload.ext.part").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "wecom.ext").write_bytes(wecom_archive.read_bytes())
    (tmp_path / "alias.ext").symlink_to(tmp_path / "wecom.ext")
    assert [p.name for p in discover_archives(tmp_path)] == ["wecom.ext"]


def test_warm_start_reuses_the_unpacked_copy(make_host, wecom_archive):
    first = make_host([wecom_archive])
    code_dir = first.extensions["wecom"].code_dir
    marker = code_dir / "marker"
    marker.write_text("kept")
    first.stop()
    again = make_host(
        data_dir=first.config.data_dir, extensions_dir=first.config.extensions_dir
    )
    assert again.extensions["wecom"].code_dir == code_dir
    assert marker.read_text() == "kept"
