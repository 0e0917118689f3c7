"""Delivery through the outbox against the sandbox: typed recipients, what
WeCom rejected, retries, the per-member limit, recall, repeats."""

import json

import pytest
from stackkit import AGENTID, MEMBER

from ext_host.errors import HostError, NotFound, ValidationError
from ext_wecom import limits, outbox
from ext_wecom.client import WeComClient
from ext_wecom.clock import MEMBER_LIMITS_ENV, OFFSET_ENV, RETRY_WAIT_ENV
from ext_wecom.push import PushFailed, preview, push_report, recall, resume
from ext_wecom.recipients import Recipients

REPORT = "group-report"


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    monkeypatch.setenv(RETRY_WAIT_ENV, "0.01")


def send(stack, title="t", **kw):
    return push_report(stack.host, REPORT, "DEMO", title, **kw)


def bodies(stack):
    return [c["body"] for c in stack.sandbox.calls if c["path"].endswith("/send")]


def rows(stack, sql, *params):
    return [tuple(r) for r in stack.host.store.query(sql, params)]


def recipient_rows(stack, push_id=1):
    return rows(
        stack,
        "SELECT kind, id, source, chunk_seq, state, reason FROM wecom_push_recipients "
        "WHERE push_id = ? ORDER BY kind, id",
        push_id,
    )


def inbox_titles(stack, member=MEMBER):
    return [m["news"]["articles"][0]["title"] for m in stack.sandbox.inbox(member)]


def advance(stack, monkeypatch, seconds):
    stack.sandbox.clock.advance(seconds)
    monkeypatch.setenv(OFFSET_ENV, str(stack.sandbox.clock.offset))


# -- recipients ---------------------------------------------------------------------


def test_typed_recipients_are_one_deduplicated_call(stack):
    host = stack.host
    host.users.add_group("sales")
    host.users.add_group("east", parent="sales")
    host.users.add("zs", fields={"wecom.account": "ZhangSan"}, groups=["sales"])
    host.users.add("ww", fields={"wecom.account": "wujun"}, groups=["east"])
    host.users.add_to_group(MEMBER, "east")
    host.users.add("loose", groups=["sales"])
    host.users.add("gone", fields={"wecom.account": "lisi"}, enabled=False)

    result = send(
        stack,
        users=[MEMBER, "gone"],
        groups=["sales"],
        departments=["2", "2"],
        tags=["1"],
    )
    body = bodies(stack)[0]
    assert (body["touser"], body["toparty"], body["totag"]) == (
        f"{MEMBER}|wujun|zhangsan",
        "2",
        "1",
    )
    assert recipient_rows(stack) == [
        ("department", "2", "", 1, "sent", ""),
        ("host_user", "gone", "gone", None, "skipped", "user disabled"),
        (
            "host_user",
            "loose",
            "loose",
            None,
            "skipped",
            "not bound to a WeChat account (微信账号)",
        ),
        ("tag", "1", "", 1, "sent", ""),
        ("user", MEMBER, MEMBER, 1, "sent", ""),
        ("user", "wujun", "ww", 1, "sent", ""),
        ("user", "zhangsan", "zs", 1, "sent", ""),
    ]
    assert result.skipped == ["gone", "loose"]
    # WeCom delivers one copy per member however many routes reach them.
    assert inbox_titles(stack, "zhangsan") == ["t"]


def test_rejected_recipients_are_recorded_with_the_reason(stack):
    stack.host.users.add("zm", fields={"wecom.account": "zhaomin"})
    result = send(stack, users=[MEMBER, "zm"], departments=["4"], tags=["2"])
    assert result.state == "sent"
    assert result.invalid == ["zhaomin"]
    assert recipient_rows(stack) == [
        (
            "department",
            "4",
            "",
            1,
            "rejected",
            "invalidparty: unknown or outside the app's visible range",
        ),
        ("tag", "2", "", 1, "rejected", "invalidtag: unknown or not usable by the app"),
        ("user", MEMBER, MEMBER, 1, "sent", ""),
        (
            "user",
            "zhaomin",
            "zm",
            1,
            "rejected",
            "invaliduser: unknown, inactive or outside the app's visible range",
        ),
    ]
    assert result.summary().startswith(
        "push 1: sent to 2 member(s), 1 department(s), 1 tag(s) via app DEMO (msgid "
    )
    assert "; rejected by WeCom: zhaomin; department 4 rejected (invalidparty" in (
        result.summary()
    )


