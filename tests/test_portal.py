"""The tap: card link -> sandbox authorize page -> portal -> report, as the member."""

import requests
from stackkit import MEMBER


def card_link(stack):
    stack.host.menus.run(
        "report",
        "wecom.push",
        "group-report",
        {"app": "DEMO", "title": "t", "users": MEMBER},
    )
    return stack.sandbox.inbox(MEMBER)[-1]["news"]["articles"][0]["url"]


def test_tap_lands_on_the_report_signed_in_as_the_member(stack):
    resp = stack.sandbox.follow(card_link(stack), as_member=MEMBER)
    assert resp.status_code == 200
    assert resp.url == f"{stack.url}/vision/reports/group-report"
    assert "<title>1分组报表</title>" in resp.text
    assert "陈东平" in resp.text
    assert stack.sandbox.call_count("/cgi-bin/auth/getuserinfo") == 1


def test_home_link_lands_on_the_mobile_home(stack):
    link = stack.host.options.run_action("wecom", "generate_link").data["link"]
    resp = stack.sandbox.follow(link, as_member=MEMBER)
    assert resp.url == f"{stack.url}/vision/mobile"
    assert "1分组报表" in resp.text and "我的订单" in resp.text
    assert "产品明细" not in resp.text  # not published to mobile


def test_reused_code_is_refused(stack):
    stack.sandbox.follow(card_link(stack), as_member=MEMBER)
    code_call = [
        c for c in stack.sandbox.calls if c["path"] == "/cgi-bin/auth/getuserinfo"
    ][0]
    code = code_call["query"]["code"]
    fresh = requests.Session()
    resp = fresh.get(
        f"{stack.url}/vision/wechat/wechatportal.html",
        params={
            "wechat": "true",
            "agentid": "1000008",
            "report": "group-report",
            "code": code,
        },
        allow_redirects=False,
        timeout=10,
    )
    assert resp.status_code == 400
    assert "This sign-in code was already used or has expired" in resp.text
    assert "ext_host_session" not in resp.cookies


def test_unknown_code_is_refused(stack):
    resp = requests.get(
        f"{stack.url}/vision/wechat/wechatportal.html",
        params={"wechat": "true", "code": "not-a-code"},
        allow_redirects=False,
        timeout=10,
    )
    assert resp.status_code == 400


def test_member_without_bound_user_is_told_their_userid(stack):
    link = stack.host.options.run_action("wecom", "generate_link").data["link"]
    resp = stack.sandbox.follow(link, as_member="zhangsan")
    assert resp.status_code == 403
    assert "No user is bound to WeChat account zhangsan" in resp.text


def test_report_page_needs_a_session(stack):
    resp = requests.get(
        f"{stack.url}/vision/reports/group-report", allow_redirects=False, timeout=10
    )
    assert resp.status_code in (302, 401)
    assert "<table" not in resp.text
