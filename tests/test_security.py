"""Attacks on a running host and sandbox over real HTTP on 127.0.0.1: framing,
sessions that outlive a sign-out, a WeCom sign-in reaching the console, file
permissions of the data folder, hostile manifests."""

from __future__ import annotations

import io
import re
import stat
import time
import zipfile

import pytest
import requests
from stackkit import MEMBER

from ext_host import install
from ext_host.errors import ManifestError
from ext_host.manifest import parse_manifest
from ext_wecom import oauth

ADMIN, PASSWORD = "admin", "Adm1n-pass!"


class Browser:
    """A real HTTP client that signs in to the console as a person would."""

    def __init__(self, url: str):
        self.url = url
        self.http = requests.Session()
        self.token = ""

    def get(self, path: str, **kwargs):
        resp = self.http.get(self.url + path, timeout=10, **kwargs)
        found = re.search(r'name="csrf-token" content="([^"]+)"', resp.text)
        if found:
            self.token = found.group(1)
        return resp

    def post(self, path: str, data=None, **kwargs):
        return self.http.post(
            self.url + path,
            data={**(data or {}), "csrf_token": self.token},
            timeout=10,
            **kwargs,
        )

    def login(self, name: str = ADMIN, password: str = PASSWORD):
        self.get("/console/login")
        resp = self.post(
            "/console/login",
            {"name": name, "password": password},
            allow_redirects=False,
        )
        assert resp.status_code == 302, resp.text
        self.get("/console/config")
        return resp


def signed_in_console(stack) -> Browser:
    stack.host.users.add(ADMIN, password=PASSWORD, admin=True)
    browser = Browser(stack.url)
    browser.login()
    return browser


# -- clickjacking -----------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/console/login", "/console/config", "/vision/mobile", "/no/such/page"],
)
def test_no_page_may_be_framed_by_another_site(stack, path):
    browser = signed_in_console(stack)
    resp = browser.get(path, allow_redirects=False)
    assert resp.status_code in (200, 302, 404)
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["Content-Security-Policy"] == "frame-ancestors 'none'"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


# -- console sessions ---------------------------------------------------------------


def test_console_sign_out_refuses_a_copy_of_the_cookie(stack):
    browser = signed_in_console(stack)
    copy = browser.http.cookies.get("ext_host_session")
    resp = browser.post("/console/logout", allow_redirects=False)
    assert resp.status_code == 302

    thief = requests.Session()
    thief.cookies.set("ext_host_session", copy)
    resp = thief.get(f"{stack.url}/console/config", allow_redirects=False, timeout=10)
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/console/login?next=/console/config"


def test_a_wecom_sign_in_does_not_open_the_console(stack):
    """An administrator bound to a WeCom account (by hand, or by the member
    sync matching the phone) who signs in through WeCom is a report viewer:
    the console, which can install code, still wants the password."""
    stack.host.users.update(MEMBER, admin=True, password="member-Pass-1")
    phone = requests.Session()
    resp = stack.sandbox.follow(oauth.member_link(stack.host), MEMBER, session=phone)
    assert resp.status_code == 200 and "陈东平" in resp.text

    resp = phone.get(f"{stack.url}/console/config", allow_redirects=False, timeout=10)
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/console/login?next=/console/config"
    resp = phone.get(f"{stack.url}/console/wecom/pushes", timeout=10)
    assert resp.status_code == 403
    assert "只有管理员可以查看推送记录" in resp.text

    # The same person with the password gets in.
    browser = Browser(stack.url)
    browser.login(MEMBER, "member-Pass-1")
    assert browser.get("/console/wecom/pushes").status_code == 200


# -- the data folder ------------------------------------------------------------------


