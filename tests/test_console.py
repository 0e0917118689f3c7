"""The console over HTTP (Flask's test client on the real app and host, the
sandbox over real HTTP): sign-in, CSRF refusals, secrets never returned,
errors beside their fields, extension upload, users, the push dialog."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import requests
from PIL import Image
from stackkit import AGENTID, MEMBER

from ext_host import install
from ext_host.archive import pack
from ext_host.web import create_app
from ext_wecom import oauth, settings
from ext_wecom.clock import MEMBER_LIMITS_ENV

ADMIN, PASSWORD = "admin", "Adm1n-pass!"
WRONG_SECRET = "WrongSecret-0123456789abcdef"


class Console:
    """A signed-in administrator's browser, without the browser."""

    def __init__(self, host):
        self.host = host
        self.client = create_app(host).test_client()
        self.token = ""

    def page(self, path: str, status: int = 200) -> str:
        response = self.client.get(path)
        assert response.status_code == status, (path, response.status_code)
        text = response.get_data(as_text=True)
        found = re.search(r'name="csrf-token" content="([^"]+)"', text)
        if found:
            self.token = found.group(1)
        return text

    def login(self, name: str = ADMIN, password: str = PASSWORD):
        self.page("/console/login")
        return self.client.post(
            "/console/login",
            data={"name": name, "password": password, "csrf_token": self.token},
        )

    def post(self, path: str, data: dict | None = None, **kwargs):
        return self.client.post(
            path, data={**(data or {}), "csrf_token": self.token}, **kwargs
        )

    def json(self, method: str, path: str, body=None):
        return self.client.open(
            path,
            method=method,
            json=body if body is not None else {},
            headers={"X-CSRFToken": self.token, "Accept": "application/json"},
        )


def admin_console(host) -> Console:
    host.users.add(ADMIN, password=PASSWORD, admin=True)
    console = Console(host)
    assert console.login().status_code == 302
    console.page("/console/config")
    return console


@pytest.fixture
def console(stack) -> Console:
    return admin_console(stack.host)


