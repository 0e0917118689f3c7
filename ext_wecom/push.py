"""Pushing a report to WeCom as a ``news`` card, and recording what happened.

WeCom answers HTTP 200 whatever happens: only ``errcode`` says whether the
card went out, and ``invaliduser`` names the members it did not reach.  Both
are recorded with the push (see :mod:`.outbox`), so "sent" never means "WeCom
refused".  :func:`preview` tells the sender what will be cut and who will be
reached before anything is written or sent; :func:`push_report` writes the
push down, then sends it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ext_host.api import HostError, NotFound, ValidationError

from . import apps, oauth, outbox, settings
from . import recipients as recipients_mod
from .recipients import Recipients

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
    """,
    outbox.MIGRATION,
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


def build_article(
    title: str, description: str, url: str, picurl: str
) -> tuple[dict[str, str], list[str]]:
    """The news article and notes on what had to be cut.

    Title and description are cut on a character boundary, ending with
    :data:`MARKER`; a URL is never cut (a cut link would not open), so one
    over WeCom's limit is refused.
    """
    notes = []
    title = title.strip()
    if not title:
        raise ValidationError(
            "标题 title is required", {"title": "标题 title is required"}
        )
    fitted_title, cut = fit_bytes(title, TITLE_BYTES)
    if cut:
        notes.append(_cut_note("title", title, fitted_title, TITLE_BYTES))
    description = description.strip()
    fitted_desc, cut = fit_bytes(description, DESCRIPTION_BYTES)
    if cut:
        notes.append(
            _cut_note("description", description, fitted_desc, DESCRIPTION_BYTES)
        )
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


def _cut_note(key: str, text: str, fitted: str, limit: int) -> str:
    size = len(text.encode("utf-8"))
    return f"{key} is {size} bytes, WeCom allows {limit}: cut to {fitted!r}"


def report_link(
    host: Any, report_id: str, agentid: int | None, state: str | None = None
) -> str:
    """The report's WeChat link; ``state`` (letters and digits) rides along
    through WeCom's sign-in, so each push's card differs from the last one's."""
    conf = settings.load(host)
    if not conf.server_address:
        raise NotFound(
            "微信设置: 服务器地址 (server address) is not set; "
            "`ext-host options set wecom server_address=https://...`"
        )
    return oauth.member_link(host, report_id, agentid, tag=state or "")


@dataclass
class PushResult:
    """What became of a push (read back from the outbox)."""

    push_id: int
    app: str
    agentid: int
    msgid: str
    recipients: list[str]
    invalid: list[str]
    skipped: list[str]
    notes: list[str] = field(default_factory=list)
    state: str = outbox.SENT
    described: str = ""
    calls: int = 1
    failed: list[str] = field(default_factory=list)
    deferred: int = 0
    deferred_until: float | None = None
    rejected: list[str] = field(default_factory=list)
    # members WeCom accepted so far (a deferred or failed chunk's are not)
    delivered: int = 0

    def summary(self) -> str:
        to = self.described or f"{len(self.recipients)} member(s)"
        calls = f" in {self.calls} call(s)" if self.calls > 1 else ""
        if self.state in (outbox.SENT, "partial") or (
            self.state == outbox.DEFERRED and self.msgid
        ):
            head = f"sent to {to}{calls} via app {self.app} (msgid {self.msgid})"
        elif self.state == outbox.DEFERRED:
            head = f"nothing sent yet to {to} via app {self.app}"
        else:
            head = f"{self.state} to {to} via app {self.app}"
        parts = [f"push {self.push_id}: {head}"]
        if self.state == "partial":
            parts[0] = f"push {self.push_id}: partly {head}"
        if self.invalid:
            parts.append(f"rejected by WeCom: {', '.join(self.invalid)}")
        if self.rejected:
            parts.append("; ".join(self.rejected))
        if self.skipped:
            parts.append(
                "skipped (not bound to a WeChat account or disabled): "
                + ", ".join(self.skipped)
            )
        if self.deferred:
            when = outbox._hhmm(self.deferred_until or 0)
            parts.append(
                f"deferred: {self.deferred} member(s) until {when} by WeCom's "
                "per-member limit; a running `ext-host serve` sends them then (or "
                "`ext-host push resume`)"
            )
        parts.extend(self.failed)
        parts.extend(self.notes)
        return "; ".join(parts)


