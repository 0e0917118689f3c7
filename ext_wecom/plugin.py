"""The extension's entry object: every hook the WeCom extension implements."""

from __future__ import annotations

from typing import Any

import click

from ext_host.api import ActionResult, HostError, PanelAction, UserField, hookimpl

from . import apps, commands, menu, oauth, portal, push, settings, sync
from .accounts import FIELD_KEY, check_account, normalize_account


def _generate_link(host: Any, values: dict[str, Any]) -> ActionResult:
    conf = settings.load(host)
    if not conf.corpid or not conf.server_address:
        return ActionResult(
            "生成微信链接 needs the CorpID and the server address; set both first",
            ok=False,
        )
    link = oauth.member_link(host)
    return ActionResult(
        link,
        data={
            "link": link,
            "note": "Paste it as the app's home page (应用主页). The server "
            "address's host must be the app's trusted domain (可信域名).",
        },
    )


def _test_connection(host: Any, values: dict[str, Any]) -> ActionResult:
    found, problems = apps.resolve(host, use_cache=False)
    lines = [
        f"secret #{a.position}: app {a.name} (agentid {a.agentid}) ok" for a in found
    ]
    lines += [p.error for p in problems]
    warnings = _trusted_domain_warnings(host, found)
    lines += warnings
    return ActionResult(
        "; ".join(lines),
        ok=not problems and not warnings,
        data={
            "apps": [a.as_dict() for a in found],
            "problems": [p.error for p in problems],
            "warnings": warnings,
        },
    )


def _trusted_domain_warnings(host: Any, found: list[apps.App]) -> list[str]:
    """One warning per app whose trusted domain is not the server address."""
    address = settings.load(host).server_address
    warnings = []
    for app in found:
        if not address:
            break
        try:
            domain = app.client.get("agent/get", agentid=app.agentid).get(
                "redirect_domain", ""
            )
        except HostError as exc:
            warnings.append(f"app {app.name}: cannot read its trusted domain: {exc}")
            continue
        mismatch = oauth.trusted_domain_mismatch(address, str(domain or ""))
        if mismatch:
            warnings.append(f"app {app.name}: {mismatch}")
    return warnings


def _sync(apply_changes: bool) -> Any:
    def run(host: Any, values: dict[str, Any]) -> ActionResult:
        try:
            plan = sync.run(host, apply_changes)
        except HostError as exc:
            return ActionResult(str(exc), ok=False)
        lines = plan.lines()
        if len(lines) > SYNC_MESSAGE_LINES:
            more = len(lines) - SYNC_MESSAGE_LINES
            lines = lines[:SYNC_MESSAGE_LINES] + [f"... and {more} more lines"]
        return ActionResult("\n".join(lines), data=plan.as_dict())

    return run


#: The panel shows this many lines of the sync plan; ``data`` holds all of it.
SYNC_MESSAGE_LINES = 200


class WeComExtension:
    """Registered by the host once per host; holds no state of its own."""

    @hookimpl
    def startup(self, host: Any) -> None:
        host.store.ensure_schema("wecom", push.MIGRATIONS)

    @hookimpl
    def option_panels(self, host: Any) -> list[Any]:
        return [
            settings.panel(
                (
                    PanelAction(
                        "generate_link",
                        "生成微信链接 Generate WeChat link",
                        _generate_link,
                    ),
                    PanelAction(
                        "test_connection", "测试连接 Test connection", _test_connection
                    ),
                    PanelAction("sync_preview", "预览同步 Preview sync", _sync(False)),
                    PanelAction("sync_apply", "同步成员 Sync members", _sync(True)),
                )
            )
        ]

    @hookimpl
    def user_fields(self, host: Any) -> list[UserField]:
        return [
            UserField(
                key=FIELD_KEY,
                label="微信账号 WeChat account",
                help="The member's account (账号) in WeCom's contacts",
                unique=True,
                validate=check_account,
                normalize=normalize_account,
            )
        ]

    @hookimpl
    def menu_items(self, host: Any) -> list[Any]:
        return [menu.menu_item()]

    @hookimpl
    def http_routes(self, host: Any) -> list[Any]:
        return portal.routes(host)

    @hookimpl
    def cli_commands(self, host: Any) -> list[click.Command]:
        return commands.build(host)

    @hookimpl
    def sign_in_url(self, host: Any, target: str) -> str | None:
        return portal.sign_in_url(host, target)
