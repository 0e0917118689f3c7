"""A big corp: chunking, and a pushing process killed with SIGKILL part way
through 20,000 recipients, resumed, each member holding the card once."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from stackkit import REPO

from wecom_sandbox import Sandbox

MEMBERS = 20_000
AGENTID = 1000100
SECRET = "big_corp_app_secret_00000000000000000000000"


def big_corp(members: int) -> dict:
    return {
        "corpid": "ww1b2c3d4e5f607182",
        "name": "大企业",
        "errmsg_hints": False,
        "departments": [{"id": 1, "name": "大企业", "parentid": 0}]
        + [{"id": d, "name": f"部门{d}", "parentid": 1} for d in range(2, 152)],
        "members": [
            {"userid": f"{i:06d}", "name": f"成员{i}", "department": [1]}
            for i in range(1, members + 1)
        ],
        "tags": [
            {"tagid": t, "tagname": f"标签{t}", "userlist": [f"{t:06d}"]}
            for t in range(1, 121)
        ],
        "apps": [
            {
                "agentid": AGENTID,
                "name": "BIG",
                "secret": SECRET,
                "allow_partys": [1],
                "daily_quota": 10 * members,
            }
        ],
    }


def seed_host_users(host, members: int, group: str = "staff") -> None:
    """Bulk-insert bound host users (users.add would be slow for 20,000)."""
    host.users.add_group(group)
    now = time.time()
    with host.store.transaction() as conn:
        (group_id,) = conn.execute(
            "SELECT id FROM groups WHERE name = ?", (group,)
        ).fetchone()
        for i in range(1, members + 1):
            user_id = conn.execute(
                "INSERT INTO users (name, created_at) VALUES (?, ?)", (f"u{i}", now)
            ).lastrowid
            conn.execute(
                "INSERT INTO user_fields (user_id, key, value, norm) VALUES "
                "(?, 'wecom.account', ?, ?)",
                (user_id, f"{i:06d}", f"{i:06d}"),
            )
            conn.execute(
                "INSERT INTO user_groups (user_id, group_id) VALUES (?, ?)",
                (user_id, group_id),
            )


@pytest.fixture(scope="module")
def big_sandbox():
    with Sandbox(big_corp(MEMBERS)) as sb:
        yield sb


@pytest.fixture
def big(make_host, wecom_archive, big_sandbox):
    big_sandbox.reset()
    host = make_host([wecom_archive])
    host.options.set(
        "wecom",
        {
            "corpid": big_sandbox.corpid,
            "app_secrets": SECRET,
            "server_address": "https://bi.example.com",
            "api_base": big_sandbox.url,
            "oauth_base": big_sandbox.url,
        },
    )
    seed_host_users(host, MEMBERS)
    return host, big_sandbox


def cli(host, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "ext_host.cli",
        "--data-dir",
        str(host.config.data_dir),
        "--extensions-dir",
        str(host.config.extensions_dir),
        *args,
    ]


def chunk_states(host) -> dict[str, int]:
    return {
        r["state"]: r["n"]
        for r in host.store.query(
            "SELECT state, COUNT(*) AS n FROM wecom_push_chunks GROUP BY state"
        )
    }


def test_killed_push_resumes_and_every_member_has_the_card_once(big, tmp_path: Path):
    host, sb = big
    sb.faults.latency("message/send", 0.05)
    log = (tmp_path / "push.log").open("w")
    proc = subprocess.Popen(
        cli(host, "push", "group-report", "--app", "BIG", "--group", "staff"),
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while sb.call_count("message/send") < 6 and time.monotonic() < deadline:
        assert proc.poll() is None, (tmp_path / "push.log").read_text()
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=10) == -signal.SIGKILL
    sb.faults.clear()

    states = chunk_states(host)
    in_doubt = states.get("sending", 0)
    assert sum(states.values()) == 20 and states.get("pending", 0) >= 10
    assert in_doubt <= 1
    reached = sum(1 for i in range(1, MEMBERS + 1) if sb.inbox(f"{i:06d}"))
    assert 5000 <= reached <= 7000

    resumed = subprocess.run(
        cli(host, "push", "resume"),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.startswith(
        "push 1: sent to 20000 member(s) in 20 call(s) via app BIG (msgid "
    )
    assert chunk_states(host) == {"sent": 20}
    counts = [len(sb.inbox(f"{i:06d}")) for i in range(1, MEMBERS + 1)]
    assert counts == [1] * MEMBERS
    assert sb.call_count("message/send") == 20 + in_doubt
    assert (
        host.store.query_one(
            "SELECT COUNT(*) FROM wecom_push_recipients WHERE state = 'sent'"
        )[0]
        == MEMBERS
    )


def test_users_are_sent_in_chunks_of_1000_with_leading_zeros_kept(big):
    from ext_wecom.push import push_report

    host, sb = big
    result = push_report(host, "group-report", "BIG", "t", groups=["staff"])
    bodies = [c["body"] for c in sb.calls if c["path"] == "/cgi-bin/message/send"]
    assert [len(b["touser"].split("|")) for b in bodies] == [1000] * 20
    # In user-name order (u1, u10, u100 ...), ids as strings with their zeros.
    assert bodies[0]["touser"].startswith("000001|000010|000100|001000|")
    assert result.calls == 20 and result.state == "sent"
    assert sb.call_count("gettoken") == 1


def test_departments_and_tags_are_cut_at_100(big):
    from ext_wecom.push import push_report

    host, sb = big
    push_report(
        host,
        "group-report",
        "BIG",
        "t",
        departments=[str(d) for d in range(2, 152)],
        tags=[str(t) for t in range(1, 121)],
    )
    bodies = [c["body"] for c in sb.calls if c["path"] == "/cgi-bin/message/send"]
    shape = [(len(b["toparty"].split("|")), len(b["totag"].split("|"))) for b in bodies]
    assert shape == [(100, 100), (50, 20)]
    assert "touser" not in bodies[0]