class PushFailed(HostError):
    """No chunk of the push reached WeCom; the push is recorded as failed."""

    def __init__(self, message: str, result: PushResult):
        super().__init__(message)
        self.result = result


@dataclass
class Preview:
    """What a push would do, shown to the sender before anything is sent."""

    report_id: str
    app: str
    agentid: int
    article: dict[str, str]
    notes: list[str]
    recipients: Recipients
    calls: int
    custom_url: bool

    def lines(self) -> list[str]:
        out = [
            f"report {self.report_id} via app {self.app} (agentid {self.agentid})",
            f"title: {self.article['title']}",
            f"to: {self.recipients.describe()} in {self.calls} call(s)",
        ]
        out += [f"skipped {name}: {reason}" for name, reason in self.recipients.skipped]
        out += [f"note: {n}" for n in self.notes]
        return out


#: How many names an access note lists before it says "and N more".
NAMES_SHOWN = 10


def access_notes(host: Any, report: Any, found: Any) -> list[str]:
    """Warnings about recipients who will tap the card and not see the report:
    it is not published to mobile, or a chosen user may not view it."""
    notes = []
    if not report.mobile:
        notes.append(
            f"{report.name} is not published to mobile (移动端): members will see "
            "a 报表未发布到移动端 page; publish it or push another report"
        )
    denied = []
    for name in dict.fromkeys(found.users.values()):
        user = host.users.find(name)
        if user is not None and not host.reports.can_view(user, report):
            denied.append(name)
    if denied:
        shown = ", ".join(denied[:NAMES_SHOWN])
        more = (
            f" and {len(denied) - NAMES_SHOWN} more"
            if len(denied) > NAMES_SHOWN
            else ""
        )
        notes.append(
            f"may not view {report.name}: {shown}{more}; they will get the card but "
            "a 无权访问 page (the report's viewers decide)"
        )
    if (
        found.everyone or found.departments or found.tags
    ) and "*" not in report.viewers:
        notes.append(
            f"{report.name} is only for {', '.join(report.viewers)}: members reached "
            "through departments, tags or @all who are not among them will get a "
            "无权访问 page"
        )
    return notes