def test_no_valid_recipient_is_81013_and_recorded(stack):
    stack.host.users.add("zm", fields={"wecom.account": "zhaomin"})
    with pytest.raises(PushFailed) as info:
        send(stack, users=["zm"])
    assert str(info.value) == (
        "push 1 failed: chunk 1: WeCom message/send failed: errcode 81013 "
        "(user & party & tag all invalid); no recipient is valid or visible to the app"
    )
    assert recipient_rows(stack) == [
        ("user", "zhaomin", "zm", 1, "rejected", "no valid recipient (81013)")
    ]
    assert rows(stack, "SELECT state, errcode FROM wecom_pushes") == [("failed", 81013)]


def test_only_disabled_or_unbound_users_is_refused_with_each_reason(stack):
    stack.host.users.add("gone", fields={"wecom.account": "lisi"}, enabled=False)
    stack.host.users.add("loose")
    with pytest.raises(ValidationError) as info:
        send(stack, users=["gone", "loose"])
    assert str(info.value) == (
        "no recipient can receive the push: gone: user disabled; loose: not bound "
        "to a WeChat account (微信账号); enable the user, or bind it with "
        "`ext-host users set NAME --field wecom.account=ACCOUNT`"
    )
    assert rows(stack, "SELECT COUNT(*) FROM wecom_pushes") == [(0,)]
    assert stack.sandbox.call_count("message/send") == 0


@pytest.mark.parametrize(
    ("kw", "error", "message"),
    [
        (
            {},
            ValidationError,
            "choose who receives the push: users, groups, departments, tags, or "
            "everyone (@all)",
        ),
        (
            {"users": ["nope"]},
            NotFound,
            "no user 'nope'; `ext-host users list` shows the users",
        ),
        (
            {"groups": ["nope"]},
            NotFound,
            "no group 'nope'; `ext-host users list` shows users' groups",
        ),
        (
            {"departments": ["sales"]},
            ValidationError,
            "department id 'sales' must be a number (WeCom's department id)",
        ),
        (
            {"users": [MEMBER], "everyone": True},
            ValidationError,
            "everyone (@all) already includes every member the app sees; choose "
            "either everyone or named recipients",
        ),
    ],
)
def test_bad_recipients_are_refused_before_anything_is_written(
    stack, kw, error, message
):
    with pytest.raises(error) as info:
        send(stack, **kw)
    assert str(info.value) == message
    assert rows(stack, "SELECT COUNT(*) FROM wecom_pushes") == [(0,)]
    assert stack.sandbox.call_count("message/send") == 0


# -- content ------------------------------------------------------------------------


def test_preview_tells_what_will_be_cut_and_sends_nothing(stack):
    stack.host.users.add("loose")
    plan = preview(
        stack.host, REPORT, "DEMO", "报" * 50, "说" * 200, users=[MEMBER, "loose"]
    )
    assert plan.article["title"] == "报" * 41 + "…"
    assert len(plan.article["description"].encode()) == 510
    assert plan.lines() == [
        f"report {REPORT} via app DEMO (agentid {AGENTID})",
        "title: " + "报" * 41 + "…",
        "to: 1 member(s) in 1 call(s)",
        "skipped loose: not bound to a WeChat account (微信账号)",
        "note: title is 150 bytes, WeCom allows 128: cut to '" + "报" * 41 + "…'",
        "note: description is 600 bytes, WeCom allows 512: cut to '"
        + "说" * 169
        + "…'",
    ]
    assert stack.sandbox.call_count("message/send") == 0
    assert rows(stack, "SELECT COUNT(*) FROM wecom_pushes") == [(0,)]


def test_too_long_url_is_refused_not_cut(stack):
    with pytest.raises(ValidationError) as info:
        send(stack, users=[MEMBER], url="https://x.example/" + "a" * 2048)
    assert str(info.value) == "url is longer than WeCom's 2048 bytes"


def test_the_same_card_twice_is_two_distinct_requests(stack):
    send(stack, users=[MEMBER])
    send(stack, users=[MEMBER])
    assert inbox_titles(stack) == ["t", "t"]


