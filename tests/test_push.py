"""Pushing a report: the body WeCom receives, token caching, bad input."""

import re

import pytest
from stackkit import AGENTID, MEMBER

from ext_host.errors import NotFound, ValidationError
from ext_wecom.push import push_report


def push(stack, **values):
    return stack.host.menus.run(
        "report", "wecom.push", "group-report", values, actor="t"
    )


def test_push_sends_one_news_card_to_the_bound_member(stack):
    result = push(
        stack, app="DEMO", title="1分组报表", description="日报", users=MEMBER
    )
    sent = [c for c in stack.sandbox.calls if c["path"] == "/cgi-bin/message/send"]
    assert len(sent) == 1
    body = sent[0]["body"]
    link = body["news"]["articles"][0]["url"]
    assert body == {
        "touser": MEMBER,
        "msgtype": "news",
        "agentid": AGENTID,
        "news": {
            "articles": [{"title": "1分组报表", "description": "日报", "url": link}]
        },
        "enable_duplicate_check": 1,
        "duplicate_check_interval": 14400,
    }
    assert link.startswith(f"{stack.sandbox.url}/connect/oauth2/authorize?appid=")
    # The state: the host's signature of report, app and tag, then the tag.
    assert re.search(
        r"&state=s1[A-Z2-7]{24}push1&agentid=1000008#wechat_redirect$", link
    )
    inbox = stack.sandbox.inbox(MEMBER)
    assert [m["news"]["articles"][0]["title"] for m in inbox] == ["1分组报表"]
    assert result.message.startswith("push 1: sent to 1 member(s) via app DEMO (msgid ")
    row = stack.host.store.query_one("SELECT state, errcode, touser FROM wecom_pushes")
    assert tuple(row) == ("sent", 0, MEMBER)
    rows = stack.host.store.query(
        "SELECT kind, id, source, chunk_seq, state FROM wecom_push_recipients"
    )
    assert [tuple(r) for r in rows] == [("user", MEMBER, MEMBER, 1, "sent")]


def test_many_pushes_fetch_one_token(stack):
    for _ in range(5):
        push(stack, app="DEMO", title="t", users=MEMBER)
    assert stack.sandbox.call_count("/cgi-bin/gettoken") == 1
    assert stack.sandbox.call_count("/cgi-bin/message/send") == 5


def test_token_is_shared_by_a_second_host_on_the_same_store(stack, make_host):
    push(stack, app="DEMO", title="t", users=MEMBER)
    other = make_host(
        data_dir=stack.host.config.data_dir,
        extensions_dir=stack.host.config.extensions_dir,
    )
    other.menus.run(
        "report",
        "wecom.push",
        "group-report",
        {"app": "DEMO", "title": "t", "users": MEMBER},
    )
    assert stack.sandbox.call_count("/cgi-bin/gettoken") == 1


def test_expired_token_is_fetched_again_and_the_push_goes_through(stack):
    push(stack, app="DEMO", title="t", users=MEMBER)
    stack.sandbox.faults.expire_tokens()
    push(stack, app="DEMO", title="t2", users=MEMBER)
    assert stack.sandbox.call_count("/cgi-bin/gettoken") == 2
    assert [m["news"]["articles"][0]["title"] for m in stack.sandbox.inbox(MEMBER)] == [
        "t",
        "t2",
    ]


def test_push_to_everyone_uses_at_all_only_when_chosen(stack):
    with pytest.raises(ValidationError) as info:
        push(stack, app="DEMO", title="全员")
    assert str(info.value) == (
        "choose who receives the push: users, groups, departments, tags, "
        "or everyone (@all)"
    )
    assert stack.sandbox.call_count("message/send") == 0
    push_report(stack.host, "group-report", "DEMO", "全员", everyone=True)
    body = [c for c in stack.sandbox.calls if c["path"] == "/cgi-bin/message/send"][0][
        "body"
    ]
    assert body["touser"] == "@all"


def test_unbound_user_is_skipped_and_named(stack):
    stack.host.users.add("nobody")
    result = push(stack, app="DEMO", title="t", users=f"{MEMBER},nobody")
    assert result.data["skipped"] == ["nobody"]
    assert "skipped (not bound to a WeChat account or disabled): nobody" in (
        result.message
    )


def test_long_title_is_cut_on_a_character_boundary(stack):
    push(stack, app="DEMO", title="报" * 50, users=MEMBER)
    title = stack.sandbox.inbox(MEMBER)[0]["news"]["articles"][0]["title"]
    assert title == "报" * 41 + "…"
    assert len(title.encode()) == 126


def test_unknown_report(stack):
    with pytest.raises(
        NotFound, match="^no report 'nope'; `ext-host reports list` shows the reports$"
    ):
        stack.host.menus.run(
            "report", "wecom.push", "nope", {"app": "DEMO", "title": "t"}
        )


def test_unknown_app(stack):
    with pytest.raises(NotFound) as info:
        push(stack, app="NOPE", title="t")
    assert str(info.value) == "no app 'NOPE'; configured apps: DEMO (1000008)"
    assert stack.sandbox.call_count("/cgi-bin/message/send") == 0


def test_missing_title_is_refused(stack):
    with pytest.raises(ValidationError) as info:
        stack.host.menus.run(
            "report", "wecom.push", "group-report", {"app": "DEMO", "title": " "}
        )
    assert str(info.value) == "标题 Title: is required"


def test_wrong_secret_names_the_errcode_not_the_secret(stack):
    stack.host.options.set("wecom", {"app_secrets": "WrongSecretWrongSecret-123"})
    with pytest.raises(NotFound) as info:
        push(stack, app="DEMO", title="t")
    message = str(info.value)
    assert message == (
        "no app could be reached: secret #1: WeCom gettoken failed: errcode 40001 "
        "(invalid credential); the secret is wrong or was reset; copy it again from "
        "the app's page"
    )
    assert "WrongSecret" not in message


def test_unreachable_wecom(stack):
    stack.host.options.set("wecom", {"api_base": "http://127.0.0.1:9"})
    with pytest.raises(NotFound) as info:
        push(stack, app="DEMO", title="t")
    assert str(info.value) == (
        "no app could be reached: secret #1: cannot reach WeCom at http://127.0.0.1:9 "
        "(ConnectionError); check the WeCom API address and this server's network"
    )


def test_pushing_a_report_not_published_to_mobile_says_the_card_will_not_open(stack):
    result = push_report(stack.host, "product-detail", "DEMO", "明细", users=[MEMBER])
    note = (
        "产品明细 is not published to mobile (移动端): members will see a "
        "报表未发布到移动端 page; publish it or push another report"
    )
    assert result.notes == [note]
    assert result.summary().endswith("; " + note)
    (card,) = stack.sandbox.inbox(MEMBER)
    assert card["news"]["articles"][0]["title"] == "明细"
    published = push_report(stack.host, "group-report", "DEMO", "日报", users=[MEMBER])
    assert published.notes == []
    # A card that links elsewhere says nothing about the report.
    elsewhere = push_report(
        stack.host,
        "product-detail",
        "DEMO",
        "明细",
        url="https://bi.example.com/x",
        users=[MEMBER],
    )
    assert elsewhere.notes == []
