"""Helpers of the browser tests: the administrator and signing in."""

from __future__ import annotations

from typing import Any

ADMIN, PASSWORD = "admin", "Adm1n-pass!"


def sign_in(page: Any, base_url: str, path: str = "/console/config") -> None:
    page.goto(base_url + path)
    page.fill("input[name=name]", ADMIN)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base_url + path)
