"""``ext-host push`` as an operator runs it: real subprocesses on the stack's
data folder, exact output, exit codes."""

import subprocess
import sys

import pytest
from stackkit import MEMBER, REPO


@pytest.fixture
def run(stack):
    def call(*args):
        cmd = [
            sys.executable,
            "-m",
            "ext_host.cli",
            "--data-dir",
            str(stack.host.config.data_dir),
            "--extensions-dir",
            str(stack.host.config.extensions_dir),
            "push",
            *args,
        ]
        return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=60)

    return call


def test_send_history_show_recall(stack, run):
    stack.host.users.add("loose")
    dry = run("group-report", "--user", MEMBER, "--title", "报" * 50, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines()[2:] == [
        "to: 1 member(s) in 1 call(s)",
        "note: title is 150 bytes, WeCom allows 128: cut to '" + "报" * 41 + "…'",
    ]
    assert stack.sandbox.call_count("message/send") == 0

    sent = run("group-report", "--user", MEMBER, "--user", "loose", "--title", "日报")
    assert sent.returncode == 0, sent.stderr
    msgid = stack.sandbox.inbox(MEMBER)[0]["msgid"]
    assert sent.stdout == (
        f"push 1: sent to 1 member(s) via app DEMO (msgid {msgid}); skipped (not "
        "bound to a WeChat account or disabled): loose\n"
    )

    history = run("history")
    assert history.stdout.split("  ")[2:] == ["DEMO", "sent", "1 member(s)", "日报\n"]

    shown = run("show", "1").stdout.splitlines()
    assert shown[1:] == [
        "title: 日报",
        "chunks:",
        f"  1  sent  users 1, departments 0, tags 0  errcode 0  tries 1  msgid {msgid}",
        "recipients:",
        f"  user {MEMBER} (user {MEMBER})  sent",
        "  host_user loose  skipped: not bound to a WeChat account (微信账号)",
    ]

    recalled = run("recall", "1")
    assert recalled.stdout == "push 1: 1 message(s) recalled\n"
    assert stack.sandbox.inbox(MEMBER) == []


def test_bad_input_is_one_line_and_exit_1(stack, run):
    result = run("group-report", "--group", "nobody")
    assert result.returncode == 1
    assert result.stderr == (
        "error: no group 'nobody'; `ext-host users list` shows users' groups\n"
    )
    missing = run("show", "42")
    assert (missing.returncode, missing.stderr) == (
        1,
        "error: no push 42; `ext-host push history` lists the pushes\n",
    )
