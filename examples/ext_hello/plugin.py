"""The entry object of the hello extension: one method per hook."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import click

from ext_host.api import (
    ActionResult,
    MenuItem,
    Panel,
    PanelAction,
    Route,
    UserField,
    console_page,
    hookimpl,
    message_page,
)

PANEL = "hello"
NICKNAME = "hello.nickname"
MIGRATIONS = [
    "CREATE TABLE hello_events (kind TEXT NOT NULL, at REAL NOT NULL);",
]


def greeting(host: Any) -> str:
    return str(host.options.get(PANEL)["greeting"])


def record_event(host: Any, kind: str) -> None:
    host.store.execute(
        "INSERT INTO hello_events (kind, at) VALUES (?, ?)", (kind, time.time())
    )


def _preview(host: Any, values: dict[str, Any]) -> ActionResult:
    return ActionResult(f"{values['greeting']}, world!")


def _check_nickname(value: str) -> str | None:
    return "at most 20 characters" if len(value) > 20 else None


def _greet_report(
    host: Any, report: Any, values: dict[str, Any], actor: str | None
) -> ActionResult:
    who = values["name"]
    return ActionResult(
        f"{greeting(host)}, {who}! (from report {report.id})",
        data={"report": report.id, "actor": actor},
    )


class HelloExtension:
    """Holds no state: everything lives in the host's store and options."""

    @hookimpl
    def startup(self, host: Any) -> None:
        host.store.ensure_schema("hello", MIGRATIONS)
        record_event(host, "startup")

    @hookimpl
    def serving(self, host: Any) -> None:
        record_event(host, "serving")

    @hookimpl
    def shutdown(self, host: Any) -> None:
        record_event(host, "shutdown")

    @hookimpl
    def option_panels(self, host: Any) -> list[Panel]:
        return [
            Panel(
                name=PANEL,
                label="你好 Hello",
                schema={
                    "type": "object",
                    "properties": {
                        "greeting": {
                            "type": "string",
                            "title": "问候语 Greeting",
                            "default": "Hello",
                            "minLength": 1,
                            "maxLength": 40,
                        },
                        "sign_in_page": {
                            "type": "string",
                            "title": "登录页 Sign-in page",
                            "description": "Send visitors without a session here",
                            "default": "",
                        },
                    },
                },
                actions=(PanelAction("preview", "预览 Preview", _preview),),
            )
        ]

    @hookimpl
    def user_fields(self, host: Any) -> list[UserField]:
        return [
            UserField(
                key=NICKNAME,
                label="昵称 Nickname",
                help="What the hello extension calls this user",
                validate=_check_nickname,
            )
        ]

    @hookimpl
    def menu_items(self, host: Any) -> list[MenuItem]:
        return [
            MenuItem(
                id="hello.greet",
                label="问候 Say hello",
                resource_kind="report",
                action=_greet_report,
                dialog={
                    "type": "object",
                    "required": ["name"],
                    "properties": {
                        "name": {"type": "string", "title": "名字 Name", "minLength": 1}
                    },
                },
                prefill=lambda host, report: {"name": "world"},
            )
        ]

    @hookimpl
    def http_routes(self, host: Any) -> list[Route]:
        def hello_page(name: str) -> Any:
            # message_page renders through Jinja with autoescaping, so a name
            # such as "<script>" arrives as text, never as markup.
            return message_page("Hello", f"{greeting(host)}, {name}!")

        def events_page() -> Any:
            # An administrators' page inside the console (nav + console_page).
            if host.current_admin() is None:
                return message_page("无权访问 No access", "Administrators only.", 403)
            rows = host.store.query("SELECT kind FROM hello_events ORDER BY rowid")
            return console_page(
                '<ul id="events">{% for r in rows %}<li>{{ r.kind }}</li>'
                "{% endfor %}</ul>",
                "事件 Events",
                rows=rows,
            )

        return [
            Route("/hello/<name>", hello_page, endpoint="hello.page"),
            Route(
                "/console/hello/events",
                events_page,
                endpoint="hello.events",
                nav="事件 Events",
            ),
        ]

    @hookimpl
    def cli_commands(self, host: Any) -> list[click.Command]:
        @click.command("hello")
        @click.argument("name", default="world")
        def hello(name: str) -> None:
            """Greet NAME with the configured greeting."""
            click.echo(f"{greeting(host)}, {name}!")

        return [hello]

    @hookimpl
    def sign_in_url(self, host: Any, target: str) -> str | None:
        page = str(host.options.get(PANEL)["sign_in_page"])
        if not page:
            return None
        return f"{page}?next={quote(target, safe='')}"
