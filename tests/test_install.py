"""Installing uploads: staged privately, validated, moved into place in one step.

The running host keeps the version it loaded until it reloads; a failed
upload leaves the folder as it was; a process killed between staging and the
move leaves the old or the new archive, never neither.
"""

from __future__ import annotations

import io
import os
import signal
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from extkit import folder_snapshot, write_extension
from stackkit import REPO

from ext_host.archive import pack
from ext_host.errors import ArchiveError, NotFound
from ext_host.install import PAUSE_ENV, STAGING, install_archive

BODY = """
from ext_host.api import Panel

class Extension:
    @hookimpl
    def option_panels(self, host):
        return [Panel("demo", "Demo {version}", {{"type": "object", "properties": {{}}}})]
"""


def demo(tmp_path: Path, version: str, **manifest: object) -> Path:
    return write_extension(
        tmp_path / f"src-{version}",
        "demo",
        BODY.format(version=version),
        out_dir=tmp_path / f"built-{version}",
        version=version,
        **manifest,
    )


def tampered(archive: Path) -> bytes:
    """``archive`` with its plugin changed after packing (manifest untouched)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(archive) as src, zipfile.ZipFile(buffer, "w") as out:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith("plugin.py"):
                data = data.replace(b"Demo", b"Evil")
            out.writestr(info, data)
    return buffer.getvalue()


def labels(host) -> list[str]:
    return [panel.label for _, panel in host.options.panels()]


def test_install_into_an_empty_folder(make_host, tmp_path):
    host = make_host()
    result = install_archive(host.config, demo(tmp_path, "1.0.0").read_bytes(), "x.ext")
    target = host.config.extensions_dir / "demo.ext"
    assert (result.name, result.version, result.path, result.replaced) == (
        "demo",
        "1.0.0",
        target,
        False,
    )
    assert result.message == (
        f"installed demo 1.0.0 as {target}; the running host keeps the version it "
        "loaded: restart the host to load this one"
    )
    assert result.needs == "restart"
    assert sorted(p.name for p in host.config.extensions_dir.iterdir()) == ["demo.ext"]


def test_the_loaded_version_stays_in_use_until_the_host_reloads(make_host, tmp_path):
    host = make_host([demo(tmp_path, "1.0.0")])
    installed = host.config.extensions_dir / "demo.ext"
    old_bytes = installed.read_bytes()

    with pytest.raises(ArchiveError) as info:
        install_archive(host.config, tampered(demo(tmp_path, "2.0.0")), "demo.ext")
    assert str(info.value) == (
        "demo.ext: modified: 'ext_demo/plugin.py' does not match its SHA-256 in "
        "the manifest"
    )
    assert installed.read_bytes() == old_bytes
    assert (host.extensions["demo"].version, labels(host)) == ("1.0.0", ["Demo 1.0.0"])

    result = install_archive(host.config, demo(tmp_path, "2.0.0").read_bytes(), "d.ext")
    assert result.message.startswith(
        f"replaced demo 1.0.0 with 2.0.0 in {installed}; the running host keeps"
    )
    assert (result.replaced, result.previous_version) == (True, "1.0.0")
    assert (host.extensions["demo"].version, labels(host)) == ("1.0.0", ["Demo 1.0.0"])

    reloaded = host.reload()
    assert reloaded.message == "reloaded: demo 1.0.0 -> 2.0.0"
    assert reloaded.restart_needed == []
    assert (host.extensions["demo"].version, labels(host)) == ("2.0.0", ["Demo 2.0.0"])


def test_install_with_the_host_reloads_and_says_so(make_host, tmp_path):
    host = make_host([demo(tmp_path, "1.0.0")])
    result = install_archive(
        host.config, demo(tmp_path, "1.1.0").read_bytes(), "demo.ext", host=host
    )
    target = host.config.extensions_dir / "demo.ext"
    assert result.message == (
        f"replaced demo 1.0.0 with 1.1.0 in {target}; reloaded: demo is loaded; in use"
    )
    assert (result.needs, labels(host)) == ("", ["Demo 1.1.0"])


def test_an_extension_with_routes_needs_a_restart(make_host, tmp_path):
    host = make_host()
    hello = pack(REPO / "examples" / "ext_hello", out_dir=tmp_path / "built")
    result = install_archive(host.config, hello.read_bytes(), "hello.ext", host=host)
    assert result.message == (
        f"installed hello 1.0.0 as {host.config.extensions_dir / 'hello.ext'}; "
        "reloaded: hello is loaded; restart the host to serve its new HTTP routes"
    )
    assert result.needs == "restart"
    assert host.extensions["hello"].state == "loaded"


def test_the_same_archive_again_changes_nothing(make_host, tmp_path):
    archive = demo(tmp_path, "1.0.0")
    host = make_host([archive])
    before = folder_snapshot(host.config.extensions_dir)
    result = install_archive(host.config, archive.read_bytes(), "demo.ext")
    target = host.config.extensions_dir / "demo.ext"
    assert result.message == (
        f"unchanged: {target} already holds demo 1.0.0; nothing to do"
    )
    assert (result.replaced, result.needs) == (False, "")
    assert folder_snapshot(host.config.extensions_dir) == before


def test_a_downgrade_is_named(make_host, tmp_path):
    host = make_host([demo(tmp_path, "2.0.0")])
    result = install_archive(host.config, demo(tmp_path, "1.0.0").read_bytes(), "d.ext")
    assert result.message.startswith(
        f"replaced demo 2.0.0 with 1.0.0 in {host.config.extensions_dir / 'demo.ext'} "
        "(a downgrade); "
    )


def test_the_archive_holding_the_name_is_replaced_whatever_its_file_name(
    make_host, tmp_path
):
    host = make_host()
    folder = host.config.extensions_dir
    (folder / "my-demo.ext").write_bytes(demo(tmp_path, "1.0.0").read_bytes())
    result = install_archive(host.config, demo(tmp_path, "2.0.0").read_bytes(), "d.ext")
    assert result.path == folder / "my-demo.ext"
    assert sorted(p.name for p in folder.iterdir()) == ["my-demo.ext"]


def test_a_file_named_for_another_extension_is_not_overwritten(make_host, tmp_path):
    host = make_host()
    folder = host.config.extensions_dir
    other = write_extension(tmp_path / "o", "other", out_dir=tmp_path / "ob")
    (folder / "demo.ext").write_bytes(other.read_bytes())
    before = folder_snapshot(folder)
    with pytest.raises(ArchiveError) as info:
        install_archive(host.config, demo(tmp_path, "1.0.0").read_bytes(), "demo.ext")
    assert str(info.value) == (
        f"demo.ext: {folder / 'demo.ext'} already holds extension 'other'; rename "
        "or remove it before installing 'demo'"
    )
    assert folder_snapshot(folder) == before


def test_only_ext_files_are_accepted_and_the_name_is_not_a_path(make_host, tmp_path):
    host = make_host()
    with pytest.raises(ArchiveError) as info:
        install_archive(host.config, b"PK", "../../etc/evil.zip")
    assert str(info.value) == (
        "evil.zip: extension archives end in .ext; build one with `ext-host ext pack`"
    )
    data = demo(tmp_path, "1.0.0").read_bytes()
    result = install_archive(host.config, data, "..\\..\\evil.ext")
    assert result.path == host.config.extensions_dir / "demo.ext"


# -- killed mid-way: a real process, SIGKILL at a pause point --------------------


def upload_process(tmp_path: Path, archive: Path, point: str) -> tuple[Any, Path]:
    flag = tmp_path / f"paused-{point}"
    env = {**os.environ, PAUSE_ENV: f"{point}:{flag}"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ext_host.cli",
            "--data-dir",
            str(tmp_path / "data"),
            "--extensions-dir",
            str(tmp_path / "ext"),
            "ext",
            "upload",
            str(archive),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while not flag.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert flag.exists(), proc.communicate()
    return proc, flag


def kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    proc.stdout.close()  # type: ignore[union-attr]
    proc.stderr.close()  # type: ignore[union-attr]


def test_killed_after_staging_leaves_the_old_version(make_host, tmp_path):
    old = demo(tmp_path, "1.0.0")
    host = make_host([old])
    host.stop()
    folder = host.config.extensions_dir
    proc, _ = upload_process(tmp_path, demo(tmp_path, "2.0.0"), "staged")

    staging = folder / STAGING
    st = staging.stat()
    assert stat.S_IMODE(st.st_mode) == 0o700
    assert st.st_dev == folder.stat().st_dev
    [part] = staging.iterdir()
    assert part.name.endswith(".ext.part")
    kill(proc)

    assert (folder / "demo.ext").read_bytes() == old.read_bytes()
    again = make_host(data_dir=host.config.data_dir, extensions_dir=folder)
    assert [(r.name, r.version) for r in again.loaded()] == [("demo", "1.0.0")]

    # The next upload clears what the dead process left behind.
    install_archive(again.config, demo(tmp_path, "1.1.0").read_bytes(), "demo.ext")
    assert sorted(p.name for p in folder.iterdir()) == ["demo.ext"]


def test_killed_after_the_move_leaves_the_new_version(make_host, tmp_path):
    host = make_host([demo(tmp_path, "1.0.0")])
    host.stop()
    folder = host.config.extensions_dir
    new = demo(tmp_path, "2.0.0")
    proc, _ = upload_process(tmp_path, new, "moved")
    kill(proc)

    assert (folder / "demo.ext").read_bytes() == new.read_bytes()
    assert sorted(p.name for p in folder.iterdir()) == [STAGING, "demo.ext"]
    again = make_host(data_dir=host.config.data_dir, extensions_dir=folder)
    assert [(r.name, r.version) for r in again.loaded()] == [("demo", "2.0.0")]


def test_killed_before_anything_existed_leaves_nothing_loadable(make_host, tmp_path):
    host = make_host()
    host.stop()
    folder = host.config.extensions_dir
    proc, _ = upload_process(tmp_path, demo(tmp_path, "1.0.0"), "staged")
    kill(proc)
    assert [p.name for p in folder.iterdir()] == [STAGING]
    again = make_host(data_dir=host.config.data_dir, extensions_dir=folder)
    assert again.extensions == {}


# -- enable, disable, remove -------------------------------------------------------


def test_disable_survives_a_restart_and_enable_restores(make_host, tmp_path):
    from ext_host.install import set_enabled

    host = make_host([demo(tmp_path, "1.0.0")])
    assert set_enabled(host, "demo", False) == (
        "disabled demo; restart the host for it to take effect"
    )
    host.stop()
    again = make_host(
        data_dir=host.config.data_dir, extensions_dir=host.config.extensions_dir
    )
    record = again.extensions["demo"]
    assert (record.state, record.message) == ("disabled", "disabled by the operator")
    assert labels(again) == []
    message = set_enabled(again, "demo", True, reload=True)
    assert message == "enabled demo; reloaded: demo 1.0.0 loaded"
    assert labels(again) == ["Demo 1.0.0"]


def test_unknown_names_are_refused(make_host, tmp_path):
    from ext_host.install import remove_extension, set_enabled

    host = make_host([demo(tmp_path, "1.0.0")])
    with pytest.raises(NotFound) as info:
        set_enabled(host, "nope", False)
    assert str(info.value) == "no extension 'nope'; extensions: demo"
    with pytest.raises(NotFound) as info:
        remove_extension(host, "nope")
    assert str(info.value) == "no extension 'nope'; extensions: demo"


def test_remove_keeps_settings_unless_purged(make_host, tmp_path):
    from ext_host.install import remove_extension

    hello = pack(REPO / "examples" / "ext_hello", out_dir=tmp_path / "built")
    host = make_host([hello])
    host.options.set("hello", {"greeting": "Hi"})
    folder = host.config.extensions_dir

    assert remove_extension(host, "hello") == (
        "removed hello (its settings are kept); restart the host to unload it"
    )
    assert list(folder.iterdir()) == []
    assert host.reload().message == (
        "reloaded: hello removed; restart the host to serve the changed HTTP "
        "routes of hello"
    )
    install_archive(host.config, hello.read_bytes(), "hello.ext", host=host)
    assert host.options.get("hello")["greeting"] == "Hi"

    message = remove_extension(host, "hello", purge=True, reload=True)
    assert message.startswith("removed hello (its settings were deleted); reloaded:")
    install_archive(host.config, hello.read_bytes(), "hello.ext", host=host)
    assert host.options.get("hello")["greeting"] == "Hello"
    code_dir = host.extensions["hello"].code_dir
    unpacked = [p.name for p in host.cache_dir.iterdir() if not p.name.startswith(".")]
    assert unpacked == [code_dir.name]