def test_a_repeat_wecom_swallows_is_not_counted_as_sent(stack):
    url = "https://bi.example.com/r/1"
    send(stack, users=[MEMBER], url=url)
    with pytest.raises(PushFailed) as info:
        send(stack, users=[MEMBER], url=url)
    assert str(info.value) == (
        "push 2 failed: chunk 1: WeCom answered with the msgid of push 1: it took "
        "this card as a repeat of that one (same card, same recipients, within 4 "
        "hours) and did not deliver it; change the title to send it"
    )
    assert inbox_titles(stack) == ["t"]


# -- retries ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arm", "sends"),
    [
        (lambda f: f.errcode("message/send", -1, times=2), 3),
        (lambda f: f.errcode("message/send", 45009, times=1), 2),
        (lambda f: f.errcode("message/send", 45033, times=3), 4),
        (lambda f: f.http_status("message/send", 502, times=2), 3),
        (lambda f: f.drop_connection("message/send", times=1), 2),
    ],
    ids=["busy", "rate", "concurrency", "http502", "dropped"],
)
def test_passing_failures_are_retried_until_sent(stack, arm, sends):
    arm(stack.sandbox.faults)
    result = send(stack, users=[MEMBER])
    assert result.state == "sent"
    assert stack.sandbox.call_count("message/send") == sends
    assert rows(stack, "SELECT state, tries FROM wecom_push_chunks") == [
        ("sent", sends)
    ]
    assert inbox_titles(stack) == ["t"]


def test_a_timed_out_send_is_retried_and_delivered_once(stack):
    stack.sandbox.faults.latency("message/send", 0.6, times=1)
    found = Recipients(users={MEMBER: MEMBER})
    push_id = outbox.create(
        stack.host,
        report_id=REPORT,
        agentid=AGENTID,
        app_name="DEMO",
        article_for=lambda _: {
            "title": "slow",
            "description": "",
            "url": "https://x.example/",
        },
        recipients=found,
        request={},
        notes=[],
        actor=None,
    )
    client = WeComClient(
        stack.host.store,
        stack.sandbox.url,
        stack.sandbox.corpid,
        stack.app.secret,
        timeout=0.3,
    )
    outbox.send(stack.host, push_id, client)
    assert rows(stack, "SELECT state, tries FROM wecom_push_chunks") == [("sent", 2)]
    # The timed-out call was delivered by WeCom; the retry is the same request
    # with the duplicate check on, so the member has the card once.
    assert stack.sandbox.call_count("message/send") == 2
    assert inbox_titles(stack) == ["slow"]


def test_retries_are_bounded_then_the_chunk_fails_with_the_last_errcode(stack):
    stack.sandbox.faults.errcode("message/send", -1, times=10, errmsg="system busy")
    with pytest.raises(PushFailed) as info:
        send(stack, users=[MEMBER])
    assert str(info.value) == (
        "push 1 failed: chunk 1: WeCom message/send failed: errcode -1 (system busy); "
        "WeCom is busy; try again in a moment"
    )
    assert stack.sandbox.call_count("message/send") == 4
    assert rows(stack, "SELECT state, errcode, tries FROM wecom_push_chunks") == [
        ("failed", -1, 4)
    ]
    assert recipient_rows(stack) == [
        ("user", MEMBER, MEMBER, 1, "failed", "not sent: errcode -1")
    ]


def test_other_errcodes_fail_at_once(stack):
    stack.sandbox.faults.errcode("message/send", 48002, times=1)
    with pytest.raises(PushFailed):
        send(stack, users=[MEMBER])
    assert stack.sandbox.call_count("message/send") == 1


# -- the per-member limit -------------------------------------------------------------


