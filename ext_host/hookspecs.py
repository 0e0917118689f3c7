"""The hooks an extension can implement, with their exact signatures.

Each hook is called by the host with keyword arguments; an implementation may
accept any subset of them.  The host calls each extension's implementation
inside a guard, so one extension's failure is recorded against it and never
stops the others.  ``docs/extensions.md`` repeats every hook with an example.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
import pluggy

from .api import PROJECT, MenuItem, Panel, Route, UserField

if TYPE_CHECKING:
    from .host import Host

hookspec = pluggy.HookspecMarker(PROJECT)


@hookspec
def startup(host: Host) -> None:
    """Called once after the extension is registered, before the host serves.

    Create tables (``host.store.ensure_schema``), read options, check what the
    extension needs.  Raising marks the extension *failed* with the message
    and unregisters it; extensions that depend on it are *blocked*.
    """


@hookspec
def shutdown(host: Host) -> None:
    """Called once when the host stops, in reverse load order. Returns nothing."""


@hookspec
def option_panels(host: Host) -> list[Panel]:
    """Return the system-option panels this extension adds (tabs of *System
    options*). Called whenever the panels are listed; keep it cheap."""
    raise NotImplementedError


@hookspec
def user_fields(host: Host) -> list[UserField]:
    """Return the fields this extension adds to every user (user form, CLI)."""
    raise NotImplementedError


@hookspec
def menu_items(host: Host) -> list[MenuItem]:
    """Return the context-menu items this extension adds to resources."""
    raise NotImplementedError


@hookspec
def http_routes(host: Host) -> list[Route]:
    """Return the HTTP routes this extension serves. Called once, when the
    web app is built."""
    raise NotImplementedError


@hookspec
def cli_commands(host: Host) -> list[click.Command]:
    """Return click commands (or groups) to add to ``ext-host``. Their names
    must not clash with the host's own commands or another extension's."""
    raise NotImplementedError


@hookspec(firstresult=True)
def sign_in_url(host: Host, target: str) -> str | None:
    """Return where to send a visitor without a session who asked for
    ``target`` (a path on this host, such as ``/vision/reports/r1``), or None
    to leave it to another extension.  Called inside the request, so
    ``flask.request`` (user agent, headers) may be read.  The first non-None
    answer wins; with none, the host shows its own sign-in page."""
    raise NotImplementedError


@hookspec
def serving(host: Host) -> None:
    """Called once when ``ext-host serve`` has built the web app and is about to
    serve (not for other commands).  Start background work here, such as
    sending what a crashed process left unsent; use daemon threads and stop
    them in ``shutdown``.  Returns nothing."""


#: The hook names, in the order the documentation lists them.
HOOK_NAMES = (
    "startup",
    "shutdown",
    "option_panels",
    "user_fields",
    "menu_items",
    "http_routes",
    "cli_commands",
    "sign_in_url",
    "serving",
)