def test_data_folder_and_store_are_private(stack):
    """The store holds WeCom access tokens in the clear (they expire within
    two hours), password hashes and session revocations: only the host's
    own account may read it."""
    stack.host.options.run_action("wecom", "test_connection")  # caches tokens
    data = stack.host.config.data_dir
    store = data / "host.sqlite3"
    assert stack.host.store.query("SELECT 1 FROM kv WHERE ns = 'wecom.token'")
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for path in (store, data / "host.sqlite3-wal", data / "secret.key"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


# -- hostile manifests ------------------------------------------------------------------


def _alias_bomb(depth: int) -> str:
    lines = ["name: bomb", "version: '1.0'", "entry: ext_bomb.plugin", "before:"]
    lines.append('  - &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]')
    for i in range(1, depth):
        lines.append(f"  - &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def test_manifest_with_yaml_aliases_is_refused_at_once():
    """A 2 KiB manifest whose aliases expand to 10^9 strings would keep the
    host busy (and growing) validating it, at upload and at every start."""
    started = time.monotonic()
    with pytest.raises(ManifestError) as caught:
        parse_manifest(_alias_bomb(9), "bomb.ext: extension.yaml")
    assert time.monotonic() - started < 2
    assert str(caught.value) == (
        "bomb.ext: extension.yaml: manifest uses YAML anchors or aliases (&, *) "
        "at line 5; write each value out"
    )


def test_upload_of_an_alias_bomb_is_refused_over_http(stack):
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as zf:
        zf.writestr("extension.yaml", _alias_bomb(9))
        zf.writestr("ext_bomb/__init__.py", "")
    browser = signed_in_console(stack)
    resp = browser.post(
        "/console/extensions/upload",
        files={"archive": ("bomb.ext", data.getvalue())},
    )
    assert resp.status_code == 200
    assert (
        "上传失败 Upload refused: bomb.ext: extension.yaml: manifest uses YAML "
        "anchors or aliases (&amp;, *) at line 5; write each value out"
    ) in resp.text
    assert not (stack.host.config.extensions_dir / "bomb.ext").exists()
    assert not (stack.host.config.extensions_dir / install.STAGING).exists()


# -- logs -------------------------------------------------------------------------------


def test_tracebacks_in_the_log_are_masked_too(capsys):
    import logging

    from ext_host.logs import setup_logging

    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    setup_logging(debug=False)
    try:
        try:
            raise RuntimeError(
                "GET /cgi-bin/gettoken?corpid=ww1&corpsecret=S3cretValue-42 failed"
            )
        except RuntimeError:
            logging.getLogger("ext_host.web").exception("request failed")
    finally:
        root.handlers[:], root.level = saved
    err = capsys.readouterr().err
    assert "ERROR ext_host.web: request failed\nTraceback" in err
    assert "corpid=ww1&corpsecret=*** failed" in err
    assert "S3cretValue-42" not in err


# -- the portal ---------------------------------------------------------------------------


def test_portal_does_not_name_a_desktop_report_to_anonymous_visitors(stack):
    resp = requests.get(
        f"{stack.url}/vision/wechat/wechatportal.html?report=product-detail",
        allow_redirects=False,
        timeout=10,
    )
    assert resp.status_code == 403
    assert "报表未发布到移动端 Report not published to mobile" in resp.text
    assert (
        "此报表没有发布到移动端。 This report is not published to mobile." in resp.text
    )
    assert "产品明细" not in resp.text
    assert resp.cookies.get("ext_host_session") is None


def test_viewer_names_match_users_as_the_store_compares_them(make_host):
    """SQLite's NOCASE folds ASCII only, so "Ä" and "ä" are two users; a report
    for one must not open to the other."""
    host = make_host()
    host.users.add("Ä")
    host.users.add("ä")
    host.store.execute(
        "UPDATE reports SET viewers = ? WHERE id = 'group-report'", ('["ä", "Bob"]',)
    )
    host.users.add("bob")
    report = host.reports.get("group-report")
    assert host.reports.can_view(host.users.get("ä"), report) is True
    assert host.reports.can_view(host.users.get("Ä"), report) is False
    assert host.reports.can_view(host.users.get("bob"), report) is True