def test_members_over_the_limit_are_deferred_then_sent(stack, monkeypatch):
    monkeypatch.setenv(MEMBER_LIMITS_ENV, "3,5")
    stack.sandbox.faults.member_limit(per_minute=3, per_hour=5)
    stack.host.users.add("zs", fields={"wecom.account": "zhangsan"})
    for n in range(3):
        send(stack, f"m{n}", users=[MEMBER])

    result = send(stack, "m3", users=[MEMBER, "zs"])
    assert result.state == "deferred"
    assert "deferred: 1 member(s) until " in result.summary()
    assert [b["touser"] for b in bodies(stack)][-1] == "zhangsan"
    chunk_rows = rows(
        stack, "SELECT seq, state, users FROM wecom_push_chunks WHERE push_id = 4"
    )
    assert chunk_rows == [(1, "sent", 1), (2, "deferred", 1)]
    (reason,) = rows(
        stack,
        "SELECT reason FROM wecom_push_recipients WHERE push_id = 4 AND id = ?",
        MEMBER,
    )
    assert reason[0].startswith("deferred until ")
    assert reason[0].endswith(" (per-member limit 3/minute)")

    assert [r.push_id for r in resume(stack.host)] == [4]  # not yet due
    assert inbox_titles(stack) == ["m0", "m1", "m2"]
    advance(stack, monkeypatch, 61)
    (done,) = resume(stack.host)
    assert done.state == "sent"
    assert inbox_titles(stack) == ["m0", "m1", "m2", "m3"]
    assert stack.sandbox.dropped(MEMBER) == []

    send(stack, "m4", users=[MEMBER])
    assert send(stack, "m5", users=[MEMBER]).state == "deferred"
    (reason,) = rows(
        stack,
        "SELECT reason FROM wecom_push_recipients WHERE push_id = 6 AND id = ?",
        MEMBER,
    )
    assert reason[0].endswith(" (per-member limit 5/hour)")
    advance(stack, monkeypatch, 3600)
    resume(stack.host)
    assert inbox_titles(stack) == ["m0", "m1", "m2", "m3", "m4", "m5"]
    assert stack.sandbox.dropped(MEMBER) == []


def test_daily_quota_is_counted_per_app(stack):
    stack.host.users.add("zs", fields={"wecom.account": "zhangsan"})
    stack.host.users.add("zm", fields={"wecom.account": "zhaomin"})
    send(stack, users=[MEMBER, "zs", "zm"])
    assert limits.quota_used(stack.host.store, AGENTID) == 2


# -- recall ---------------------------------------------------------------------------


def test_recall_within_24_hours(stack):
    send(stack, users=[MEMBER])
    assert recall(stack.host, 1) == 1
    assert stack.sandbox.inbox(MEMBER) == []
    assert rows(stack, "SELECT state FROM wecom_pushes") == [("recalled",)]
    assert recipient_rows(stack)[0][4] == "recalled"


def test_recall_after_24_hours_is_refused(stack, monkeypatch):
    send(stack, users=[MEMBER])
    advance(stack, monkeypatch, 24 * 3600 + 1)
    with pytest.raises(HostError) as info:
        recall(stack.host, 1)
    assert str(info.value) == (
        "push 1 cannot be recalled: WeCom recalls messages only within 24 hours of "
        "sending (errcode 42052)"
    )
    assert rows(stack, "SELECT state FROM wecom_pushes") == [("sent",)]


def test_everyone_is_one_at_all_call(stack):
    result = send(stack, everyone=True)
    assert bodies(stack)[0]["touser"] == "@all"
    assert "toparty" not in bodies(stack)[0]
    assert result.summary().startswith(
        "push 1: sent to everyone the app is visible to (@all) via app DEMO"
    )
    request = json.loads(
        stack.host.store.query_one("SELECT request FROM wecom_pushes")[0]
    )
    assert request["everyone"] is True


# -- who will not see the report ----------------------------------------------------


def test_the_sender_is_told_who_will_not_see_the_report(stack):
    stack.host.users.add("zs", fields={"wecom.account": "zhangsan"})
    plan = preview(stack.host, "finance-summary", "DEMO", "财务", users=[MEMBER, "zs"])
    assert plan.notes == [
        f"may not view 财务汇总: {MEMBER}, zs; they will get the card but a 无权访问 "
        "page (the report's viewers decide)"
    ]
    desktop = preview(stack.host, "product-detail", "DEMO", "产品", users=[MEMBER])
    assert desktop.notes == [
        "产品明细 is not published to mobile (移动端): members will see a "
        "报表未发布到移动端 page; publish it or push another report"
    ]
    broad = preview(stack.host, "finance-summary", "DEMO", "财务", everyone=True)
    assert broad.notes == [
        "财务汇总 is only for group:财务部, admin: members reached through "
        "departments, tags or @all who are not among them will get a 无权访问 page"
    ]
    assert preview(stack.host, REPORT, "DEMO", "t", users=[MEMBER]).notes == []
    # The notes reach the push's summary as well.
    result = push_report(stack.host, "finance-summary", "DEMO", "财务", users=[MEMBER])
    assert f"may not view 财务汇总: {MEMBER}" in result.summary()
