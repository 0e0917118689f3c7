"""The *Push to WeCom* (推送到企业号) context-menu item on reports: its dialog,
what the dialog starts with and offers, and the action that pushes."""

from __future__ import annotations

import logging
from typing import Any

from ext_host.api import ActionResult, HostError, MenuItem, ValidationError

from . import apps, outbox, push, settings
from .accounts import FIELD_KEY

log = logging.getLogger(__name__)

#: The picture size WeCom's news card shows best (the guide's advice).
PICTURE_SIZE = (900, 500)
#: WeCom's limits for a news card, in UTF-8 bytes; longer text is cut.
TITLE_BYTES = 128
DESCRIPTION_BYTES = 512

DIALOG: dict[str, Any] = {
    "type": "object",
    "x-submit": "推送 Push",
    "required": ["app", "title"],
    "properties": {
        "app": {"type": "string", "title": "企业应用 App", "minLength": 1},
        "title": {
            "type": "string",
            "title": "标题 Title",
            "minLength": 1,
            "x-max-bytes": TITLE_BYTES,
        },
        "description": {
            "type": "string",
            "title": "描述 Description",
            "x-max-bytes": DESCRIPTION_BYTES,
            "x-multiline": True,
        },
        "picurl": {
            "type": "string",
            "title": "图片 Picture",
            "description": "建议使用900X500像素 (about 900×500 pixels); JPG or PNG, "
            "at most 2 MiB; uploaded pictures are served under the server address",
            "x-upload": {
                "accept": ["image/jpeg", "image/png"],
                "recommended": list(PICTURE_SIZE),
            },
        },
        "url": {
            "type": "string",
            "title": "链接地址 Link",
            "description": "The report's WeChat link: members open it signed in",
        },
        "everyone": {
            "type": "boolean",
            "title": "全部成员 Everyone",
            "description": "Everyone the app is visible to (@all); untick it to "
            "choose users or groups",
            "default": True,
            "x-exclusive": ["users", "groups"],
        },
        "users": {
            "type": ["string", "array"],
            "items": {"type": "string"},
            "title": "接收用户 Users",
            "description": "Host users to send to (instead of everyone)",
        },
        "groups": {
            "type": ["string", "array"],
            "items": {"type": "string"},
            "title": "接收用户组 Groups",
            "description": "Every user of the group and of the groups below it",
        },
    },
}


def _names(value: Any) -> list[str]:
    """A list of names from a list or a ``,``-separated string."""
    items = value if isinstance(value, list) else str(value or "").split(",")
    return [str(v).strip() for v in items if str(v).strip()]


def _prefill(host: Any, report: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"title": report.name, "description": report.description}
    try:
        found, _ = apps.resolve(host)
        first = apps.find(host, None)
        values["app"] = first.name
        # The link names the app that sends it (its token exchanges the code):
        # with several apps it is built once the app is chosen, at push time.
        if len(found) == 1:
            values["url"] = push.report_link(host, report.id, first.agentid)
    except HostError as exc:
        # Prefill is best effort: the dialog still opens, and pushing reports it.
        log.info("push dialog prefill incomplete: %s", exc)
    return values


def _why_skipped(user: Any) -> str:
    if not user.enabled:
        return "disabled user (已停用)"
    if not user.fields.get(FIELD_KEY):
        return "no WeChat account (未填写微信账号)"
    return ""


