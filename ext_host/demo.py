"""``ext-host demo``: the product's main job, end to end, on the embedded
defaults.

It starts the WeCom sandbox and the host on free loopback ports, packs and
loads ``wecom.ext``, configures the WeChat settings through the same service an
administrator's ``options set`` uses, binds a user to a sandbox member, pushes
the grouped sample report through its context-menu action, and then follows
the card's link as that member's phone would, down to the report's rows.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from .config import DEFAULT_CONFIG, load_config

REPO = DEFAULT_CONFIG.parent.parent
SANDBOX_CORP = DEFAULT_CONFIG.parent / "sandbox-corp.yaml"
EXTENSION_SOURCE = REPO / "ext_wecom"
DEMO_REPORT = "group-report"
DEMO_MEMBER = "chendongping"


class _TableRows(HTMLParser):
    """Collects the cells of the page's report table."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None
        self._in_table = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and ("id", "report") in attrs:
            self._in_table = True
        elif self._in_table and tag == "tr":
            self.rows.append([])
        elif self._in_table and tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._in_table = False
        elif tag in ("td", "th") and self._cell is not None and self.rows:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def table_rows(html: str) -> list[list[str]]:
    parser = _TableRows()
    parser.feed(html)
    return parser.rows


def run_demo(
    config_path: str | None,
    overrides: dict[str, Any],
    keep: bool = False,
    echo: Callable[[str], None] = print,
) -> int:
    from wecom_sandbox import Sandbox

    from .archive import pack
    from .host import Host
    from .web import start_server

    own_data = overrides.get("data_dir") is None
    data_dir = Path(tempfile.mkdtemp(prefix="ext-host-demo-")) if own_data else None
    config = load_config(
        config_path, **{**overrides, "data_dir": data_dir or overrides["data_dir"]}
    )
    step = 0

    def say(text: str) -> None:
        nonlocal step
        step += 1
        echo(f"[{step:2d}] {text}")

    sandbox = Sandbox.from_yaml(SANDBOX_CORP)
    server = None
    host = None
    try:
        sandbox.start(host="127.0.0.1", port=0)
        say(f"WeCom sandbox running at {sandbox.url} (corp {sandbox.corpid})")

        archive = pack(EXTENSION_SOURCE, out_dir=config.extensions_dir)
        say(f"packed the WeCom extension into {archive}")

        host = Host(config).start()
        for record in host.extensions.values():
            note = f": {record.message}" if record.message else ""
            say(f"extension {record.name} {record.version} {record.state}{note}")
        if (
            host.extensions.get("wecom") is None
            or host.extensions["wecom"].state != "loaded"
        ):
            echo("error: the WeCom extension did not load; see the line above")
            return 1

        server = start_server(host)
        say(f"host serving at {server.url}")

        app = sandbox.app(min(sandbox.corp.apps))
        sandbox.set_trusted_domain(app.agentid, server.url.split("://", 1)[1])
        warnings = host.options.set(
            "wecom",
            {
                "corpid": sandbox.corpid,
                "app_secrets": app.secret,
                "contacts_secret": sandbox.corp.contacts_secret,
                "server_address": server.url,
                "api_base": sandbox.url,
                "oauth_base": sandbox.url,
            },
        )
        say(
            "WeChat settings saved: CorpID, app secret (hidden), contacts secret "
            f"(hidden), server address {server.url}"
        )
        for warning in warnings:
            say(f"  warning: {warning.message}")

        link = host.options.run_action("wecom", "generate_link").data["link"]
        say(f"generated WeChat link: {link}")

        user = host.users.add(
            DEMO_MEMBER, alias="陈东平", fields={"wecom.account": DEMO_MEMBER}
        )
        say(f"created user {user.name}, bound to WeCom account {DEMO_MEMBER}")

        report = host.reports.get(DEMO_REPORT)
        labels = ", ".join(item.label for _, item in host.menus.items("report"))
        say(f"context menu of report {report.name}: {labels}")
        result = host.menus.run(
            "report",
            "wecom.push",
            report.id,
            {"app": app.name, "title": report.name, "users": user.name},
            actor="demo",
        )
        say(result.message)

        inbox = sandbox.inbox(DEMO_MEMBER)
        if not inbox:
            echo(f"error: {DEMO_MEMBER}'s inbox is empty")
            return 1
        article = inbox[-1]["news"]["articles"][0]
        say(
            f"{DEMO_MEMBER} received a news card: title {article['title']!r}, "
            f"description {article.get('description', '')!r}"
        )
        say(f"  card link: {article['url']}")

        resp = sandbox.follow(article["url"], as_member=DEMO_MEMBER)
        visited = " -> ".join(_short(u) for u in getattr(resp, "visited", [resp.url]))
        say(f"tapped the card as {DEMO_MEMBER}: {visited}")
        if resp.status_code != 200:
            echo(f"error: the report page answered HTTP {resp.status_code}")
            return 1
        rows = table_rows(resp.text)
        say(f"landed on report {report.name}, signed in as {user.name}; first rows:")
        for row in rows[:4]:
            echo("       " + " | ".join(row))
        say("demo finished: push, tap and report all worked")
        return 0
    finally:
        if server is not None:
            server.stop()
        if host is not None:
            host.stop()
        sandbox.stop()
        if data_dir is not None:
            if keep:
                echo(f"data folder kept at {data_dir}")
            else:
                shutil.rmtree(data_dir, ignore_errors=True)


def _short(url: str) -> str:
    return url.split("?", 1)[0]
