"""``ext-host push``: send a report, and the outbox's history, show, resume,
recall and quota.

``ext-host push REPORT ...`` stays the short form of ``ext-host push send
REPORT ...``.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from typing import Any

import click

from . import apps, clock, limits, outbox, push

#: Pushes with more calls than this show a progress bar.
PROGRESS_FROM = 2
#: ``push resume --wait`` waits at most this long for deferred members.
MAX_WAIT = 2 * 3600


class PushGroup(click.Group):
    """A group whose unknown first word is the REPORT of ``push send``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["send", *args]
        return super().parse_args(ctx, args)


def _when(ts: float | None) -> str:
    if not ts:
        return "-"
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


class _Bar:
    """A click progress bar over chunks, opened once the push's size is known."""

    def __init__(self, host: Any):
        self.host = host
        self.bar: Any = None

    def __call__(self, push_id: int, seq: int, state: str) -> None:
        if self.bar is None:
            total = len(outbox.chunks(self.host, push_id))
            if total < PROGRESS_FROM:
                return
            self.bar = click.progressbar(
                length=total, label=f"push {push_id}", file=sys.stderr
            )
            self.bar.__enter__()
        self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def build(host: Any) -> click.Group:
    @click.group("push", cls=PushGroup, invoke_without_command=False)
    def group() -> None:
        """Push reports to WeCom (推送到企业号) and follow what became of them.

        `ext-host push REPORT --user NAME` is short for `ext-host push send ...`.
        """

    @group.command("send")
    @click.argument("report")
    @click.option("--app", default=None, help="app name or agentid (default: first)")
    @click.option("--title", default=None, help="card title (default: report name)")
    @click.option("--description", default="")
    @click.option("--picurl", default="", help="picture URL (about 900×500)")
    @click.option("--url", default="", help="link (default: the report's WeChat link)")
    @click.option("--user", "users", multiple=True, help="host user (repeat)")
    @click.option("--group", "groups", multiple=True, help="host group (repeat)")
    @click.option(
        "--department", "departments", multiple=True, help="WeCom department id"
    )
    @click.option("--tag", "tags", multiple=True, help="WeCom tag id (repeat)")
    @click.option(
        "--everyone", is_flag=True, help="everyone the app is visible to (@all)"
    )
    @click.option(
        "--dry-run", is_flag=True, help="show what would be sent; send nothing"
    )
    def send_cmd(
        report: str,
        app: str | None,
        title: str | None,
        description: str,
        picurl: str,
        url: str,
        users: tuple[str, ...],
        groups: tuple[str, ...],
        departments: tuple[str, ...],
        tags: tuple[str, ...],
        everyone: bool,
        dry_run: bool,
    ) -> None:
        """Push REPORT to WeCom as a news card."""
        values: dict[str, Any] = {
            "groups": groups,
            "departments": departments,
            "tags": tags,
            "everyone": everyone,
        }
        card = (title or host.reports.get(report).name, description, picurl, url)
        plan = push.preview(host, report, app, *card, list(users), **values)
        if dry_run:
            for line in plan.lines():
                click.echo(line)
            return
        for note in plan.notes:
            click.echo(f"note: {note}", err=True)
        bar = _Bar(host)
        try:
            result = push.push_report(
                host, report, app, *card, list(users), progress=bar, **values
            )
        finally:
            bar.close()
        click.echo(result.summary())
        if result.failed:
            raise SystemExit(1)

    @group.command("resume")
    @click.option(
        "--wait", is_flag=True, help="stay until deferred members have been sent"
    )
    def resume_cmd(wait: bool) -> None:
        """Send what is left of unfinished pushes (after a crash, or deferred)."""
        failed = False
        deadline = time.monotonic() + MAX_WAIT
        while True:
            bar = _Bar(host)
            try:
                results = push.resume(host, progress=bar)
            finally:
                bar.close()
            for result in results:
                click.echo(result.summary())
                failed = failed or bool(result.failed)
            due = outbox.next_due(host)
            if not wait or due is None or time.monotonic() > deadline:
                break
            time.sleep(max(0.0, min(due - clock.now(), 60.0)) + 0.5)
        if not outbox.unfinished(host) and not results:
            click.echo("nothing to resume")
        if failed:
            raise SystemExit(1)

    @group.command("history")
    @click.option("--limit", default=20, show_default=True)
    @click.option("--json", "as_json", is_flag=True)
    def history_cmd(limit: int, as_json: bool) -> None:
        """The latest pushes: id, time, app, state, recipients, title."""
        rows = host.store.query(
            "SELECT id, created_at, app_name, agentid, state, described, title, actor "
            "FROM wecom_pushes ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        if as_json:
            click.echo(json.dumps([dict(r) for r in rows], ensure_ascii=False))
            return
        if not rows:
            click.echo("no pushes yet")
        for r in rows:
            click.echo(
                f"{r['id']}  {_when(r['created_at'])}  {r['app_name']}  "
                f"{r['state']}  {r['described']}  {r['title']}"
            )

    @group.command("show")
    @click.argument("push_id", type=int)
    @click.option("--json", "as_json", is_flag=True)
    def show_cmd(push_id: int, as_json: bool) -> None:
        """One push: its chunks (state, errcode, msgid) and every recipient."""
        row = outbox.push_row(host, push_id)
        chunks = outbox.chunks(host, push_id)
        people = outbox.recipients(host, push_id)
        if as_json:
            data = {
                "push": dict(row),
                "chunks": [
                    {k: v for k, v in dict(c).items() if k != "body"} for c in chunks
                ],
                "recipients": [dict(p) for p in people],
            }
            click.echo(json.dumps(data, ensure_ascii=False, default=str))
            return
        click.echo(
            f"push {row['id']}: {row['state']}, report {row['report_id']}, app "
            f"{row['app_name']} ({row['agentid']}), {_when(row['created_at'])}, by "
            f"{row['actor'] or '-'}"
        )
        click.echo(f"title: {row['title']}")
        for note in json.loads(row["notes"] or "[]"):
            click.echo(f"note: {note}")
        click.echo("chunks:")
        for c in chunks:
            extra = (
                f" until {_when(c['not_before'])}" if c["state"] == "deferred" else ""
            )
            code = "-" if c["errcode"] is None else c["errcode"]
            click.echo(
                f"  {c['seq']}  {c['state']}{extra}  users {c['users']}, departments "
                f"{c['departments']}, tags {c['tags']}  errcode {code}  "
                f"tries {c['tries']}  msgid {c['msgid'] or '-'}"
                + (f"  {c['errmsg']}" if c["errmsg"] else "")
            )
        click.echo("recipients:")
        for p in people:
            source = (
                f" (user {p['source']})" if p["source"] and p["kind"] == "user" else ""
            )
            reason = f": {p['reason']}" if p["reason"] else ""
            click.echo(f"  {p['kind']} {p['id']}{source}  {p['state']}{reason}")

    @group.command("recall")
    @click.argument("push_id", type=int)
    def recall_cmd(push_id: int) -> None:
        """Recall a push's messages from every inbox (within WeCom's 24 hours)."""
        done = push.recall(host, push_id)
        click.echo(f"push {push_id}: {done} message(s) recalled")

    @group.command("quota")
    @click.option("--app", default=None, help="app name or agentid (default: first)")
    def quota_cmd(app: str | None) -> None:
        """Today's person-times of an app: counted by the host and by WeCom."""
        target = apps.find(host, app)
        mine = limits.quota_used(host.store, target.agentid)
        data = target.client.post("message/get_statistics", {"time_type": 0})
        theirs = sum(int(s.get("count", 0)) for s in data.get("statistics") or [])
        click.echo(
            f"app {target.name} today (China time): {mine} person-time(s) sent by "
            f"this host, {theirs} delivered according to WeCom"
        )

    return group
