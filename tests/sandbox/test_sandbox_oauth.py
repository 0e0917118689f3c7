import threading
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from sandbox_corp import CONTACTS_SECRET, CORPID, OTHER_SECRET


class Portal:
    """A stand-in for the product's portal: exchanges the code it receives."""

    def __init__(self, sb, secret):
        import waitress
        from flask import Flask, request

        self.sb, self.secret, self.results = sb, secret, []
        app = Flask("portal")

        @app.get("/portal")
        def portal():
            token = requests.get(
                f"{sb.url}/cgi-bin/gettoken",
                params={"corpid": CORPID, "corpsecret": self.secret},
                timeout=5,
            ).json()["access_token"]
            info = requests.get(
                f"{sb.url}/cgi-bin/auth/getuserinfo",
                params={"access_token": token, "code": request.args["code"]},
                timeout=5,
            ).json()
            self.results.append((dict(request.args), info))
            return f"hello {info.get('userid') or info.get('openid')}"

        self.server = waitress.create_server(app, host="127.0.0.1", port=0)
        self.host = f"127.0.0.1:{self.server.effective_port}"
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        # Sockets are closed in the loop's own thread: closing them from the
        # test's thread under a running select() breaks other servers' fds.
        server = self.server
        while not self._stopping.is_set():
            server.asyncore.loop(timeout=0.5, map=server._map, count=1)
        with self._lock:
            for channel in list(server._map.values()):
                channel.close()
        server.task_dispatcher.shutdown(cancel_pending=True, timeout=5)

    def close(self):
        with self._lock:
            self._stopping.set()
            self.server.pull_trigger()
        self._thread.join(timeout=10)


@pytest.fixture
def portal(sb):
    from sandbox_corp import DEMO_SECRET

    p = Portal(sb, DEMO_SECRET)
    sb.set_trusted_domain(1000008, p.host)
    yield p
    p.close()


def authorize_url(sb, redirect_uri, **extra):
    params = {
        "appid": CORPID,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": "snsapi_base",
        "state": "STATE1",
        "agentid": 1000008,
        **extra,
    }
    return f"{sb.url}/connect/oauth2/authorize?{urlencode(params)}#wechat_redirect"


def test_follow_a_link_signs_the_member_in(sb, portal):
    url = authorize_url(sb, f"http://{portal.host}/portal?report=7")
    resp = sb.follow(url, as_member="ZhangSan")
    assert resp.status_code == 200 and resp.text == "hello zhangsan"
    assert len(resp.visited) == 2 and len(resp.history) == 1
    args, info = portal.results[0]
    assert args["report"] == "7" and args["state"] == "STATE1"
    assert info == {"errcode": 0, "errmsg": "ok", "userid": "zhangsan"}


def test_member_outside_visible_range_is_still_returned(sb, portal):
    sb.follow(authorize_url(sb, f"http://{portal.host}/portal"), as_member="zhaomin")
    assert portal.results[0][1]["userid"] == "zhaomin"


def test_external_visitor_gets_openid(sb, portal):
    sb.follow(
        authorize_url(sb, f"http://{portal.host}/portal"), as_member="oEXTERNAL0001"
    )
    assert portal.results[0][1] == {
        "errcode": 0,
        "errmsg": "ok",
        "openid": "oEXTERNAL0001",
    }


def code_for(sb, member, redirect_uri="http://demo.example.com/cb", **extra):
    resp = requests.get(
        authorize_url(sb, redirect_uri, **extra),
        headers={"X-WeCom-Member": member},
        allow_redirects=False,
        timeout=5,
    )
    assert resp.status_code == 302, resp.text
    query = parse_qs(urlsplit(resp.headers["Location"]).query)
    return query["code"][0]


def test_code_is_single_use_and_lives_five_minutes(sb, client):
    token = client.token()
    code = code_for(sb, "zhangsan")
    assert client.get("auth/getuserinfo", access_token=token, code=code)["errcode"] == 0
    again = client.get("auth/getuserinfo", access_token=token, code=code)
    assert (again["errcode"], again["errmsg"]) == (40029, "invalid code")

    late = code_for(sb, "zhangsan")
    sb.clock.advance(301)
    token = client.token()
    assert (
        client.get("auth/getuserinfo", access_token=token, code=late)["errcode"]
        == 40029
    )
    assert (
        client.get("auth/getuserinfo", access_token=token, code="nope")["errcode"]
        == 40029
    )


def test_code_exchanged_by_another_app_is_50001(sb, client):
    code = code_for(sb, "zhangsan")
    other = client.token(OTHER_SECRET)
    assert (
        client.get("auth/getuserinfo", access_token=other, code=code)["errcode"]
        == 50001
    )
    contacts = client.token(CONTACTS_SECRET)
    assert (
        client.get("auth/getuserinfo", access_token=contacts, code=code)["errcode"]
        == 50001
    )
    # The refused exchange did not consume the code.
    token = client.token()
    assert (
        client.get("auth/getuserinfo", access_token=token, code=code)["userid"]
        == "zhangsan"
    )


