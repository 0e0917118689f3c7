"""The mobile portal and sign-on, through real HTTP: every path a member takes
(card, plain report URL, app home, reload, back, second tab, desktop browser),
every refusal, and the session's security."""

from __future__ import annotations

import dataclasses
import html
import logging
import re
import sqlite3
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from stackkit import AGENTID, MEMBER, REPO

from ext_host.errors import ValidationError
from ext_host.logs import setup_logging
from ext_host.secretbox import SecretBox
from ext_wecom import oauth, state
from ext_wecom.client import TOKEN_NS, secret_key
from ext_wecom.portal import target_of
from wecom_sandbox.browser import MEMBER_HEADER, WECOM_UA

PORTAL = "/vision/wechat/wechatportal.html"
GETUSERINFO = "/cgi-bin/auth/getuserinfo"
OUTSIDER = "oAbC3dEfGh1JkLmNoPqRsTuVwXyZ"  # the seed's external visitor
#: App 报表推送测试: sees departments 4 and 5 (zhaomin is in 4).
SECOND_AGENTID = 1000009


# -- helpers -------------------------------------------------------------------


def card_link(stack, report="group-report", app="DEMO", user=MEMBER, member=MEMBER):
    """Push ``report`` to host user ``user`` and return the card's link."""
    stack.host.menus.run(
        "report", "wecom.push", report, {"app": app, "title": "t", "users": user}
    )
    return stack.sandbox.inbox(member)[-1]["news"]["articles"][0]["url"]


def link(stack, report=None, agentid=AGENTID):
    """The signed OAuth link the host hands out (what a card carries)."""
    return oauth.member_link(stack.host, report, agentid)


def signed_in_as(stack, browser):
    """The name shown on the mobile home for this browser's session, or None."""
    resp = browser.get(f"{stack.url}/vision/mobile", allow_redirects=False, timeout=10)
    if resp.status_code != 200:
        return None
    return re.search(r"Mobile home · ([^<]+)</header>", resp.text).group(1)


def order_numbers(html):
    return re.findall(r"<tr><td>(SO\d+)</td>", html)


def orders_of(owner):
    """The order numbers the sample dataset holds for ``owner``, read with SQLite
    straight from the script, not through the host."""
    conn = sqlite3.connect(":memory:")
    conn.executescript((REPO / "config" / "data" / "sales.sql").read_text("utf-8"))
    rows = conn.execute(
        "SELECT order_no FROM orders WHERE owner = ? ORDER BY day, order_no", (owner,)
    )
    return [r[0] for r in rows]


def exchanges(stack):
    return [c for c in stack.sandbox.calls if c["path"] == GETUSERINFO]


def landing_url(stack, url, member=MEMBER):
    """Open an OAuth link as ``member`` inside WeCom, but stop at the redirect
    back to the portal: the portal URL with a fresh code in it."""
    resp = requests.get(
        url,
        headers={MEMBER_HEADER: member, "User-Agent": WECOM_UA},
        allow_redirects=False,
        timeout=10,
    )
    assert resp.status_code == 302, resp.text
    return resp.headers["Location"]


def assert_clean_landing(stack, resp, path):
    assert resp.status_code == 200, resp.text
    assert resp.url == f"{stack.url}{path}"
    assert "code=" not in resp.url and "state=" not in resp.url


# -- the paths a member takes ----------------------------------------------------


def test_tap_lands_on_the_report_signed_in_as_the_member(stack):
    browser = requests.Session()
    resp = stack.sandbox.follow(card_link(stack), as_member=MEMBER, session=browser)
    assert_clean_landing(stack, resp, "/vision/reports/group-report")
    assert "<title>1分组报表</title>" in resp.text and "陈东平" in resp.text
    assert '<table id="report">' in resp.text
    assert [urlsplit(u).path for u in resp.visited] == [
        "/connect/oauth2/authorize",
        PORTAL,
        "/vision/reports/group-report",
    ]
    assert len(exchanges(stack)) == 1
    assert signed_in_as(stack, browser) == "陈东平"


def test_home_link_lands_on_the_mobile_home(stack):
    home = stack.host.options.run_action("wecom", "generate_link").data["link"]
    resp = stack.sandbox.follow(home, as_member=MEMBER)
    assert_clean_landing(stack, resp, "/vision/mobile")
    assert "1分组报表" in resp.text and "我的订单" in resp.text
    assert "产品明细" not in resp.text  # not published to mobile
    assert "财务汇总" not in resp.text  # only for group 财务部


