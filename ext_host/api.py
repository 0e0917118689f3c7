"""What an extension may use: the hook marker and the contribution types.

An extension's entry object carries methods marked with :data:`hookimpl`;
the hooks it may implement are declared, with their exact signatures, in
:mod:`ext_host.hookspecs` and described in ``docs/extensions.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from .host import Host

PROJECT = "ext_host"

#: Marks a method of an extension's entry object as a hook implementation.
hookimpl = pluggy.HookimplMarker(PROJECT)


@dataclass(frozen=True)
class Problem:
    """One finding of a validator: an error refuses the save, a warning does not."""

    field: str
    message: str
    level: str = "error"  # "error" or "warning"


@dataclass(frozen=True)
class ActionResult:
    """What a panel action or a menu action tells the person who ran it."""

    message: str
    ok: bool = True
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PanelAction:
    """A button on a panel, such as *Generate WeChat link*.

    ``run(host, values)`` receives the panel's stored values (secrets
    decrypted) and returns an :class:`ActionResult`.
    """

    name: str
    label: str
    run: Callable[[Host, dict[str, Any]], ActionResult]


@dataclass(frozen=True)
class Panel:
    """A system-option panel (a tab of *System options*).

    ``schema`` is a JSON Schema object; its ``properties`` are the fields, in
    order, each with a ``title`` (the label) and optionally a ``description``
    (the help text).  Fields named in ``secret_fields`` are write-only.
    ``validate(values)`` returns further :class:`Problem` items;
    ``normalize(values)`` returns the values to store.

    Display hints the console reads from a property: ``x-actions`` (names of
    actions whose buttons sit beside the field), ``x-autodetect: host_url`` (an
    *Auto-detect* button filling the address the administrator browses on),
    ``x-multiline``.  ``x-format`` (with a ``pattern``) says what the right
    format is; a value that does not match is refused with
    ``'VALUE' has the wrong format; X-FORMAT``.  From an action's :class:`ActionResult` ``data`` it shows
    ``link`` (with a copy button), ``note``, and marks the lines of the message
    listed in ``problems`` or ``warnings``.
    """

    name: str
    label: str
    schema: Mapping[str, Any]
    secret_fields: tuple[str, ...] = ()
    validate: Callable[[dict[str, Any]], list[Problem]] | None = None
    normalize: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    actions: tuple[PanelAction, ...] = ()
    help: str = ""


@dataclass(frozen=True)
class UserField:
    """A field an extension adds to every user, such as *WeChat account*.

    ``validate(value)`` returns an error message or None; ``normalize(value)``
    gives the form compared for uniqueness and look-ups (for example
    lower-cased).  Keys are namespaced by the extension: ``wecom.account``.
    """

    key: str
    label: str
    help: str = ""
    unique: bool = False
    validate: Callable[[str], str | None] | None = None
    normalize: Callable[[str], str] = str


@dataclass(frozen=True)
class MenuItem:
    """A context-menu item on a kind of resource (``"report"``).

    ``dialog`` is a JSON Schema object describing the form to fill (or None to
    run straight away); ``prefill(host, resource)`` gives its initial values;
    ``action(host, resource, values, actor)`` does the work, where ``actor`` is
    the name of the host user who chose the item (``None`` from the CLI).

    ``choices(host, resource)``, when given, returns the options of fields
    that are picked from a list, computed when the dialog opens: ``{field:
    [{"value": ..., "label": ..., "warn": ...}]}`` (``warn`` optional, shown
    when the option is chosen).  A field whose schema type is ``array`` is a
    multiple choice.

    Dialog hints the console reads: ``x-submit`` (the schema's button label),
    and on a property ``x-max-bytes`` (a live UTF-8 byte count with a warning
    past it), ``x-multiline``, ``x-upload: {"accept": [...], "recommended":
    [width, height]}`` (a picture upload; the field receives ``/uploads/NAME``,
    served by the host).  After the action, ``data["lines"]`` is listed under
    the message.
    """

    id: str
    label: str
    resource_kind: str
    action: Callable[[Host, Any, dict[str, Any], str | None], ActionResult]
    dialog: Mapping[str, Any] | None = None
    prefill: Callable[[Host, Any], dict[str, Any]] | None = None
    choices: Callable[[Host, Any], dict[str, list[dict[str, str]]]] | None = None


@dataclass(frozen=True)
class Route:
    """An HTTP route served by the host's web app.

    ``view`` is a Flask view function (it may take URL arguments); ``rule``
    is a Flask URL rule such as ``/vision/wechat/wechatportal.html``.  A
    ``nav`` label ("推送记录 Push history": Chinese, a space, English) puts
    the route in the console's navigation bar; such a route takes no URL
    arguments, and its view should answer with :func:`console_page`.
    """

    rule: str
    view: Callable[..., Any]
    methods: tuple[str, ...] = ("GET",)
    endpoint: str = ""
    nav: str = ""


# Errors an extension raises to refuse something with a one-line message.
from .errors import HostError, NotFound, PermissionDenied, ValidationError  # noqa: E402

__all__ = [
    "ActionResult",
    "HostError",
    "MenuItem",
    "NotFound",
    "Panel",
    "PanelAction",
    "PermissionDenied",
    "Problem",
    "Route",
    "UserField",
    "ValidationError",
    "hookimpl",
    "console_page",
    "message_page",
]


def console_page(body: str, title: str, **context: Any) -> Any:
    """Render ``body`` (a Jinja fragment, autoescaped) inside the console's
    layout: its header, navigation and sign-out.  For an extension's admin
    pages; the view must first check ``host.current_admin()``."""
    from flask import render_template_string

    from .console import layout_context

    source = (
        '{% extends "console/base.html" %}{% block title %}{{ title }}{% endblock %}'
        "{% block main %}" + body + "{% endblock %}"
    )
    return render_template_string(source, title=title, **layout_context(), **context)


def message_page(title: str, message: str, status: int = 200, detail: str = "") -> Any:
    """A page in the host's style with one message, for extension routes."""
    from flask import render_template

    return render_template(
        "message.html", title=title, message=message, detail=detail
    ), status
