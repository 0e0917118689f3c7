"""The *Push to WeCom* (推送到企业号) context-menu item on reports: its dialog,
what the dialog starts with, and the action that pushes."""

from __future__ import annotations

import logging
from typing import Any

from ext_host.api import ActionResult, HostError, MenuItem

from . import apps
from .push import push_report, report_link

log = logging.getLogger(__name__)

DIALOG: dict[str, Any] = {
    "type": "object",
    "required": ["app", "title"],
    "properties": {
        "app": {"type": "string", "title": "企业应用 App", "minLength": 1},
        "title": {"type": "string", "title": "标题 Title", "minLength": 1},
        "description": {"type": "string", "title": "描述 Description"},
        "picurl": {
            "type": "string",
            "title": "图片 Picture URL",
            "description": "建议使用900X500像素 (about 900×500 pixels)",
        },
        "url": {"type": "string", "title": "链接地址 Link"},
        "users": {
            "type": "string",
            "title": "接收人 Recipients",
            "description": "host user names separated by ','; empty: everyone the "
            "app is visible to",
        },
    },
}


def _prefill(host: Any, report: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"title": report.name, "description": report.description}
    try:
        found, _ = apps.resolve(host)
        first = apps.find(host, None)
        values["app"] = first.name
        # The link names the app that sends it (its token exchanges the code):
        # with several apps it is built once the app is chosen, at push time.
        if len(found) == 1:
            values["url"] = report_link(host, report.id, first.agentid)
    except HostError as exc:
        # Prefill is best effort: the dialog still opens, and pushing reports it.
        log.info("push dialog prefill incomplete: %s", exc)
    return values


def _action(
    host: Any, report: Any, values: dict[str, Any], actor: str | None
) -> ActionResult:
    users = [u.strip() for u in str(values.get("users") or "").split(",") if u.strip()]
    result = push_report(
        host,
        report.id,
        values.get("app"),
        values.get("title", ""),
        values.get("description", ""),
        values.get("picurl", ""),
        values.get("url", ""),
        users or None,
        actor,
    )
    return ActionResult(
        result.summary(),
        data={
            "push_id": result.push_id,
            "msgid": result.msgid,
            "invalid": result.invalid,
            "skipped": result.skipped,
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
    )