def test_mobile_home_lists_what_this_user_may_see(stack):
    stack.host.users.add_group("财务部")
    stack.host.users.add(
        "zhaomin", alias="赵敏", fields={"wecom.account": "zhaomin"}, groups=["财务部"]
    )
    resp = stack.sandbox.follow(link(stack), as_member="zhaomin")
    assert_clean_landing(stack, resp, "/vision/mobile")
    names = re.findall(r'<a href="/vision/reports/[^"]+">([^<]+)</a>', resp.text)
    assert names == ["1分组报表", "我的订单", "财务汇总"]


def test_plain_report_url_inside_wecom_goes_through_oauth(stack):
    resp = stack.sandbox.follow(
        f"{stack.url}/vision/reports/my-orders", as_member=MEMBER
    )
    assert_clean_landing(stack, resp, "/vision/reports/my-orders")
    authorize = resp.visited[1]
    assert authorize.startswith(f"{stack.sandbox.url}/connect/oauth2/authorize?")
    query = parse_qs(urlsplit(authorize).query)
    assert query["agentid"] == [str(AGENTID)]
    assert query["state"][0] == state.sign(stack.host, "my-orders", AGENTID)
    assert order_numbers(resp.text) == orders_of(MEMBER)


def test_desktop_browser_is_offered_web_login_and_lands_on_the_report(stack):
    resp = stack.sandbox.follow(
        f"{stack.url}/vision/reports/group-report",
        as_member=MEMBER,
        inside_wecom=False,
    )
    assert_clean_landing(stack, resp, "/vision/reports/group-report")
    login = resp.visited[1]
    assert login.startswith(
        f"{stack.sandbox.url}/wwlogin/sso/login?login_type=CorpApp"
        f"&appid={stack.sandbox.corpid}&agentid={AGENTID}&redirect_uri="
    )
    assert len(exchanges(stack)) == 1


def test_desktop_browser_sees_the_qr_page_until_someone_scans(stack):
    browser = requests.Session()
    resp = stack.sandbox.follow(
        f"{stack.url}/vision/mobile", inside_wecom=False, session=browser
    )
    assert urlsplit(resp.url).path == "/wwlogin/sso/login"
    assert resp.status_code == 200
    assert signed_in_as(stack, browser) is None
    assert exchanges(stack) == []


def test_portal_without_code_starts_the_sign_in_this_browser_can_do(stack):
    plain = f"{stack.url}{PORTAL}?wechat=true&report=group-report"
    inside = requests.get(
        plain, headers={"User-Agent": WECOM_UA}, allow_redirects=False, timeout=10
    )
    assert inside.headers["Location"] == oauth.member_link(
        stack.host, "group-report", AGENTID
    )
    desktop = requests.get(plain, allow_redirects=False, timeout=10)
    assert desktop.headers["Location"] == oauth.member_web_login(
        stack.host, "group-report", AGENTID
    )


def test_member_sees_only_their_own_rows(stack):
    stack.host.users.add("lisi", alias="李四", fields={"wecom.account": "lisi"})
    mine = stack.sandbox.follow(link(stack, "my-orders"), as_member=MEMBER)
    theirs = stack.sandbox.follow(link(stack, "my-orders"), as_member="lisi")
    assert order_numbers(mine.text) == orders_of(MEMBER)
    assert order_numbers(theirs.text) == orders_of("lisi")
    assert set(orders_of(MEMBER)).isdisjoint(orders_of("lisi"))
    assert orders_of(MEMBER) and orders_of("lisi")


def test_userid_is_matched_to_the_account_without_regard_to_case(stack):
    # The sandbox's member is "LiuQiang"; the host user's account is lower-case.
    stack.host.users.add("liuqiang", alias="刘强", fields={"wecom.account": "liuqiang"})
    resp = stack.sandbox.follow(link(stack), as_member="LiuQiang")
    assert_clean_landing(stack, resp, "/vision/mobile")
    assert "Mobile home · 刘强" in resp.text


