"""CLI commands the extension adds: ``ext-host push`` (in :mod:`.push_commands`)
and ``ext-host wecom``."""

from __future__ import annotations

from typing import Any

import click

from . import apps, oauth, push_commands, sync


def build(host: Any) -> list[click.Command]:
    @click.group("wecom")
    def wecom() -> None:
        """WeCom: apps, links."""

    @wecom.command("apps")
    def apps_cmd() -> None:
        """Resolve each app secret to its app (agentid and name)."""
        found, problems = apps.resolve(host, use_cache=False)
        for a in found:
            click.echo(f"{a.position}  {a.agentid}  {a.name}")
        for p in problems:
            click.echo(p.error, err=True)
        if problems:
            raise SystemExit(1)

    @wecom.command("link")
    @click.option(
        "--report", default=None, help="link to one report instead of the home"
    )
    @click.option("--app", default=None, help="app name or agentid to include")
    def link_cmd(report: str | None, app: str | None) -> None:
        """Print the WeChat link (生成微信链接) for the app home or a report."""
        agentid = apps.find(host, app).agentid if app else None
        if report:
            host.reports.get(report)
        click.echo(oauth.member_link(host, report, agentid))

    @wecom.command("sync")
    @click.option("--dry-run", is_flag=True, help="print the plan; change nothing")
    @click.option(
        "--seats",
        type=click.IntRange(min=1),
        default=None,
        help="the corp's licensed seats, for the mobile lookup's daily budget "
        "(default: the 授权账号数 option, else the member count)",
    )
    def sync_cmd(dry_run: bool, seats: int | None) -> None:
        """Sync WeCom departments and members into host groups and users."""
        with sync.click_progress() as progress:
            plan = sync.run(host, not dry_run, seats, progress)
        click.echo(plan.summary())

    return [push_commands.build(host), wecom]
