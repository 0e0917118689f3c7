"""``ext-host ext`` as an operator and an extension developer use it: real
subprocesses, exact output, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from extkit import write_extension
from stackkit import REPO

from ext_host import hookspecs


@pytest.fixture
def run(tmp_path):
    def call(*args: str, env: dict[str, str] | None = None, cwd: Path = REPO):
        cmd = [
            sys.executable,
            "-m",
            "ext_host.cli",
            "--data-dir",
            str(tmp_path / "data"),
            "--extensions-dir",
            str(tmp_path / "ext"),
            *args,
        ]
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("EXT_HOST")}
        full_env.update(env or {})
        return subprocess.run(
            cmd, capture_output=True, text=True, cwd=cwd, env=full_env, timeout=60
        )

    return call


def test_list_shows_name_version_state_source_message_hooks(run, tmp_path):
    folder = tmp_path / "ext"
    assert run("ext", "pack", str(REPO / "examples" / "ext_hello")).returncode == 0
    (folder / "broken.ext").write_text("not a zip")
    listed = run("ext", "list")
    assert (listed.returncode, listed.stderr) == (0, "")
    assert listed.stdout == (
        f"hello 1.0.0  loaded  {folder / 'hello.ext'}\n"
        f"    hooks: {', '.join(sorted(hookspecs.HOOK_NAMES))}\n"
        f"broken -  failed  {folder / 'broken.ext'}\n"
        "    message: broken.ext: not a zip archive; build it with `ext-host ext pack`\n"
    )
    data = json.loads(run("ext", "list", "--json").stdout)
    assert data == {
        "extensions": [
            {
                "name": "hello",
                "version": "1.0.0",
                "alias": "Hello 你好",
                "source": str(folder / "hello.ext"),
                "state": "loaded",
                "message": "",
                "priority": 200,
                "hooks": sorted(hookspecs.HOOK_NAMES),
            },
            {
                "name": "broken",
                "version": "",
                "alias": "",
                "source": str(folder / "broken.ext"),
                "state": "failed",
                "message": "broken.ext: not a zip archive; build it with "
                "`ext-host ext pack`",
                "priority": 100,
                "hooks": [],
            },
        ],
        "conflicts": [],
    }


def test_disable_enable_remove_and_purge_survive_restarts(run, tmp_path):
    run("ext", "pack", str(REPO / "examples" / "ext_hello"))
    run("options", "set", "hello", "greeting=Hi")

    disabled = run("ext", "disable", "hello")
    assert disabled.stdout == "disabled hello; restart the host for it to take effect\n"
    state = json.loads(run("ext", "list", "--json").stdout)["extensions"][0]
    assert (state["state"], state["message"]) == (
        "disabled",
        "disabled by the operator",
    )
    assert run("ext", "enable", "hello").returncode == 0
    assert (
        json.loads(run("ext", "list", "--json").stdout)["extensions"][0]["state"]
        == "loaded"
    )

    removed = run("ext", "remove", "hello")
    assert removed.stdout.startswith("removed hello (its settings are kept);")
    assert run("ext", "list").stdout == f"no extensions in {tmp_path / 'ext'}\n"
    run("ext", "pack", str(REPO / "examples" / "ext_hello"))
    assert run("hello", "Bo").stdout == "Hi, Bo!\n"

    purged = run("ext", "remove", "hello", "--purge")
    assert purged.stdout.startswith("removed hello (its settings were deleted);")
    run("ext", "pack", str(REPO / "examples" / "ext_hello"))
    assert run("hello", "Bo").stdout == "Hello, Bo!\n"

    unknown = run("ext", "disable", "nope")
    assert (unknown.returncode, unknown.stderr) == (
        1,
        "error: no extension 'nope'; extensions: hello\n",
    )


def test_load_env_limits_what_loads(run, tmp_path):
    run("ext", "pack", str(REPO / "examples" / "ext_hello"))
    none = run("ext", "list", "--json", env={"EXT_HOST_LOAD_EXTENSIONS": ""})
    [record] = json.loads(none.stdout)["extensions"]
    assert (record["state"], record["message"]) == (
        "disabled",
        "not named in EXT_HOST_LOAD_EXTENSIONS",
    )
    only = run("ext", "list", "--json", env={"EXT_HOST_LOAD_EXTENSIONS": "hello"})
    assert json.loads(only.stdout)["extensions"][0]["state"] == "loaded"


def test_new_scaffolds_a_project_that_packs_checks_loads_and_tests(run, tmp_path):
    created = run("ext", "new", "hello-world", "--dir", str(tmp_path))
    project = tmp_path / "hello-world"
    package = project / "ext_hello_world"
    assert created.stdout == (f"created {project}\nnext: ext-host ext pack {package}\n")
    assert sorted(
        str(p.relative_to(project)) for p in project.rglob("*") if p.is_file()
    ) == [
        "README.md",
        "ext_hello_world/__init__.py",
        "ext_hello_world/extension.yaml",
        "ext_hello_world/plugin.py",
        "pyproject.toml",
        "tests/test_plugin.py",
    ]
    packed = run("ext", "pack", str(package), "-o", str(tmp_path / "hw.ext"))
    assert packed.returncode == 0, packed.stderr
    checked = run("ext", "check", str(tmp_path / "hw.ext"))
    assert checked.stdout.startswith("ok: hello-world 0.1.0, 2 files, sha256 ")
    uploaded = run("ext", "upload", str(tmp_path / "hw.ext"))
    assert uploaded.stdout.startswith(
        f"installed hello-world 0.1.0 as {tmp_path / 'ext' / 'hello-world.ext'};"
    )
    assert run("hello-world").stdout == "Hello\n"
    [record] = json.loads(run("ext", "list", "--json").stdout)["extensions"]
    assert (record["state"], record["hooks"]) == (
        "loaded",
        ["cli_commands", "option_panels", "startup"],
    )
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr

    again = run("ext", "new", "hello-world", "--dir", str(tmp_path))
    assert (again.returncode, again.stderr) == (
        1,
        f"error: {project} already exists; choose another name or folder\n",
    )
    bad = run("ext", "new", "Hello World", "--dir", str(tmp_path))
    assert bad.stderr == (
        "error: extension name 'Hello World': use 1-60 lower-case letters, digits, "
        "'-' or '_', starting with a letter\n"
    )


def test_check_and_upload_refuse_with_one_line_and_exit_1(run, tmp_path):
    bad = tmp_path / "bad.ext"
    bad.write_bytes(b"junk")
    for command in ("check", "upload"):
        result = run("ext", command, str(bad))
        assert (result.returncode, result.stdout, result.stderr) == (
            1,
            "",
            "error: bad.ext: not a zip archive; build it with `ext-host ext pack`\n",
        )
    assert not (tmp_path / "ext").exists() or list((tmp_path / "ext").iterdir()) == []


def test_an_installed_distribution_is_discovered_by_its_entry_point(
    make_host, tmp_path, monkeypatch
):
    """What `pip install -e` leaves: a dist-info with entry_points.txt on
    sys.path, and the package folder (with its manifest) importable."""
    site = tmp_path / "site"
    write_extension(site, "devext", out_dir=tmp_path / "unused")
    info = site / "ext_devext-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: ext-devext\nVersion: 0.1\n"
    )
    (info / "entry_points.txt").write_text(
        "[ext_host.extensions]\ndevext = ext_devext.plugin:Extension\n"
    )
    monkeypatch.syspath_prepend(str(site))
    host = make_host()
    record = host.extensions["devext"]
    assert (record.state, record.source, record.code_dir) == (
        "loaded",
        "entry point devext (ext-devext)",
        site,
    )