def test_code_is_exchanged_once_with_the_token_of_the_app_that_sent_the_card(stack):
    second = stack.sandbox.app(SECOND_AGENTID)
    stack.sandbox.set_trusted_domain(SECOND_AGENTID, urlsplit(stack.url).netloc)
    stack.host.options.set(
        "wecom", {"app_secrets": f"{stack.app.secret};{second.secret}"}
    )
    stack.host.users.add("zhaomin", alias="赵敏", fields={"wecom.account": "zhaomin"})
    url = card_link(stack, app="报表推送测试", user="zhaomin", member="zhaomin")
    assert f"agentid%3D{SECOND_AGENTID}" in url

    resp = stack.sandbox.follow(url, as_member="zhaomin")
    assert_clean_landing(stack, resp, "/vision/reports/group-report")
    [call] = exchanges(stack)
    token = stack.host.store.kv_get(
        TOKEN_NS, secret_key(stack.sandbox.corpid, second.secret)
    )
    assert call["query"]["access_token"] == token


def test_many_logins_reuse_the_apps_cached_token(stack):
    for member in ("zhangsan", "lisi", "wujun"):
        stack.host.users.add(member, fields={"wecom.account": member})
    for member in ("zhangsan", "lisi", "wujun", MEMBER) * 3:
        resp = stack.sandbox.follow(link(stack, "my-orders"), as_member=member)
        assert resp.status_code == 200
    assert len(exchanges(stack)) == 12
    assert stack.sandbox.call_count("/cgi-bin/gettoken") == 1


# -- reload, back button, second tab, used and expired codes ---------------------


def test_reloading_the_landing_url_needs_no_second_exchange(stack):
    browser = requests.Session()
    resp = stack.sandbox.follow(link(stack, "group-report"), MEMBER, session=browser)
    landing = next(u for u in resp.visited if PORTAL in u)

    # Back button or reload: the same URL with the same, now used, code.
    again = browser.get(
        landing, headers={"User-Agent": WECOM_UA}, allow_redirects=False, timeout=10
    )
    assert again.status_code == 302
    assert again.headers["Location"] == "/vision/reports/group-report"
    assert len(exchanges(stack)) == 1


def test_a_used_code_starts_oauth_again_once_silently(stack):
    first = stack.sandbox.follow(link(stack, "group-report"), MEMBER)
    landing = next(u for u in first.visited if PORTAL in u)

    # Another tab or device without the session opens the same landing URL.
    resp = stack.sandbox.follow(landing, as_member=MEMBER)
    assert_clean_landing(stack, resp, "/vision/reports/group-report")
    assert [urlsplit(u).path for u in resp.visited] == [
        PORTAL,
        "/connect/oauth2/authorize",
        PORTAL,
        "/vision/reports/group-report",
    ]
    assert "retry%3D1" in resp.visited[1]
    assert len(exchanges(stack)) == 3  # the first tap, the used code, the new one


def test_an_expired_code_starts_oauth_again_silently(stack):
    landing = landing_url(stack, link(stack, "my-orders"))
    stack.sandbox.clock.advance(301)  # codes live 300 s
    resp = stack.sandbox.follow(landing, as_member=MEMBER)
    assert_clean_landing(stack, resp, "/vision/reports/my-orders")
    assert len(exchanges(stack)) == 2


def test_a_second_failure_shows_a_page_instead_of_looping(stack):
    stack.sandbox.faults.errcode("auth/getuserinfo", 40029, times=5)
    browser = requests.Session()
    resp = stack.sandbox.follow(link(stack, "group-report"), MEMBER, session=browser)
    assert resp.status_code == 400
    assert "链接已失效 Link expired" in resp.text
    assert "This sign-in code was already used or has expired" in resp.text
    assert [urlsplit(u).path for u in resp.visited] == [
        "/connect/oauth2/authorize",
        PORTAL,
        "/connect/oauth2/authorize",
        PORTAL,
    ]
    assert len(exchanges(stack)) == 2
    assert signed_in_as(stack, browser) is None


def test_a_second_tab_from_the_card_signs_in_again_cleanly(stack):
    browser = requests.Session()
    url = card_link(stack)
    one = stack.sandbox.follow(url, as_member=MEMBER, session=browser)
    two = stack.sandbox.follow(url, as_member=MEMBER, session=browser)
    assert_clean_landing(stack, one, "/vision/reports/group-report")
    assert_clean_landing(stack, two, "/vision/reports/group-report")
    assert len(exchanges(stack)) == 2
    assert signed_in_as(stack, browser) == "陈东平"