def png(width: int, height: int, kind: str = "PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (30, 110, 200)).save(out, kind)
    return out.getvalue()


# -- sign-in and CSRF ------------------------------------------------------------


def test_console_pages_send_visitors_to_the_sign_in(stack):
    client = create_app(stack.host).test_client()
    response = client.get("/console/users")
    assert response.status_code == 302
    assert response.headers["Location"] == "/console/login?next=/console/users"
    response = client.get(
        "/console/menus/report/group-report", headers={"Accept": "application/json"}
    )
    assert response.status_code == 401
    assert response.get_json() == {
        "ok": False,
        "error": "sign in to the console first",
    }


@pytest.mark.parametrize(
    ("name", "password"),
    [(ADMIN, "wrong"), ("nobody", PASSWORD), (MEMBER, "member-pass")],
)
def test_sign_in_refuses_wrong_passwords_and_users_who_are_not_admins(
    stack, name, password
):
    stack.host.users.update(MEMBER, password="member-pass")
    stack.host.users.add(ADMIN, password=PASSWORD, admin=True)
    console = Console(stack.host)
    response = console.login(name, password)
    assert response.status_code == 401
    assert (
        "用户名或密码错误，或不是管理员 Wrong name or password, or not an administrator"
        in response.get_data(as_text=True)
    )
    assert console.client.get("/console/config").status_code == 302


def test_sign_in_page_tells_how_to_create_the_first_admin(stack):
    text = Console(stack.host).page("/console/login")
    assert "ext-host users add NAME --admin --password PASSWORD" in text


def test_session_cookie_is_httponly_and_samesite(stack):
    stack.host.users.add(ADMIN, password=PASSWORD, admin=True)
    response = Console(stack.host).login()
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_forms_without_the_csrf_token_are_refused_and_change_nothing(console):
    before = console.host.options.get("wecom")
    response = console.client.post(
        "/console/options/wecom", data={"corpid": "ww0000000000000000"}
    )
    assert response.status_code == 400
    assert "The CSRF token is missing." in response.get_data(as_text=True)
    assert console.host.options.get("wecom") == before

    response = console.client.post(
        "/console/options/wecom/actions/generate_link",
        json={},
        headers={"X-CSRFToken": "forged"},
    )
    assert response.status_code == 400
    assert "The CSRF token is invalid." in response.get_json()["error"]

    response = console.client.post(
        "/console/users/new", data={"name": "mallory", "admin": "1"}
    )
    assert response.status_code == 400
    assert console.host.users.find("mallory") is None


# -- system options -------------------------------------------------------------------


def test_no_page_or_json_answer_contains_a_secret(console, stack):
    secrets = [stack.app.secret, stack.sandbox.corp.contacts_secret]
    answers = [
        console.page(path)
        for path in (
            "/console/config",
            "/console/options/wecom",
            "/console/users",
            "/console/users/new",
            f"/console/users/{MEMBER}",
            "/console/resources",
        )
    ]
    for action in ("test_connection", "generate_link"):
        answers.append(
            console.json("POST", f"/console/options/wecom/actions/{action}").get_data(
                as_text=True
            )
        )
    for path in (
        "/console/menus/report/group-report",
        "/console/menus/report/group-report/wecom.push",
    ):
        answers.append(console.json("GET", path).get_data(as_text=True))
    response = console.post(
        "/console/options/wecom", {"corpid": "bad", "app_secrets": ""}
    )
    answers.append(response.get_data(as_text=True))
    for answer in answers:
        for secret in secrets:
            assert secret not in answer
    assert (
        'placeholder="已设置，留空保持不变 set; leave empty to keep it"' in answers[1]
    )


def panel_form(stack, **changes) -> dict:
    values = {
        "corpid": stack.sandbox.corpid,
        "app_secrets": "",
        "contacts_secret": "",
        "server_address": stack.url,
        "api_base": stack.sandbox.url,
        "oauth_base": stack.sandbox.url,
    }
    values.update(changes)
    return values


def test_saving_with_empty_secrets_keeps_them_and_a_new_secret_replaces_them(
    console, stack
):
    response = console.post("/console/options/wecom", panel_form(stack))
    assert response.status_code == 200  # saved, with the IP address warning
    assert "已保存，但有警告 Saved 微信设置 WeChat settings, with warnings" in (
        response.get_data(as_text=True)
    )
    stored = console.host.options.get("wecom")
    assert stored["app_secrets"] == stack.app.secret
    assert stored["contacts_secret"] == stack.sandbox.corp.contacts_secret

    other = stack.sandbox.app(1000009).secret
    response = console.post(
        "/console/options/wecom",
        panel_form(stack, app_secrets=f" {stack.app.secret} ; {other} "),
    )
    assert response.status_code == 200
    assert console.host.options.get("wecom")["app_secrets"] == (
        f"{stack.app.secret};{other}"
    )
    raw = console.host.store.query_one(
        "SELECT value FROM options WHERE key = 'wecom.app_secrets'"
    )["value"]
    assert stack.app.secret not in raw


def test_errors_show_beside_their_fields_and_nothing_is_stored(console, stack):
    before = console.host.options.get("wecom")
    response = console.post(
        "/console/options/wecom",
        panel_form(
            stack,
            corpid="wx123",
            app_secrets=f"{stack.app.secret};;x",
            server_address="ftp://bi",
        ),
    )
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert re.search(
        r'id="error-corpid">微信CorpID WeChat CorpID: &#39;wx123&#39; has the wrong '
        r"format; a CorpID is ww \(or wx\) and 16 letters or digits, such as "
        r"ww74a64be8259678d1 \(我的企业 &gt; 企业ID\)<",
        text,
    )
    assert (
        'id="error-app_secrets">企业应用Secret: entry 2 is empty; remove the extra '
        "&#39;;&#39;<" in text
    )
    assert 'id="error-server_address">服务器地址 Server address: ' in text
    assert 'value="wx123"' in text  # what was typed is kept on the form
    assert console.host.options.get("wecom") == before


def test_an_ip_address_is_saved_with_the_trusted_domain_warning(console, stack):
    response = console.post(
        "/console/options/wecom", panel_form(stack, server_address="http://10.0.0.5")
    )
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert (
        'id="warning-server_address">服务器地址: 10.0.0.5 is an IP address; WeCom '
        "accepts only a registered domain name as trusted domain (the sandbox "
        "accepts it)<" in text
    )
    assert console.host.options.get("wecom")["server_address"] == "http://10.0.0.5"


def test_auto_detect_offers_the_address_the_admin_browses_on(console):
    text = console.page("/console/options/wecom")
    assert (
        'class="autodetect" data-target="f-server_address" '
        'data-value="http://localhost">自动获取 Auto-detect<' in text
    )


def test_test_connection_names_the_failing_secret_by_position(console, stack):
    stack.host.options.set(
        "wecom", {"app_secrets": f"{stack.app.secret};{WRONG_SECRET}"}
    )
    body = console.json("POST", "/console/options/wecom/actions/test_connection")
    result = body.get_json()
    failure = (
        "secret #2: WeCom gettoken failed: errcode 40001 (invalid credential); "
        "the secret is wrong or was reset; copy it again from the app's page"
    )
    assert result == {
        "ok": False,
        "message": "企业应用Secret #1: app DEMO (agentid 1000008) ok\n"
        f"通讯管理Secret: ok\n{failure}",
        "data": {
            "apps": [{"agentid": AGENTID, "name": "DEMO", "position": 1}],
            "problems": [failure],
            "warnings": [],
        },
    }
    assert WRONG_SECRET not in body.get_data(as_text=True)


def test_test_connection_warns_when_the_trusted_domain_differs(console, stack):
    stack.sandbox.set_trusted_domain(AGENTID, "demo.example.com")
    result = console.json(
        "POST", "/console/options/wecom/actions/test_connection"
    ).get_json()
    domain = stack.url.split("://")[1]
    assert result["ok"] is True
    assert result["data"]["warnings"] == [
        "app DEMO: its trusted domain (可信域名) is 'demo.example.com' but the "
        f"server address's host is '{domain}'; WeCom will refuse to sign members "
        "in until they match exactly, port included"
    ]


def test_generate_link_gives_the_link_and_the_trusted_domain_reminder(console, stack):
    result = console.json(
        "POST", "/console/options/wecom/actions/generate_link"
    ).get_json()
    link = oauth.member_link(stack.host)  # signed: see ext_wecom/state.py
    domain = stack.url.split("://")[1]
    assert result == {
        "ok": True,
        "message": link,
        "data": {
            "link": link,
            "note": "Paste it as the app's home page (工作台应用主页). The server "
            f"address's host, {domain}, must be the app's trusted domain "
            "(网页授权及JS-SDK > 可信域名), port included.",
        },
    }


@pytest.mark.parametrize(
    ("address", "domain"),
    [
        ("https://bi.example.com", "bi.example.com"),
        ("https://BI.example.com:443/demo", "bi.example.com"),
        ("http://bi.example.com:80", "bi.example.com"),
        ("http://bi.example.com:8080/x", "bi.example.com:8080"),
        ("https://bi.example.com:80", "bi.example.com:80"),
        ("http://127.0.0.1:5000", "127.0.0.1:5000"),
    ],
)
def test_server_domain_is_what_wecom_compares(address, domain):
    assert settings.server_domain(address) == domain


# -- config page -----------------------------------------------------------------------


def test_upload_installs_the_archive_and_refuses_a_bad_one(make_host, wecom_archive):
    host = make_host()
    console = admin_console(host)
    text = console.page("/console/config")
    assert f'<code id="ext-folder">{host.config.extensions_dir}</code>' in text
    assert "没有扩展 No extensions in the folder yet." in text

    response = console.post(
        "/console/extensions/upload",
        {"archive": (io.BytesIO(b"not a zip"), "wecom.ext")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "上传失败 Upload refused: " in response.get_data(as_text=True)
    # A refused upload leaves the folder exactly as it was (no staging folder).
    assert sorted(p.name for p in host.config.extensions_dir.iterdir()) == []

    response = console.post(
        "/console/extensions/upload",
        {"archive": (io.BytesIO(wecom_archive.read_bytes()), "wecom.ext")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    target = host.config.extensions_dir / "wecom.ext"
    assert (
        f"installed wecom 1.0.0 as {target}; reloaded: wecom is loaded; restart the "
        "host to serve its new HTTP routes" in response.get_data(as_text=True)
    )
    assert target.read_bytes() == wecom_archive.read_bytes()


def test_manifest_text_is_escaped_and_extensions_can_be_disabled(
    make_host, tmp_path: Path
):
    package = tmp_path / "evil_ext"
    package.mkdir()
    (package / "__init__.py").write_text("class Plugin:\n    pass\n")
    (package / "extension.yaml").write_text(
        "name: evil\nversion: 1.0.0\nentry: evil_ext:Plugin\n"
        "description: <script>alert(1)</script>\nalias: <b>x</b>\n"
    )
    archive = pack(package, out_dir=tmp_path / "out")
    host = make_host([archive])
    console = admin_console(host)
    text = console.page("/console/config")
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "&lt;b&gt;x&lt;/b&gt;" in text

    response = console.post("/console/extensions/evil/disable", follow_redirects=True)
    assert "disabled evil; reloaded: evil disabled: disabled by the operator" in (
        response.get_data(as_text=True)
    )
    assert host.is_enabled("evil") is False
    response = console.post(
        "/console/extensions/evil/remove", {"purge": "1"}, follow_redirects=True
    )
    assert "removed evil (its settings were deleted)" in response.get_data(as_text=True)
    assert not (host.config.extensions_dir / "evil.ext").exists()


# -- users -----------------------------------------------------------------------------


def user_form(**values) -> dict:
    form = {"name": "cdp", "alias": "陈东平", "enabled": "1", "phone": ""}
    form.update(values)
    return form


def test_user_form_shows_each_error_beside_its_field(console):
    response = console.post(
        "/console/users/new",
        user_form(**{"field:wecom.account": "-chen", "phone": "abc"}),
    )
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert (
        'id="error-wecom-account">微信账号 WeChat account: must start with a '
        "letter or digit<" in text
    )
    assert (
        'id="error-phone">phone may hold only digits, spaces, &#39;-&#39; and a '
        "leading &#39;+&#39;<" in text
    )
    assert 'value="-chen"' in text
    assert console.host.users.find("cdp") is None

    response = console.post(
        "/console/users/new", user_form(**{"field:wecom.account": MEMBER.upper()})
    )
    assert (
        f"微信账号 WeChat account: {MEMBER.upper()!r} is already bound to user "
        f"{MEMBER!r}".replace("'", "&#39;")
        in response.get_data(as_text=True)
    )

    response = console.post(
        "/console/users/new",
        user_form(**{"field:wecom.account": "LiuQiang", "phone": "13800000007"}),
    )
    assert response.status_code == 303
    user = console.host.users.get("cdp")
    assert (user.alias, user.phone, user.fields) == (
        "陈东平",
        "13800000007",
        {"wecom.account": "LiuQiang"},
    )


def test_edit_and_disable_a_user_but_not_yourself(console):
    response = console.post(
        f"/console/users/{MEMBER}",
        {"alias": "陈", "enabled": "1", "field:wecom.account": "", "phone": "1380"},
    )
    assert response.status_code == 303
    user = console.host.users.get(MEMBER)
    assert (user.alias, user.phone, user.fields) == ("陈", "1380", {})

    console.post(f"/console/users/{MEMBER}/enabled", {"enabled": "0"})
    assert console.host.users.get(MEMBER).enabled is False

    response = console.post(
        f"/console/users/{ADMIN}/enabled", {"enabled": "0"}, follow_redirects=True
    )
    assert "不能停用自己 You cannot disable yourself" in response.get_data(as_text=True)
    assert console.host.users.get(ADMIN).enabled is True


def test_an_admin_needs_matching_passwords(console):
    response = console.post(
        "/console/users/new",
        user_form(admin="1", password="one-pass", password2="other-pass"),
    )
    assert 'id="error-password2">两次输入的密码不一致 The passwords do not match<' in (
        response.get_data(as_text=True)
    )
    assert console.host.users.find("cdp") is None


# -- resources, the push dialog, pictures ---------------------------------------------


def test_resource_tree_lists_reports_by_folder(console):
    text = console.page("/console/resources")
    assert '<span class="folder-name">📁 示例报表</span>' in text
    assert 'data-kind="report" data-id="group-report" data-name="1分组报表"' in text
    items = console.json("GET", "/console/menus/report/group-report").get_json()
    assert items == {
        "ok": True,
        "items": [
            {
                "id": "wecom.push",
                "label": "推送到企业号 Push to WeCom",
                "ext": "wecom",
                "dialog": True,
            }
        ],
    }
    missing = console.json("GET", "/console/menus/report/nope")
    assert missing.status_code == 404


def test_push_dialog_offers_apps_users_and_groups(console, stack):
    stack.host.users.add("nobind", alias="无账号")
    stack.host.users.add_group("销售部")
    stack.host.users.add_to_group("nobind", "销售部")
    stack.host.users.add_to_group(MEMBER, "销售部")
    answer = console.json(
        "GET", "/console/menus/report/group-report/wecom.push"
    ).get_json()
    assert answer["values"] == {
        "title": "1分组报表",
        "description": "按区域分组的销售汇总 Sales by region",
        "app": "DEMO",
        "url": oauth.member_link(stack.host, "group-report", AGENTID),
    }
    assert answer["choices"] == {
        "app": [{"value": "DEMO", "label": "DEMO (agentid 1000008)"}],
        "users": [
            {"value": ADMIN, "label": f"{ADMIN} · 无微信账号 no WeChat account",
             "warn": f"{ADMIN}: no WeChat account (未填写微信账号)"},
            {"value": MEMBER, "label": f"{MEMBER} 陈东平 · 微信账号 {MEMBER}",
             "warn": ""},
            {"value": "nobind", "label": "nobind 无账号 · 无微信账号 no WeChat account",
             "warn": "nobind: no WeChat account (未填写微信账号)"},
        ],
        "groups": [
            {"value": "销售部", "label": "销售部 (2 users)",
             "warn": "销售部: nobind without a WeChat account"},
        ],
    }  # fmt: skip
    assert answer["schema"]["properties"]["title"]["x-max-bytes"] == 128


def test_push_from_the_dialog_with_a_picture_and_a_group(console, stack):
    stack.host.users.add("nobind")
    stack.host.users.add_group("销售部")
    stack.host.users.add_group("华东销售组", parent="销售部")
    stack.host.users.add_to_group("nobind", "华东销售组")
    stack.host.users.add_to_group(MEMBER, "销售部")

    upload = console.client.post(
        "/console/uploads",
        data={
            "file": (io.BytesIO(png(900, 500)), "card.png"),
            "recommended": "900x500",
        },
        headers={"X-CSRFToken": console.token},
        content_type="multipart/form-data",
    ).get_json()
    picture = upload["picture"]
    assert (picture["width"], picture["height"], picture["format"]) == (
        900,
        500,
        "PNG",
    )
    assert picture["note"] == ""
    served = console.client.get(picture["path"])
    assert served.status_code == 200
    assert served.mimetype == "image/png"
    assert served.data == png(900, 500)

    result = console.json(
        "POST",
        "/console/menus/report/group-report/wecom.push",
        {
            "app": "DEMO",
            "title": "日报",
            "picurl": picture["path"],
            "groups": ["销售部"],
        },
    ).get_json()
    assert result["ok"] is True
    assert result["data"]["skipped"] == ["nobind"]
    assert result["data"]["invalid"] == []
    assert result["data"]["received"] == 1
    assert result["data"]["lines"] == [
        "已送达 Received: 1 member(s)",
        "跳过 Skipped: nobind — no WeChat account (未填写微信账号)",
    ]
    (card,) = stack.sandbox.inbox(MEMBER)
    article = card["news"]["articles"][0]
    assert article["title"] == "日报"
    assert article["picurl"] == stack.url + picture["path"]
    assert card["msgid"] == result["data"]["msgid"]


def test_push_reports_members_wecom_rejected(console, stack):
    stack.host.users.add("ghost", fields={"wecom.account": "ghost"})
    result = console.json(
        "POST",
        "/console/menus/report/group-report/wecom.push",
        {"app": "DEMO", "title": "t", "users": [MEMBER, "ghost"]},
    ).get_json()
    assert result["data"]["invalid"] == ["ghost"]
    assert result["data"]["received"] == 1
    assert result["data"]["lines"][1] == (
        "无效 Invalid: ghost — WeCom rejected it: no such member, or outside the "
        "app's visible range"
    )


def test_a_deferred_push_is_not_reported_as_received(console, stack, monkeypatch):
    monkeypatch.setenv(MEMBER_LIMITS_ENV, "1,100")
    url = "/console/menus/report/group-report/wecom.push"
    first = console.json("POST", url, {"app": "DEMO", "title": "a", "users": [MEMBER]})
    assert first.get_json()["data"]["lines"] == ["已送达 Received: 1 member(s)"]
    second = console.json(
        "POST", url, {"app": "DEMO", "title": "b", "users": [MEMBER]}
    ).get_json()
    assert second["data"]["received"] == 0
    assert second["data"]["deferred"] == 1
    (line, deferred) = second["data"]["lines"]
    assert line == "已送达 Received: 0 member(s)"
    assert re.fullmatch(
        r"推迟 Deferred: 1 member\(s\) until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4} — "
        r"WeCom's per-member limit; the server's delivery worker sends them then",
        deferred,
    )
    assert [m["news"]["articles"][0]["title"] for m in stack.sandbox.inbox(MEMBER)] == [
        "a"
    ]


def test_push_dialog_errors_name_the_field(console):
    response = console.json(
        "POST",
        "/console/menus/report/group-report/wecom.push",
        {"app": "DEMO", "title": "", "users": ["nobody"]},
    )
    assert response.status_code == 404
    assert response.get_json()["error"] == (
        "no user 'nobody'; `ext-host users list` shows the users"
    )
    response = console.json(
        "POST",
        "/console/menus/report/group-report/wecom.push",
        {"app": "NOPE", "title": "t", "everyone": True},
    )
    assert response.status_code == 404
    assert response.get_json()["error"] == (
        "no app 'NOPE'; configured apps: DEMO (1000008)"
    )


def test_everyone_is_a_deliberate_choice(console, stack):
    url = "/console/menus/report/group-report/wecom.push"
    answer = console.json("GET", url).get_json()
    assert answer["schema"]["properties"]["everyone"]["default"] is True
    neither = console.json(
        "POST", url, {"app": "DEMO", "title": "t", "everyone": False}
    )
    assert neither.status_code == 400
    assert neither.get_json()["error"] == (
        "choose who receives the push: users, groups, departments, tags, or everyone "
        "(@all)"
    )
    both = console.json(
        "POST", url, {"app": "DEMO", "title": "t", "everyone": True, "users": [MEMBER]}
    )
    assert both.status_code == 400
    assert both.get_json()["error"].startswith(
        "全部成员 Everyone and chosen users or groups exclude each other"
    )
    assert stack.sandbox.call_count("/cgi-bin/message/send") == 0
    sent = console.json("POST", url, {"app": "DEMO", "title": "全员", "everyone": True})
    assert sent.get_json()["data"]["lines"] == [
        "已送达 Received: everyone the app is visible to (@all)"
    ]
    (call,) = [c for c in stack.sandbox.calls if c["path"] == "/cgi-bin/message/send"]
    assert call["body"]["touser"] == "@all"


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"", "a.png", "a.png is empty; choose a JPG or PNG picture"),
        (b"hello", "a.png", "a.png is not a readable picture; upload a JPG or PNG"),
        (png(20, 20, "GIF"), "a.gif", "a.gif is a GIF picture; WeCom cards take JPG or PNG"),
        (b"\x89PNG" + b"0" * (2 * 1024 * 1024), "big.png",
         "big.png is 2048 KiB; pictures may be at most 2 MiB"),
    ],
)  # fmt: skip
def test_picture_upload_refuses_what_wecom_cannot_show(console, data, name, message):
    response = console.client.post(
        "/console/uploads",
        data={"file": (io.BytesIO(data), name)},
        headers={"X-CSRFToken": console.token},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert response.get_json() == {"ok": False, "error": message, "fields": {}}
    assert not list((console.host.config.data_dir / "uploads").glob("*"))


def test_a_picture_far_from_900x500_gets_a_note(console):
    picture = console.client.post(
        "/console/uploads",
        data={"file": (io.BytesIO(png(300, 300, "JPEG")), "sq.jpg"), "recommended": "900x500"},
        headers={"X-CSRFToken": console.token},
        content_type="multipart/form-data",
    ).get_json()["picture"]  # fmt: skip
    assert picture["path"].endswith(".jpg")
    assert picture["note"] == (
        "图片为 300×300 像素，建议使用900X500像素 (the picture is 300×300; about "
        "900×500 shows best on the card)"
    )


def test_unknown_uploads_are_not_found(stack):
    client = create_app(stack.host).test_client()
    assert client.get("/uploads/../host.sqlite3").status_code == 404
    assert client.get("/uploads/AAAAAAAAAAAAAAAAAAAAAAAA.png").status_code == 404


def test_routes_of_a_disabled_extension_stop_answering(stack):
    """A reload cannot remove a Flask route, so the host refuses it instead."""
    portal = f"{stack.url}/vision/wechat/wechatportal.html?wechat=true"
    assert requests.get(portal, allow_redirects=False, timeout=10).status_code == 302
    install.set_enabled(stack.host, "wecom", False, reload=True)
    assert requests.get(portal, allow_redirects=False, timeout=10).status_code == 404


def test_config_page_says_an_upload_is_loaded_at_once(console):
    """The console reloads after an upload; only new routes wait for a restart."""
    assert (
        "then loaded at once; new HTTP routes need a restart of the host"
        in console.page("/console/config")
    )
