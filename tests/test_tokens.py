"""Access tokens: one per app secret in the host's store, refreshed before
expiry by one caller at a time, replaced once when WeCom refuses it."""

import subprocess
import sys
import threading

import pytest
from stackkit import MEMBER, REPO

from ext_host.errors import NotFound
from ext_host.store import Store
from ext_wecom.client import WeComClient
from ext_wecom.clock import OFFSET_ENV
from ext_wecom.push import PushFailed, push_report


def client_on(stack, store=None):
    return WeComClient(
        store or Store(stack.host.config.database),
        stack.sandbox.url,
        stack.sandbox.corpid,
        stack.app.secret,
    )


def test_concurrent_callers_share_one_fetch(stack):
    stack.sandbox.faults.latency("gettoken", 0.3)
    tokens: list[str] = []

    def fetch():
        # Each thread has its own Store, so only SQLite's file lock (the one
        # processes share) keeps them apart.
        tokens.append(client_on(stack).token())

    threads = [threading.Thread(target=fetch) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(tokens) == 6 and len(set(tokens)) == 1
    assert stack.sandbox.call_count("gettoken") == 1


def test_two_processes_share_one_fetch(stack):
    stack.sandbox.faults.latency("gettoken", 0.5)
    script = (
        "import sys; from ext_host.store import Store; "
        "from ext_wecom.client import WeComClient; "
        "c = WeComClient(Store(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]); "
        "print(len(c.token()))"
    )
    args = [
        str(stack.host.config.database),
        stack.sandbox.url,
        stack.sandbox.corpid,
        stack.app.secret,
    ]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, *args],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=60)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert outs[0] == outs[1] != ""
    assert stack.sandbox.call_count("gettoken") == 1


def test_token_is_refreshed_shortly_before_expiry(stack, monkeypatch):
    client = client_on(stack)
    first = client.token()

    def advance(seconds):
        stack.sandbox.clock.advance(seconds)
        monkeypatch.setenv(OFFSET_ENV, str(stack.sandbox.clock.offset))

    advance(6800)  # 400 s left: still used
    assert client.token() == first
    assert stack.sandbox.call_count("gettoken") == 1
    advance(200)  # 200 s left, inside the 300 s margin: fetched again
    client.token()
    assert stack.sandbox.call_count("gettoken") == 2
    advance(201)  # WeCom's token has now expired; the host's copy too
    assert client.token() != first
    assert stack.sandbox.call_count("gettoken") == 3


@pytest.mark.parametrize("errcode", [40014, 42001])
def test_refused_token_is_replaced_once_and_the_send_retried(stack, errcode):
    push_report(stack.host, "group-report", "DEMO", "one", users=[MEMBER])
    stack.sandbox.faults.errcode("message/send", errcode, times=1)
    push_report(stack.host, "group-report", "DEMO", "two", users=[MEMBER])
    assert stack.sandbox.call_count("gettoken") == 2
    assert stack.sandbox.call_count("message/send") == 3
    titles = [m["news"]["articles"][0]["title"] for m in stack.sandbox.inbox(MEMBER)]
    assert titles == ["one", "two"]


def test_expired_token_answered_40014_is_fetched_again(stack):
    push_report(stack.host, "group-report", "DEMO", "one", users=[MEMBER])
    stack.sandbox.faults.expired_token_errcode = 40014
    stack.sandbox.faults.expire_tokens()
    push_report(stack.host, "group-report", "DEMO", "two", users=[MEMBER])
    assert stack.sandbox.call_count("gettoken") == 2
    assert len(stack.sandbox.inbox(MEMBER)) == 2


def test_untrusted_ip_fails_at_once_saying_what_to_fix(stack):
    stack.sandbox.faults.errcode(
        "message/send", 60020, times=1, errmsg="not allow to access from your ip"
    )
    with pytest.raises(PushFailed) as info:
        push_report(stack.host, "group-report", "DEMO", "t", users=[MEMBER])
    assert str(info.value) == (
        "push 1 failed: chunk 1: WeCom message/send failed: errcode 60020 "
        "(not allow to access from your ip); this server's IP is not in the app's "
        "trusted IPs (企业可信IP); add it on the app's page and wait a minute"
    )
    row = stack.host.store.query_one(
        "SELECT state, errcode, tries FROM wecom_push_chunks"
    )
    assert tuple(row) == ("failed", 60020, 1)
    assert stack.sandbox.call_count("message/send") == 1


def test_wrong_corpid_says_where_to_copy_it_from(stack):
    stack.host.options.set("wecom", {"corpid": "ww0000000000000000"})
    with pytest.raises(NotFound) as info:
        push_report(stack.host, "group-report", "DEMO", "t", users=[MEMBER])
    assert str(info.value).startswith(
        "no app could be reached: secret #1: WeCom gettoken failed: errcode 40013 ("
    )
    assert str(info.value).endswith(
        "; the CorpID is wrong; copy it from 我的企业 > 企业ID"
    )