# -- shared phones ---------------------------------------------------------------


def test_one_account_cannot_be_bound_to_two_users(stack):
    with pytest.raises(
        ValidationError, match="is already bound to user 'chendongping'"
    ):
        stack.host.users.add("chen2", fields={"wecom.account": "ChenDongPing"})


def test_shared_phone_each_tap_signs_in_whoever_tapped(stack):
    stack.host.users.add("lisi", alias="李四", fields={"wecom.account": "lisi"})
    phone = requests.Session()
    first = stack.sandbox.follow(link(stack, "my-orders"), MEMBER, session=phone)
    assert order_numbers(first.text) == orders_of(MEMBER)

    second = stack.sandbox.follow(link(stack, "my-orders"), "lisi", session=phone)
    assert order_numbers(second.text) == orders_of("lisi")
    assert "李四" in second.text and "陈东平" not in second.text
    assert signed_in_as(stack, phone) == "李四"


def test_shared_phone_a_refused_tap_leaves_nobody_signed_in(stack):
    phone = requests.Session()
    stack.sandbox.follow(link(stack, "my-orders"), MEMBER, session=phone)
    assert signed_in_as(stack, phone) == "陈东平"

    resp = stack.sandbox.follow(link(stack, "my-orders"), "zhangsan", session=phone)
    assert resp.status_code == 403
    assert signed_in_as(stack, phone) is None


# -- refusals --------------------------------------------------------------------


def refused(stack, resp, browser, status, *texts):
    assert resp.status_code == status, resp.text
    for text in texts:
        assert text in html.unescape(resp.text)
    assert resp.headers["Cache-Control"] == "no-store"
    assert "ext_host_session" not in browser.cookies
    assert signed_in_as(stack, browser) is None
    assert '<table id="report">' not in resp.text


def test_member_without_bound_user_is_told_their_userid(stack):
    browser = requests.Session()
    resp = stack.sandbox.follow(link(stack), as_member="zhangsan", session=browser)
    refused(
        stack,
        resp,
        browser,
        403,
        "账号未绑定 Account not bound",
        "No user is bound to WeChat account zhangsan",
        "set the user's WeChat account (微信账号) to zhangsan",
    )


def test_non_member_is_refused(stack):
    browser = requests.Session()
    resp = stack.sandbox.follow(link(stack), as_member=OUTSIDER, session=browser)
    refused(stack, resp, browser, 403, "非企业成员 Not a member")
    assert OUTSIDER not in resp.text


def test_disabled_user_is_refused(stack):
    stack.host.users.update(MEMBER, enabled=False)
    browser = requests.Session()
    resp = stack.sandbox.follow(link(stack, "group-report"), MEMBER, session=browser)
    refused(
        stack,
        resp,
        browser,
        403,
        "用户已停用 User disabled",
        "User chendongping is disabled",
    )


def test_report_not_published_to_mobile_is_refused(stack):
    browser = requests.Session()
    resp = stack.sandbox.follow(link(stack, "product-detail"), MEMBER, session=browser)
    refused(
        stack,
        resp,
        browser,
        403,
        "报表未发布到移动端 Report not published to mobile",
        "The report 产品明细 is not published to mobile",
    )
    assert exchanges(stack) == []


def test_report_the_user_may_not_view_is_refused(stack):
    browser = requests.Session()
    resp = stack.sandbox.follow(link(stack, "finance-summary"), MEMBER, session=browser)
    refused(
        stack,
        resp,
        browser,
        403,
        "无权访问 No access",
        "User chendongping may not view the report 财务汇总",
    )


def test_a_signed_in_user_is_refused_a_report_they_may_not_view(stack):
    browser = requests.Session()
    stack.sandbox.follow(link(stack), MEMBER, session=browser)
    resp = browser.get(
        f"{stack.url}{PORTAL}?wechat=true&report=finance-summary", timeout=10
    )
    refused(stack, resp, browser, 403, "无权访问 No access")


def foreign_state(tmp_path, report, agentid):
    other = SimpleNamespace(secrets=SecretBox(tmp_path / "other-host", env={}))
    return state.sign(other, report, agentid)


