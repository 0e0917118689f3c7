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
