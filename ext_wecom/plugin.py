"""The extension's entry object: every hook the WeCom extension implements."""

from __future__ import annotations

from typing import Any

import click

from ext_host.api import ActionResult, HostError, PanelAction, UserField, hookimpl

from . import apps, commands, menu, oauth, push, settings, sync
from .accounts import FIELD_KEY, check_account, normalize_account


def _generate_link(host: Any, values: dict[str, Any]) -> ActionResult:
    conf = settings.load(host)
    if not conf.corpid or not conf.server_address:
        return ActionResult(
            "生成微信链接 needs the CorpID and the server address; set both first",
            ok=False,
        )
    link = oauth.member_link(host)
    domain = settings.server_domain(conf.server_address)
    return ActionResult(
        link,
        data={
            "link": link,
            "note": "Paste it as the app's home page (工作台应用主页). The server "
            f"address's host, {domain}, must be the app's trusted domain "
            "(网页授权及JS-SDK > 可信域名), port included.",
        },
    )


def _scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def _test_connection(host: Any, values: dict[str, Any]) -> ActionResult:
    """Try every app secret (``gettoken`` + ``agent/list``), check each app's
    trusted domain against the server address (``agent/get``), and try the
    contacts secret.  Failures are named by position, never by the secret."""
    conf = settings.load(host)
    found, problems = apps.resolve(host, use_cache=False)
    lines = [
        f"企业应用Secret #{a.position}: app {a.name} (agentid {a.agentid}) ok"
        for a in found
    ]
    errors = [p.error for p in problems]
    warnings: list[str] = []
    for app in found:
        if not conf.server_address:
            break
        try:
            info = app.client.get("agent/get", agentid=app.agentid)
        except HostError as exc:
            warnings.append(f"app {app.name}: cannot read its trusted domain: {exc}")
            continue
        mismatch = settings.trusted_domain_mismatch(
            conf.server_address, app.name, str(info.get("redirect_domain") or "")
        )
        if mismatch:
            warnings.append(mismatch)
    if conf.contacts_secret:
        contacts = apps.client_for(host, conf.contacts_secret, conf)
        try:
            contacts.token(force=True)
            lines.append("通讯管理Secret: ok")
        except HostError as exc:
            errors.append(f"通讯管理Secret: {exc}")
    hidden = [*conf.secrets, conf.contacts_secret]
    message = "\n".join(lines + errors + warnings) or "nothing to test"
    return ActionResult(
        _scrub(message, hidden),
        ok=not errors,
        data={
            "apps": [a.as_dict() for a in found],
            "problems": [_scrub(e, hidden) for e in errors],
            "warnings": [_scrub(w, hidden) for w in warnings],
        },
    )


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
    """Registered by the host once per host; its only state is the delivery
    worker that ``ext-host serve`` runs."""

    def __init__(self) -> None:
        self.worker: Any = None

    @hookimpl
    def startup(self, host: Any) -> None:
        host.store.ensure_schema("wecom", push.MIGRATIONS)

    @hookimpl
    def serving(self, host: Any) -> None:
        from .worker import DeliveryWorker

        self.worker = DeliveryWorker(host).start()

    @hookimpl
    def shutdown(self, host: Any) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.worker = None

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
        # The portal and the push pages need Flask (~100 ms to import): only
        # the web server loads them.
        from . import portal, push_console

        return portal.routes(host) + push_console.routes(host)

    @hookimpl
    def cli_commands(self, host: Any) -> list[click.Command]:
        return commands.build(host)

    @hookimpl
    def sign_in_url(self, host: Any, target: str) -> str | None:
        from . import portal  # lazily, as in http_routes

        return portal.sign_in_url(host, target)