@pytest.mark.parametrize(
    "case", ["changed", "missing", "foreign", "other-report", "other-app", "plain"]
)
def test_tampered_or_foreign_state_is_refused(stack, tmp_path, case):
    report, agentid = "group-report", AGENTID
    good = state.sign(stack.host, report, agentid)
    states = {
        "changed": good[:-1] + ("A" if good[-1] != "A" else "B"),
        "missing": "",
        "foreign": foreign_state(tmp_path, report, agentid),
        "other-report": good,
        "other-app": good,
        "plain": "report",  # what an unsigned, guide-style link carries
    }
    target = "my-orders" if case == "other-report" else report
    app = SECOND_AGENTID if case == "other-app" else agentid
    redirect = oauth.portal_url(stack.url, target, app)
    url = oauth.authorize_url(
        stack.sandbox.url, stack.sandbox.corpid, redirect, states[case] or "x"
    )
    if case == "missing":
        url = url.replace("&state=x", "")
    browser = requests.Session()
    resp = stack.sandbox.follow(url, as_member=MEMBER, session=browser)
    refused(
        stack,
        resp,
        browser,
        400,
        "链接无效 Link not valid",
        "This link was changed or was not made by this server",
    )
    assert exchanges(stack) == []


def test_target_that_is_not_a_report_of_this_host_is_refused(stack):
    browser = requests.Session()
    evil = "https://evil.example.com/phish"
    resp = stack.sandbox.follow(link(stack, evil), MEMBER, session=browser)
    refused(
        stack,
        resp,
        browser,
        404,
        "报表不存在 Report not found",
        "This link does not point to a report of this server",
    )
    hosts = {urlsplit(u).netloc for u in resp.visited}
    assert hosts == {urlsplit(stack.url).netloc, urlsplit(stack.sandbox.url).netloc}
    assert exchanges(stack) == []


def test_unknown_report_url_goes_to_sign_in_then_is_refused(stack):
    browser = requests.Session()
    resp = stack.sandbox.follow(
        f"{stack.url}/vision/reports/no-such-report", MEMBER, session=browser
    )
    refused(stack, resp, browser, 404, "报表不存在 Report not found")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/vision/reports/group-report", (True, "group-report")),
        ("/vision/reports/my-orders?x=1", (True, "my-orders")),
        ("/vision/reports/%E6%8A%A5%E8%A1%A8", (True, "报表")),
        ("/vision/mobile", (True, None)),
        ("/", (True, None)),
        ("/vision/logout", (False, None)),
        ("https://evil.example.com/vision/reports/x", (True, "x")),
        ("//evil.example.com/", (True, None)),  # its path is "/": the home
        ("/vision/reports/a/b", (False, None)),
    ],
)
def test_only_report_pages_and_the_home_are_portal_targets(path, expected):
    # A full URL keeps only its path: the portal redirects with url_for, never
    # to a host taken from the target.
    assert target_of(path) == expected


def secret_reset(stack):
    """The administrator resets the app's secret in WeCom: the stored one dies."""
    stack.sandbox.app(AGENTID).secret = "Reset" + "x" * 38
    stack.sandbox.faults.expire_tokens()


@pytest.mark.parametrize("warm", [True, False], ids=["cached-app", "cold"])
def test_app_secret_that_no_longer_works_is_refused(stack, warm):
    secret = stack.app.secret
    if warm:  # the app and its token are cached from an earlier tap
        stack.sandbox.follow(link(stack), MEMBER)
    secret_reset(stack)
    browser = requests.Session()
    resp = stack.sandbox.follow(link(stack, "group-report"), MEMBER, session=browser)
    refused(
        stack,
        resp,
        browser,
        503,
        "应用Secret已失效 App secret no longer works",
        "copy the app's Secret again into WeChat settings (微信设置)",
        "errcode 40001",
    )
    assert secret not in resp.text


def test_trusted_domain_mismatch_is_explained(stack):
    # The home link carries no agentid; WeCom accepts it for app 2's domain,
    # but the only configured app (DEMO) has another trusted domain: 50001.
    stack.sandbox.set_trusted_domain(SECOND_AGENTID, urlsplit(stack.url).netloc)
    stack.sandbox.set_trusted_domain(AGENTID, "demo.example.com")
    browser = requests.Session()
    resp = stack.sandbox.follow(link(stack, agentid=None), MEMBER, session=browser)
    refused(
        stack,
        resp,
        browser,
        502,
        "可信域名不一致 Trusted domain mismatch",
        "must equal the server address's host and port exactly",
    )


