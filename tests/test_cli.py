"""The CLI as an operator uses it: real subprocesses, one-line errors, exit codes."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def run(tmp_path):
    def call(*args, stdin=None):
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
        return subprocess.run(
            cmd, capture_output=True, text=True, input=stdin, cwd=REPO, timeout=60
        )

    return call


def test_pack_then_list(run, tmp_path):
    packed = run("ext", "pack", str(REPO / "ext_wecom"))
    assert packed.returncode == 0, packed.stderr
    assert packed.stdout == f"packed {tmp_path / 'ext' / 'wecom.ext'}\n"
    listed = run("ext", "list", "--json")
    data = json.loads(listed.stdout)
    assert [(e["name"], e["state"]) for e in data["extensions"]] == [
        ("wecom", "loaded")
    ]


def test_options_set_show_hides_secrets(run):
    run("ext", "pack", str(REPO / "ext_wecom"))
    secret = "AbcdefghijKLMNOPqrstuv-wxyz_0123456789ABCDE"
    result = run(
        "options",
        "set",
        "wecom",
        "corpid=ww74a64be8259678d1",
        f"app_secrets={secret}",
        "server_address=https://bi.example.com",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "saved 3 option(s) of panel wecom\n"
    shown = run("options", "show", "wecom", "--json")
    values = json.loads(shown.stdout)
    assert values["app_secrets"] == "********"
    assert values["corpid"] == "ww74a64be8259678d1"
    assert secret not in shown.stdout


def test_bad_option_is_one_line_and_changes_nothing(run):
    run("ext", "pack", str(REPO / "ext_wecom"))
    run("options", "set", "wecom", "corpid=ww74a64be8259678d1")
    bad = run("options", "set", "wecom", "corpid=nope", "server_address=ftp://x")
    assert bad.returncode == 1
    assert bad.stderr.count("\n") == 1
    assert bad.stderr.startswith(
        "error: 微信CorpID WeChat CorpID: 'nope' has the wrong format"
    )
    shown = json.loads(run("options", "show", "wecom", "--json").stdout)
    assert shown["corpid"] == "ww74a64be8259678d1"
    assert shown.get("server_address", "") == ""


def test_user_with_a_bad_account_is_refused(run):
    run("ext", "pack", str(REPO / "ext_wecom"))
    bad = run("users", "add", "cdp", "--field", "wecom.account=-bad")
    assert bad.returncode == 1
    assert (
        bad.stderr
        == "error: 微信账号 WeChat account: must start with a letter or digit\n"
    )
    assert json.loads(run("users", "list", "--json").stdout) == []
    good = run("users", "add", "cdp", "--field", "wecom.account=ChenDongPing")
    assert good.stdout == "created user cdp\n"
    dup = run("users", "add", "other", "--field", "wecom.account=chendongping")
    assert dup.stderr == (
        "error: 微信账号 WeChat account: 'chendongping' is already bound to user 'cdp'\n"
    )


def test_unknown_report_menu(run):
    result = run("reports", "menu", "nope")
    assert (result.returncode, result.stderr) == (
        1,
        "error: no report 'nope'; `ext-host reports list` shows the reports\n",
    )


def test_reports_list(run):
    result = run("reports", "list")
    assert result.stdout.splitlines()[0] == "group-report  示例报表/1分组报表  mobile"
