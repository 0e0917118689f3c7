"""Pushing a report to WeCom as a ``news`` card, and recording what happened.

WeCom answers HTTP 200 whatever happens: only ``errcode`` says whether the
card went out, and ``invaliduser`` names the members it did not reach.  Both
are recorded with the push, so "sent" never means "WeCom refused".
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from ext_host.api import NotFound, ValidationError

from . import apps, oauth, settings
from .accounts import FIELD_KEY
from .client import WeComError

#: WeCom's limits for a news article, in UTF-8 bytes.
TITLE_BYTES = 128
DESCRIPTION_BYTES = 512
URL_BYTES = 2048
MARKER = "…"

MIGRATIONS = [
    """
    CREATE TABLE wecom_pushes (
        id INTEGER PRIMARY KEY,
        report_id TEXT NOT NULL,
        agentid INTEGER NOT NULL,
        app_name TEXT NOT NULL,
        title TEXT NOT NULL,
        request TEXT NOT NULL,
        touser TEXT NOT NULL,
        skipped TEXT NOT NULL DEFAULT '[]',
        state TEXT NOT NULL,
        errcode INTEGER,
        errmsg TEXT NOT NULL DEFAULT '',
        msgid TEXT NOT NULL DEFAULT '',
        invaliduser TEXT NOT NULL DEFAULT '',
        actor TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL
    )
    """
]


def fit_bytes(text: str, limit: int) -> tuple[str, bool]:
    """``text`` cut to ``limit`` UTF-8 bytes on a character boundary, ending
    with :data:`MARKER` when cut; and whether it was cut."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text, False
    room = limit - len(MARKER.encode("utf-8"))
    cut = data[:room].decode("utf-8", errors="ignore")
    return cut + MARKER, True


@dataclass
class PushResult:
    push_id: int
    app: str
    agentid: int
    msgid: str
    recipients: list[str]
    invalid: list[str]
    skipped: list[str]
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        to = (
            "everyone the app is visible to (@all)"
            if self.recipients == ["@all"]
            else (f"{len(self.recipients)} member(s)")
        )
        parts = [
            f"push {self.push_id}: sent to {to} via app {self.app} (msgid {self.msgid})"
        ]
        if self.invalid:
            parts.append(f"rejected by WeCom: {', '.join(self.invalid)}")
        if self.skipped:
            parts.append(f"skipped, no WeChat account: {', '.join(self.skipped)}")
        parts.extend(self.notes)
        return "; ".join(parts)


def build_article(
    title: str, description: str, url: str, picurl: str
) -> tuple[dict[str, str], list[str]]:
    """The news article and notes on what had to be cut."""
    notes = []
    title = title.strip()
    if not title:
        raise ValidationError(
            "标题 title is required", {"title": "标题 title is required"}
        )
    fitted_title, cut = fit_bytes(title, TITLE_BYTES)
    if cut:
        notes.append(f"title cut to {TITLE_BYTES} bytes")
    fitted_desc, cut = fit_bytes(description.strip(), DESCRIPTION_BYTES)
    if cut:
        notes.append(f"description cut to {DESCRIPTION_BYTES} bytes")
    for key, value in (("url", url), ("picurl", picurl)):
        if len(value.encode("utf-8")) > URL_BYTES:
            raise ValidationError(
                f"{key} is longer than WeCom's {URL_BYTES} bytes", {key: "too long"}
            )
        if value and not value.startswith(("http://", "https://")):
            raise ValidationError(
                f"{key} must start with http:// or https://", {key: "bad URL"}
            )
    article = {"title": fitted_title, "description": fitted_desc, "url": url}
    if picurl:
        article["picurl"] = picurl
    return article, notes


def report_link(host: Any, report_id: str, agentid: int | None) -> str:
    conf = settings.load(host)
    if not conf.server_address:
        raise NotFound(
            "微信设置: 服务器地址 (server address) is not set; "
            "`ext-host options set wecom server_address=https://...`"
        )
    return oauth.member_link(host, report_id, agentid)


def resolve_users(host: Any, names: list[str]) -> tuple[list[str], list[str]]:
    """Host user names to WeCom accounts; returns (accounts, skipped names)."""
    accounts, skipped = [], []
    for name in names:
        user = host.users.get(name)
        account = user.fields.get(FIELD_KEY, "")
        if account and user.enabled:
            if account.lower() not in accounts:
                accounts.append(account.lower())
        else:
            skipped.append(name)
    return accounts, skipped


def push_report(
    host: Any,
    report_id: str,
    app: str | int | None,
    title: str,
    description: str = "",
    picurl: str = "",
    url: str = "",
    users: list[str] | None = None,
    actor: str | None = None,
) -> PushResult:
    """Send ``report_id`` as a news card through ``app``; record the push."""
    report = host.reports.get(report_id)
    target = apps.find(host, app)
    link = url or report_link(host, report.id, target.agentid)
    article, notes = build_article(title or report.name, description, link, picurl)

    if users:
        accounts, skipped = resolve_users(host, users)
        if not accounts:
            raise ValidationError(
                "no recipient has a WeChat account (微信账号): " + ", ".join(skipped)
            )
        touser = "|".join(accounts)
    else:
        accounts, skipped, touser = ["@all"], [], "@all"

    body = {
        "touser": touser,
        "msgtype": "news",
        "agentid": target.agentid,
        "news": {"articles": [article]},
    }
    now = time.time()
    push_id = host.store.execute(
        "INSERT INTO wecom_pushes (report_id, agentid, app_name, title, request, touser, "
        "skipped, state, actor, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'sending', ?, ?)",
        (
            report.id,
            target.agentid,
            target.name,
            article["title"],
            json.dumps(body, ensure_ascii=False),
            touser,
            json.dumps(skipped, ensure_ascii=False),
            actor or "",
            now,
        ),
    )
    try:
        data = target.client.post("message/send", body)
    except WeComError as exc:
        host.store.execute(
            "UPDATE wecom_pushes SET state = 'failed', errcode = ?, errmsg = ? WHERE id = ?",
            (exc.errcode, exc.errmsg, push_id),
        )
        raise
    except Exception as exc:
        host.store.execute(
            "UPDATE wecom_pushes SET state = 'failed', errmsg = ? WHERE id = ?",
            (str(exc), push_id),
        )
        raise
    invalid = [u for u in str(data.get("invaliduser") or "").split("|") if u]
    host.store.execute(
        "UPDATE wecom_pushes SET state = 'sent', errcode = 0, msgid = ?, invaliduser = ? "
        "WHERE id = ?",
        (str(data.get("msgid", "")), "|".join(invalid), push_id),
    )
    return PushResult(
        push_id=push_id,
        app=target.name,
        agentid=target.agentid,
        msgid=str(data.get("msgid", "")),
        recipients=accounts,
        invalid=invalid,
        skipped=skipped,
        notes=notes,
    )
