"""A member taps a pushed card in the sandbox's inbox and lands on the report,
in a real headless Chromium (Debian's, driven by Playwright).

Skipped, saying why, when Chromium or Playwright is missing; ``.ci/run``
installs Chromium (see docs/architecture.md and the README).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from stackkit import MEMBER, REPO

from wecom_sandbox.browser import WECOM_UA

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = REPO / "test-output" / "screenshots"


def orders_of(owner: str) -> list[str]:
    """The owner's order numbers, read with SQLite straight from the script."""
    conn = sqlite3.connect(":memory:")
    conn.executescript((REPO / "config" / "data" / "sales.sql").read_text("utf-8"))
    rows = conn.execute(
        "SELECT order_no FROM orders WHERE owner = ? ORDER BY day, order_no", (owner,)
    )
    return [r[0] for r in rows]


@pytest.fixture(scope="module")
def chromium() -> Iterator[Callable[[Callable[[Any], None]], None]]:
    """``run(fn)``: call ``fn(browser)`` with one headless Chromium for this module.

    Playwright's sync API runs in a thread of its own here, so it can live
    beside another Playwright session the suite keeps open (the console's
    browser tests hold one in the main thread for the whole session).
    """
    if not CHROMIUM.exists():
        pytest.skip(
            f"Chromium is not installed at {CHROMIUM}: "
            "apt-get install chromium fonts-liberation"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright is not installed: make setup")

    held: dict[str, Any] = {}

    def start() -> None:
        held["playwright"] = sync_playwright().start()
        held["browser"] = held["playwright"].chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=FLAGS
        )

    def stop() -> None:
        held["browser"].close()
        held["playwright"].stop()

    def run(fn: Callable[[Any], None]) -> None:
        pool.submit(fn, held["browser"]).result(timeout=120)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="chromium") as pool:
        pool.submit(start).result(timeout=60)
        try:
            yield run
        finally:
            pool.submit(stop).result(timeout=60)


def test_tapping_a_card_in_the_inbox_lands_on_the_report(stack, chromium):
    stack.host.menus.run(
        "report",
        "wecom.push",
        "my-orders",
        {"app": "DEMO", "title": "我的订单", "users": MEMBER},
    )

    def tap(browser: Any) -> None:
        context = browser.new_context(
            user_agent=WECOM_UA, viewport={"width": 390, "height": 844}
        )
        try:
            page = context.new_page()
            page.goto(f"{stack.sandbox.url}/sandbox/")
            # The inbox card's "open as 陈东平" link: the sandbox remembers the
            # member in a cookie and the authorize page knows who taps.
            page.click("a:has-text('open as 陈东平')")
            page.wait_for_selector("table#report", timeout=15_000)

            # A browser carries the link's "#wechat_redirect" fragment across the
            # redirects (it never reaches a server); no code or state is left.
            url, _, fragment = page.url.partition("#")
            assert (url, fragment) == (
                f"{stack.url}/vision/reports/my-orders",
                "wechat_redirect",
            )
            assert page.title() == "我的订单"
            assert "陈东平" in page.inner_text("main")
            headers = page.locator("table#report th").all_inner_texts()
            assert headers == ["订单号", "客户", "金额", "日期"]
            orders = page.locator(
                "table#report tbody tr td:first-child"
            ).all_inner_texts()
            assert orders == orders_of(MEMBER)
            cookie = next(
                c for c in context.cookies() if c["name"] == "ext_host_session"
            )
            assert cookie["httpOnly"] is True and cookie["sameSite"] == "Lax"

            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(
                path=str(SCREENSHOTS / "portal-card-tap.png"), full_page=True
            )
        finally:
            context.close()

    chromium(tap)
