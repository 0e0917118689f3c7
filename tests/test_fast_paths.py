"""The speed fixes keep behaviour exact: the CLI's cached command listing, the
warm-start stamp, and the report page's per-user result cache."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from stackkit import MEMBER, REPO

from ext_host.archive import pack
from ext_host.command_cache import CACHE_NAME
from ext_host.config import DEFAULT_CONFIG

PLUGIN = """from ext_host.api import hookimpl


class Plugin:
    version = {version!r}

    @hookimpl
    def startup(self, host):
        pass
"""


def cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "ext_host.cli", "--config", str(DEFAULT_CONFIG)]
    cmd += ["--data-dir", str(tmp_path / "data")]
    cmd += ["--extensions-dir", str(tmp_path / "ext"), *args]
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXT_HOST_")}
    return subprocess.run(
        cmd, capture_output=True, text=True, cwd=REPO, timeout=60, env=env
    )


def listed(help_text: str) -> list[str]:
    commands = help_text.split("Commands:\n", 1)[1]
    return [line.split()[0] for line in commands.splitlines() if line.strip()]


def test_help_lists_extension_commands_from_a_cache(tmp_path, wecom_archive):
    (tmp_path / "ext").mkdir()
    shutil.copy(wecom_archive, tmp_path / "ext" / "wecom.ext")
    first = cli(tmp_path, "--help")
    assert first.returncode == 0, first.stderr
    assert listed(first.stdout) == [
        "demo",
        "ext",
        "options",
        "reports",
        "sandbox",
        "serve",
        "users",
        "push",
        "wecom",
    ]
    assert (
        "push     Push reports to WeCom (推送到企业号) and follow what became of them."
        in first.stdout
    )
    cache = json.loads((tmp_path / "data" / CACHE_NAME).read_text(encoding="utf-8"))
    assert cache["commands"] == {
        "push": "Push reports to WeCom (推送到企业号) and follow what became of them.",
        "wecom": "WeCom: apps, links.",
    }
    # The second listing does not start the host: the unpacked copy it would
    # recreate stays gone, and the output is the same.
    shutil.rmtree(tmp_path / "data" / "ext-cache")
    second = cli(tmp_path, "--help")
    assert second.stdout == first.stdout
    assert not (tmp_path / "data" / "ext-cache").exists()
    # A command still runs through the real extension, with its own help.
    push_help = cli(tmp_path, "push", "--help")
    assert push_help.returncode == 0, push_help.stderr
    assert push_help.stdout.startswith(
        "Usage: ext-host push [OPTIONS] COMMAND [ARGS]...\n"
    )


def test_help_follows_disable_and_removal(tmp_path, wecom_archive):
    (tmp_path / "ext").mkdir()
    shutil.copy(wecom_archive, tmp_path / "ext" / "wecom.ext")
    assert "push" in listed(cli(tmp_path, "--help").stdout)
    assert cli(tmp_path, "ext", "disable", "wecom").returncode == 0
    assert "push" not in listed(cli(tmp_path, "--help").stdout)
    assert cli(tmp_path, "ext", "enable", "wecom").returncode == 0
    assert "push" in listed(cli(tmp_path, "--help").stdout)
    (tmp_path / "ext" / "wecom.ext").unlink()
    assert listed(cli(tmp_path, "--help").stdout)[-1] == "users"
    unknown = cli(tmp_path, "push", "group-report")
    assert unknown.returncode == 2
    assert "No such command 'push'" in unknown.stderr


def test_push_runs_from_the_command_line(stack):
    config = stack.host.config
    cmd = [sys.executable, "-m", "ext_host.cli", "--config", str(DEFAULT_CONFIG)]
    cmd += ["--data-dir", str(config.data_dir)]
    cmd += ["--extensions-dir", str(config.extensions_dir)]
    cmd += ["push", "group-report", "--app", "DEMO", "--user", MEMBER]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("push 1: sent to 1 member(s) via app DEMO (msgid ")
    inbox = stack.sandbox.inbox(MEMBER)
    assert [m["news"]["articles"][0]["title"] for m in inbox] == ["1分组报表"]


def make_plugin(root: Path, version: str) -> Path:
    package = root / "src" / "fastpath_ext"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text(PLUGIN.format(version=version))
    (package / "extension.yaml").write_text(
        f"name: fastpath\nversion: {version}\nentry: fastpath_ext:Plugin\n"
    )
    return package


def test_warm_start_stamp_and_a_replaced_archive(make_host, tmp_path):
    ext_dir = tmp_path / "ext"
    pack(make_plugin(tmp_path, "1.0.0"), out_dir=ext_dir)
    first = make_host()
    record = first.extensions["fastpath"]
    stamp = json.loads(
        (first.cache_dir / ".fastpath.ext.stamp").read_text(encoding="utf-8")
    )
    assert stamp["folder"] == record.code_dir.name
    assert stamp["manifest"]["version"] == "1.0.0"
    first.stop()
    # Unchanged archive: the same unpacked folder, without unpacking again.
    marker = record.code_dir / "marker"
    marker.write_text("kept")
    again = make_host()
    assert again.extensions["fastpath"].code_dir == record.code_dir
    assert marker.read_text() == "kept"
    again.stop()
    # A new archive in its place: hashed, unpacked and loaded anew.
    pack(make_plugin(tmp_path, "2.0.0"), out_dir=ext_dir)
    third = make_host()
    loaded = third.extensions["fastpath"]
    assert (loaded.version, loaded.plugin.version) == ("2.0.0", "2.0.0")
    assert loaded.code_dir != record.code_dir
    assert not record.code_dir.exists()


def test_report_results_are_per_user_and_follow_a_rebuilt_dataset(make_host):
    host = make_host()
    host.users.add("chendongping")
    host.users.add("zhangsan")
    report = host.reports.get("my-orders")
    dataset = host.reports.dataset_dir / "sales.sqlite3"

    def expected(owner: str) -> list[tuple[object, ...]]:
        with sqlite3.connect(dataset) as conn:
            return conn.execute(
                "SELECT order_no, customer, amount, day FROM orders WHERE owner = ? "
                "ORDER BY day, order_no",
                (owner,),
            ).fetchall()

    for _ in range(2):  # the second round is served from the cache
        for name in ("chendongping", "zhangsan"):
            data = host.reports.run(report, host.users.get(name))
            assert data.rows == expected(name)
    assert expected("chendongping") != expected("zhangsan")
    # Rebuilt the way sync_from_file does: a new file replaces the old one.
    copy = dataset.with_suffix(".tmp")
    shutil.copy(dataset, copy)
    with sqlite3.connect(copy) as conn:
        conn.execute("DELETE FROM orders WHERE owner = 'zhangsan'")
    os.replace(copy, dataset)
    assert host.reports.run(report, host.users.get("zhangsan")).rows == []
    assert host.reports.run(report, host.users.get("chendongping")).rows == expected(
        "chendongping"
    )