def preview(
    host: Any,
    report_id: str,
    app: str | int | None,
    title: str,
    description: str = "",
    picurl: str = "",
    url: str = "",
    users: Iterable[str] | None = None,
    *,
    groups: Iterable[str] | None = None,
    departments: Iterable[Any] | None = None,
    tags: Iterable[Any] | None = None,
    everyone: bool = False,
) -> Preview:
    """Check a push and say what it would do; writes and sends nothing.

    Raises the same one-line errors :func:`push_report` would.
    """
    report = host.reports.get(report_id)
    target = apps.find(host, app)
    default_link = report_link(host, report.id, target.agentid)
    custom = bool(url) and url != default_link
    article, notes = build_article(
        title or report.name, description, url if custom else default_link, picurl
    )
    found = recipients_mod.resolve(
        host,
        users=users,
        groups=groups,
        departments=departments,
        tags=tags,
        everyone=everyone,
    )
    if not custom:  # the card opens this report: will its members see it?
        notes = notes + access_notes(host, report, found)
    return Preview(
        report.id,
        target.name,
        target.agentid,
        article,
        notes,
        found,
        len(outbox.plan(found)),
        custom,
    )


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
    *,
    groups: Iterable[str] | None = None,
    departments: Iterable[Any] | None = None,
    tags: Iterable[Any] | None = None,
    everyone: bool = False,
    progress: outbox.Progress | None = None,
) -> PushResult:
    """Send ``report_id`` as a news card through ``app``; record the push.

    Recipients: host ``users``, host ``groups``, WeCom ``departments`` and
    ``tags`` (ids), or ``everyone=True`` for ``@all``.  The push is written to
    the outbox before the first call; raises :class:`PushFailed` when no
    chunk could be sent (the push stays recorded as failed).
    """
    plan = preview(
        host,
        report_id,
        app,
        title,
        description,
        picurl,
        url,
        users,
        groups=groups,
        departments=departments,
        tags=tags,
        everyone=everyone,
    )
    target = apps.find(host, plan.agentid)

    def article_for(push_id: int) -> dict[str, str]:
        if plan.custom_url:
            return plan.article
        link = report_link(host, plan.report_id, plan.agentid, f"push{push_id}")
        return dict(plan.article, url=link)

    request = {
        "report": plan.report_id,
        "app": plan.app,
        "title": title,
        "description": description,
        "picurl": picurl,
        "url": url,
        "users": list(users or []),
        "groups": list(groups or []),
        "departments": [str(d) for d in departments or []],
        "tags": [str(t) for t in tags or []],
        "everyone": everyone,
    }
    push_id = outbox.create(
        host,
        report_id=plan.report_id,
        agentid=plan.agentid,
        app_name=plan.app,
        article_for=article_for,
        recipients=plan.recipients,
        request=request,
        notes=plan.notes,
        actor=actor,
    )
    outbox.send(host, push_id, target.client, progress)
    result = result_of(host, push_id)
    if result.state == outbox.FAILED:
        raise PushFailed(f"push {push_id} failed: " + "; ".join(result.failed), result)
    return result


def resume(host: Any, progress: outbox.Progress | None = None) -> list[PushResult]:
    """Send what is left of every unfinished push (after a crash, or deferred
    members whose window has come)."""
    results = []
    for push_id in outbox.unfinished(host):
        row = outbox.push_row(host, push_id)
        target = apps.find(host, row["agentid"])
        outbox.send(host, push_id, target.client, progress)
        results.append(result_of(host, push_id))
    return results


def recall(host: Any, push_id: int) -> int:
    row = outbox.push_row(host, push_id)
    target = apps.find(host, row["agentid"])
    return outbox.recall(host, push_id, target.client)


def result_of(host: Any, push_id: int) -> PushResult:
    """The push as the outbox records it now."""
    import json

    row = outbox.push_row(host, push_id)
    chunks = outbox.chunks(host, push_id)
    people = outbox.recipients(host, push_id)
    invalid = [
        r["id"] for r in people if r["state"] == "rejected" and r["kind"] == "user"
    ]
    rejected = [
        f"{r['kind']} {r['id']} rejected ({r['reason']})"
        for r in people
        if r["state"] == "rejected" and r["kind"] in ("department", "tag")
    ]
    deferred = [c for c in chunks if c["state"] == outbox.DEFERRED]
    failed = [
        f"chunk {c['seq']}: {c['errmsg']}"
        for c in chunks
        if c["state"] == outbox.FAILED
    ]
    everyone = any(r["kind"] == "all" for r in people)
    return PushResult(
        push_id=push_id,
        app=row["app_name"],
        agentid=row["agentid"],
        msgid=next((c["msgid"] for c in chunks if c["msgid"]), ""),
        recipients=["@all"]
        if everyone
        else [r["id"] for r in people if r["kind"] == "user"],
        invalid=invalid,
        skipped=[r["id"] for r in people if r["kind"] == "host_user"],
        notes=json.loads(row["notes"] or "[]"),
        state=row["state"],
        described=row["described"],
        calls=len(chunks),
        failed=failed,
        deferred=sum(c["users"] for c in deferred),
        deferred_until=max((c["not_before"] for c in deferred), default=None),
        rejected=rejected,
        delivered=sum(
            1 for r in people if r["kind"] == "user" and r["state"] == outbox.SENT
        ),
    )
