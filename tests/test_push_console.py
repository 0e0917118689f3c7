"""The console's push history: administrators only, every value escaped."""

import re

import requests
from stackkit import MEMBER

from ext_wecom import oauth
from ext_wecom.push import push_report


def signed_in(stack, member):
    link = oauth.member_link(stack.host)  # signed: see ext_wecom/state.py
    session = requests.Session()
    resp = stack.sandbox.follow(link, as_member=member, session=session)
    assert resp.status_code == 200
    return session


def console_session(stack, name, password):
    """Signed in through the console's password form (a WeCom sign-in does not
    open the console: see ext_host/sessions.py)."""
    session = requests.Session()
    page = session.get(f"{stack.url}/console/login", timeout=10).text
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    resp = session.post(
        f"{stack.url}/console/login",
        data={"name": name, "password": password, "csrf_token": token},
        allow_redirects=False,
        timeout=10,
    )
    assert resp.status_code == 302
    return session


def test_admin_sees_the_history_and_one_push_escaped(stack):
    stack.host.users.update(MEMBER, admin=True, password="member-Pass-1")
    stack.host.users.add("zm", fields={"wecom.account": "zhaomin"})
    push_report(stack.host, "group-report", "DEMO", "<b>周报</b>", users=[MEMBER, "zm"])
    session = console_session(stack, MEMBER, "member-Pass-1")

    page = session.get(f"{stack.url}/console/wecom/pushes", timeout=10)
    assert page.status_code == 200
    assert "&lt;b&gt;周报&lt;/b&gt;" in page.text and "<b>周报" not in page.text
    assert '<td class="state">sent</td>' in page.text
    # It is a console page: the console's navigation (with itself in it, marked
    # as the current section) and its sign-out.
    assert (
        '<a href="/console/wecom/pushes" class="active">推送记录 <small>Push '
        "history</small></a>" in page.text
    )
    assert (
        '<a href="/console/config" class="">配置 <small>Config</small></a>' in page.text
    )
    assert "退出 Sign out" in page.text
    config = session.get(f"{stack.url}/console/config", timeout=10)
    assert '<a href="/console/wecom/pushes" class="">推送记录' in config.text

    detail = session.get(f"{stack.url}/console/wecom/pushes/1", timeout=10)
    assert detail.status_code == 200
    assert '<strong id="state">sent</strong>' in detail.text
    assert (
        "<td>invaliduser: unknown, inactive or outside the app&#39;s visible range</td>"
        in detail.text
    )
    assert (
        session.get(f"{stack.url}/console/wecom/pushes/9", timeout=10).status_code
        == 404
    )


def test_others_are_refused(stack):
    stack.host.users.add("zs", fields={"wecom.account": "zhangsan"})
    session = signed_in(stack, "zhangsan")
    page = session.get(f"{stack.url}/console/wecom/pushes", timeout=10)
    assert page.status_code == 403
    assert "Only administrators may see the push history." in page.text
    anonymous = requests.get(f"{stack.url}/console/wecom/pushes/1", timeout=10)
    assert anonymous.status_code == 403