def test_privateinfo_gives_a_user_ticket_in_range(sb, client):
    token = client.token()
    code = code_for(sb, "zhangsan", scope="snsapi_privateinfo")
    info = client.get("auth/getuserinfo", access_token=token, code=code)
    detail = client.post(
        "auth/getuserdetail", {"user_ticket": info["user_ticket"]}, token
    )
    assert detail["mobile"] == "13800000001" and detail["userid"] == "zhangsan"

    out_of_range = code_for(sb, "zhaomin", scope="snsapi_privateinfo")
    info = client.get("auth/getuserinfo", access_token=token, code=out_of_range)
    assert "user_ticket" not in info


def test_old_getuserinfo_uses_capitalised_keys(sb, client):
    token = client.token()
    info = client.get("user/getuserinfo", access_token=token, code=code_for(sb, "lisi"))
    assert info["UserId"] == "lisi"


def test_redirect_keeps_query_and_omits_empty_state(sb):
    resp = requests.get(
        authorize_url(sb, "http://demo.example.com/cb?a=1", state=""),
        headers={"X-WeCom-Member": "lisi"},
        allow_redirects=False,
        timeout=5,
    )
    query = parse_qs(urlsplit(resp.headers["Location"]).query)
    assert query["a"] == ["1"] and "state" not in query and "code" in query


@pytest.mark.parametrize(
    "override",
    [
        {"appid": "wwother"},
        {"response_type": "token"},
        {"scope": "snsapi_userinfo"},
        {"state": "bad state!"},
        {"state": "a" * 129},
        {"redirect_uri": "http://evil.example.com/cb"},
        {"redirect_uri": "http://demo.example.com:8080/cb"},
        {"agentid": 1000009},
        {"agentid": 5},
    ],
)
def test_authorize_refuses_bad_requests_with_400(sb, override):
    params = {"redirect_uri": "http://demo.example.com/cb", **override}
    redirect_uri = params.pop("redirect_uri")
    resp = requests.get(
        authorize_url(sb, redirect_uri, **params),
        headers={"X-WeCom-Member": "zhangsan"},
        allow_redirects=False,
        timeout=5,
    )
    assert resp.status_code == 400


def test_without_agentid_any_apps_trusted_domain_will_do(sb):
    params = {
        "appid": CORPID,
        "redirect_uri": "http://other.example.com/cb",
        "response_type": "code",
        "scope": "snsapi_base",
    }
    resp = requests.get(
        f"{sb.url}/connect/oauth2/authorize?{urlencode(params)}",
        headers={"X-WeCom-Member": "zhangsan"},
        allow_redirects=False,
        timeout=5,
    )
    assert resp.status_code == 302


def test_no_identity_shows_a_chooser_and_query_sets_cookie(sb):
    url = authorize_url(sb, "http://demo.example.com/cb").split("#")[0]
    page = requests.get(url, timeout=5)
    assert page.status_code == 200 and "sandbox_member=zhangsan" in page.text
    assert "disabled" not in page.text and "oEXTERNAL0001" in page.text

    session = requests.Session()
    first = session.get(url + "&sandbox_member=lisi", allow_redirects=False, timeout=5)
    assert first.status_code == 302
    assert session.cookies.get("wecom_sandbox_member") == "lisi"
    second = session.get(url, allow_redirects=False, timeout=5)
    assert second.status_code == 302


def test_disabled_or_unknown_member_cannot_authorize(sb):
    url = authorize_url(sb, "http://demo.example.com/cb")
    for who, status in (("disabled", 403), ("gone", 403), ("stranger", 400)):
        resp = requests.get(
            url, headers={"X-WeCom-Member": who}, timeout=5, allow_redirects=False
        )
        assert resp.status_code == status


def test_desktop_browser_is_told_to_open_in_wecom(sb, portal):
    resp = sb.follow(
        authorize_url(sb, f"http://{portal.host}/portal"),
        as_member="zhangsan",
        inside_wecom=False,
    )
    assert resp.status_code == 200 and "请在企业微信客户端打开链接" in resp.text
    assert portal.results == []


def test_web_login_outside_wecom(sb, portal):
    params = {
        "login_type": "CorpApp",
        "appid": CORPID,
        "agentid": 1000008,
        "redirect_uri": f"http://{portal.host}/portal",
        "state": "S1",
    }
    url = f"{sb.url}/wwlogin/sso/login?{urlencode(params)}"
    page = requests.get(url, timeout=5)
    assert page.status_code == 200 and "sandbox_member=zhangsan" in page.text
    assert "oEXTERNAL0001" not in page.text

    resp = sb.follow(url, as_member="zhangsan", inside_wecom=False)
    assert resp.text == "hello zhangsan"
    assert portal.results[0][0]["state"] == "S1"

    bad = requests.get(url.replace("agentid=1000008", "agentid=1000009"), timeout=5)
    assert bad.status_code == 400