# -- session security ------------------------------------------------------------


def test_session_cookie_is_httponly_lax_and_expires(stack):
    landing = landing_url(stack, link(stack))
    resp = requests.get(landing, allow_redirects=False, timeout=10)
    cookie = resp.headers["Set-Cookie"]
    assert cookie.startswith("ext_host_session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # the server address is http
    assert "Expires=" in cookie
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["Referrer-Policy"] == "no-referrer"


def test_session_cookie_is_secure_when_the_server_address_is_https(stack):
    https = stack.url.replace("http://", "https://")
    stack.host.options.set("wecom", {"server_address": https})
    landing = landing_url(stack, link(stack))
    assert landing.startswith(f"{https}{PORTAL}?")
    # As a TLS-terminating proxy would forward it, in plain HTTP.
    resp = requests.get(
        landing.replace("https://", "http://", 1), allow_redirects=False, timeout=10
    )
    assert resp.status_code == 302
    assert "Secure" in resp.headers["Set-Cookie"]
    assert "HttpOnly" in resp.headers["Set-Cookie"]


def test_session_ends_after_its_lifetime(stack):
    browser = requests.Session()
    stack.sandbox.follow(link(stack), MEMBER, session=browser)
    assert signed_in_as(stack, browser) == "陈东平"
    stack.host.config = dataclasses.replace(stack.host.config, session_lifetime=0)
    resp = browser.get(
        f"{stack.url}/vision/reports/group-report", allow_redirects=False, timeout=10
    )
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith(f"{stack.sandbox.url}/wwlogin/")


def test_logout_ends_the_session_and_its_copies(stack):
    browser = requests.Session()
    stack.sandbox.follow(link(stack), MEMBER, session=browser)
    copy = browser.cookies.get("ext_host_session")
    assert copy

    out = browser.get(f"{stack.url}/vision/logout", timeout=10)
    assert "已退出 Signed out" in out.text
    assert signed_in_as(stack, browser) is None

    thief = requests.Session()
    thief.cookies.set("ext_host_session", copy)
    assert signed_in_as(stack, thief) is None


def test_no_code_token_or_key_in_logs_or_pages(stack, caplog, capsys):
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    setup_logging(debug=True)  # the production handler, urllib3 included
    root.addHandler(caplog.handler)
    caplog.set_level(logging.DEBUG)
    pages = []
    try:
        browser = requests.Session()
        ok = stack.sandbox.follow(card_link(stack), MEMBER, session=browser)
        landing = next(u for u in ok.visited if PORTAL in u)
        pages += [ok, stack.sandbox.follow(landing, MEMBER)]  # used code, retried
        stack.sandbox.faults.errcode("auth/getuserinfo", 40029, times=2)
        pages.append(stack.sandbox.follow(link(stack), MEMBER))
        pages.append(stack.sandbox.follow(link(stack), "zhangsan"))
        secret_reset(stack)
        pages.append(stack.sandbox.follow(link(stack), MEMBER))
    finally:
        root.handlers[:], root.level = saved
    stderr = capsys.readouterr().err

    assert [p.status_code for p in pages] == [200, 200, 400, 403, 503]
    codes = [c["query"]["code"] for c in exchanges(stack)]
    tokens = {c["query"]["access_token"] for c in exchanges(stack)}
    key = stack.host.secrets.derive("flask-session")
    secrets = [*codes, *tokens, "qZuuD_1O_Nl2SJkbKR2kTpKQ7wn_nz31l-AOJK8Dzps"]
    secrets += [key.hex(), key.decode("latin-1")]
    ours = "\n".join(
        r.getMessage()
        for r in caplog.records
        if r.name.startswith(("ext_host", "ext_wecom"))
    )
    assert "signed in as chendongping" in ours  # the logs are there...
    assert "code=***" in stderr  # ...and urllib3's URLs were masked
    for secret in secrets:
        assert secret not in ours
        assert secret not in stderr
        for page in pages:
            assert secret not in page.text
