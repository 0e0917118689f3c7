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


SECRET = "AbcdefghijKLMNOPqrstuv-wxyz_0123456789ABCDE"


def test_a_blank_secret_keeps_the_stored_one(run):
    run("ext", "pack", str(REPO / "ext_wecom"))
    run("options", "set", "wecom", f"app_secrets={SECRET}")
    blank = run("options", "set", "wecom", "app_secrets=   ")
    assert blank.returncode == 0, blank.stderr
    shown = json.loads(run("options", "show", "wecom", "--json").stdout)
    assert shown["app_secrets"] == "********"


def test_a_secret_from_empty_stdin_is_refused_and_changes_nothing(run):
    run("ext", "pack", str(REPO / "ext_wecom"))
    run("options", "set", "wecom", f"app_secrets={SECRET}")
    for stdin in ("", "\n", "  \n"):
        empty = run("options", "set", "wecom", "app_secrets=-", stdin=stdin)
        assert (empty.returncode, empty.stdout, empty.stderr) == (
            1,
            "",
            "error: app_secrets=-: nothing came on stdin; pipe the value in "
            "(echo VALUE | ext-host options set wecom app_secrets=-)\n",
        )
    shown = json.loads(run("options", "show", "wecom", "--json").stdout)
    assert shown["app_secrets"] == "********"


def test_format_errors_say_what_the_right_format_is(run):
    run("ext", "pack", str(REPO / "ext_wecom"))
    cases = {
        "corpid=wwBAD": "error: 微信CorpID WeChat CorpID: 'wwBAD' has the wrong "
        "format; a CorpID is ww (or wx) and 16 letters or digits, such as "
        "ww74a64be8259678d1 (我的企业 > 企业ID)\n",
        "server_address=bi.example.com": "error: 服务器地址 Server address: "
        "'bi.example.com' has the wrong format; use http(s)://HOST[:PORT], such "
        "as https://bi.example.com\n",
        "app_secrets=wrong-secret": "error: 企业应用Secret: entry 1 is not a WeCom "
        "secret (16-128 letters, digits, '-' and '_'; this one has 12 characters); "
        "copy it again from the app's page\n",
        "contacts_secret=a b": "error: 通讯管理Secret: not a WeCom secret (16-128 "
        "letters, digits, '-' and '_'); copy it again from 管理工具 > 通讯录同步\n",
    }
    for pair, expected in cases.items():
        bad = run("options", "set", "wecom", pair)
        assert (bad.returncode, bad.stderr) == (1, expected)


def test_a_secret_typed_at_a_terminal_is_not_echoed(tmp_path):
    """``KEY=-`` at a terminal prompts without echo (getpass), on a real pty."""
    import os
    import pty
    import select
    import time

    base = [sys.executable, "-m", "ext_host.cli", "--data-dir", str(tmp_path / "d")]
    base += ["--extensions-dir", str(tmp_path / "ext")]
    subprocess.run([*base, "ext", "pack", str(REPO / "ext_wecom")], check=True)
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [*base, "options", "set", "wecom", "app_secrets=-"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=REPO,
    )
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 30
    while b"app_secrets:" not in seen and time.monotonic() < deadline:
        if select.select([master], [], [], 0.5)[0]:
            seen += os.read(master, 4096)
    os.write(master, SECRET.encode() + b"\n")
    while proc.poll() is None and time.monotonic() < deadline:
        if select.select([master], [], [], 0.2)[0]:
            try:
                seen += os.read(master, 4096)
            except OSError:
                break
    assert proc.wait(timeout=30) == 0
    os.close(master)
    text = seen.decode()
    assert "app_secrets:" in text
    assert "saved 1 option(s) of panel wecom" in text
    assert SECRET not in text


def test_sandbox_help_lists_the_sandbox_options(run):
    shown = run("sandbox", "--help")
    assert shown.returncode == 0
    assert "--trusted-domain AGENTID=HOST[:PORT]" in shown.stdout
    assert "--corp CORP" in shown.stdout