def _choices(host: Any, report: Any) -> dict[str, list[dict[str, str]]]:
    try:
        found, problems = apps.resolve(host)
        app_options = [
            {"value": a.name, "label": f"{a.name} (agentid {a.agentid})"} for a in found
        ]
        app_options += [
            {"value": "", "label": f"不可用 unavailable: {p.error}"} for p in problems
        ]
    except HostError as exc:
        app_options = [{"value": "", "label": f"没有可用的应用 No app: {exc}"}]

    users = []
    for user in host.users.all():
        if not user.enabled:
            continue
        why = _why_skipped(user)
        label = f"{user.name} {user.alias}".strip()
        account = user.fields.get(FIELD_KEY)
        users.append(
            {
                "value": user.name,
                "label": f"{label} · 微信账号 {account}"
                if account
                else f"{label} · 无微信账号 no WeChat account",
                "warn": f"{user.name}: {why}" if why else "",
            }
        )
    groups = []
    for group in sorted(g.name for g in host.users.groups()):
        members = host.users.group_members(group)
        missing = [u.name for u in members if _why_skipped(u)]
        groups.append(
            {
                "value": group,
                "label": f"{group} ({len(members)} users)",
                "warn": f"{group}: {', '.join(missing)} without a WeChat account"
                if missing
                else "",
            }
        )
    return {"app": app_options, "users": users, "groups": groups}


def recipients(host: Any, users: list[str], groups: list[str]) -> list[str]:
    """The host user names chosen directly and through ``groups``, each once."""
    names = list(dict.fromkeys(users))
    for group in groups:
        members = host.users.group_members(group)
        if not members:
            raise ValidationError(
                f"group {group!r} has no users; choose another group or users",
                {"groups": f"group {group!r} has no users"},
            )
        for user in members:
            if user.name not in names:
                names.append(user.name)
    return names


def _absolute(host: Any, url: str) -> str:
    """A picture uploaded to this host (``/uploads/...``) as a URL under the
    server address, which WeCom clients can fetch."""
    if not url.startswith("/"):
        return url
    address = settings.load(host).server_address
    if not address:
        raise ValidationError(
            "微信设置: set the server address (服务器地址) so WeCom clients can "
            "fetch the uploaded picture",
            {"picurl": "the server address is not set"},
        )
    return address + url


def _action(
    host: Any, report: Any, values: dict[str, Any], actor: str | None
) -> ActionResult:
    names = recipients(host, _names(values.get("users")), _names(values.get("groups")))
    everyone = values.get("everyone") is True
    if everyone and names:
        raise ValidationError(
            "全部成员 Everyone and chosen users or groups exclude each other: untick "
            "Everyone, or clear the users and groups",
            {"everyone": "untick Everyone to send to the chosen users and groups"},
        )
    reasons = {n: _why_skipped(host.users.get(n)) for n in names}
    result = push.push_report(
        host,
        report_id=report.id,
        app=values.get("app"),
        title=values.get("title", ""),
        description=values.get("description", ""),
        picurl=_absolute(host, str(values.get("picurl") or "").strip()),
        url=values.get("url", ""),
        users=names or None,
        actor=actor,
        everyone=everyone,
    )
    invalid = list(getattr(result, "invalid", []) or [])
    skipped = list(getattr(result, "skipped", []) or [])
    received: int | str = "all" if everyone else result.delivered
    lines = [
        "已送达 Received: everyone the app is visible to (@all)"
        if everyone
        else f"已送达 Received: {received} member(s)"
    ]
    if result.deferred:
        lines.append(
            f"推迟 Deferred: {result.deferred} member(s) until "
            f"{outbox._hhmm(result.deferred_until or 0)} — WeCom's per-member "
            "limit; the server's delivery worker sends them then"
        )
    lines += [
        f"无效 Invalid: {u} — WeCom rejected it: no such member, or outside the "
        "app's visible range"
        for u in invalid
    ]
    lines += [
        f"跳过 Skipped: {n} — {reasons.get(n) or 'no WeChat account'}" for n in skipped
    ]
    return ActionResult(
        result.summary(),
        data={
            "push_id": result.push_id,
            "msgid": result.msgid,
            "invalid": invalid,
            "skipped": skipped,
            "received": received,
            "deferred": result.deferred,
            "reasons": {n: reasons.get(n) or "no WeChat account" for n in skipped},
            "lines": lines,
        },
    )


def menu_item() -> MenuItem:
    return MenuItem(
        id="wecom.push",
        label="推送到企业号 Push to WeCom",
        resource_kind="report",
        action=_action,
        dialog=DIALOG,
        prefill=_prefill,
        choices=_choices,
    )
