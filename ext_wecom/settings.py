"""The *WeChat settings* (微信设置) panel: CorpID, app secrets, contacts secret,
server address, and where WeCom is reached."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ext_host.api import Panel, PanelAction, Problem

PANEL = "wecom"
DEFAULT_API = "https://qyapi.weixin.qq.com"
DEFAULT_OAUTH = "https://open.weixin.qq.com"
DEFAULT_WEB_LOGIN = "https://login.work.weixin.qq.com"

_CORPID = r"^w[wx][0-9A-Za-z]{16}$"
_SECRET = re.compile(r"^[A-Za-z0-9_\-]{16,128}$")
_KEY_CHARS = "16-128 letters, digits, '-' and '_'"

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "corpid": {
            "type": "string",
            "title": "微信CorpID WeChat CorpID",
            "description": "我的企业 > 企业ID (My Company > Corp ID), e.g. ww74a64be8259678d1",
            "pattern": _CORPID,
            "x-format": "a CorpID is ww (or wx) and 16 letters or digits, such as "
            "ww74a64be8259678d1 (我的企业 > 企业ID)",
            "x-actions": ["generate_link"],
        },
        "app_secrets": {
            "type": "string",
            "title": "企业应用Secret App secret(s)",
            "description": "One secret per app; separate several with ';' "
            "(secretID_1;secretID_2). A '-' inside a secret is part of it.",
        },
        "contacts_secret": {
            "type": "string",
            "title": "通讯管理Secret Contacts secret",
            "description": "管理工具 > 通讯录同步 secret, used for member sync",
        },
        "server_address": {
            "type": "string",
            "title": "服务器地址 Server address",
            "description": "The address members' phones reach this server on, e.g. "
            "https://bi.example.com; its host must be the app's trusted domain",
            "pattern": r"^https?://[^\s/?#]+(/[^\s?#]*)?$",
            "x-format": "use http(s)://HOST[:PORT], such as https://bi.example.com",
            "x-autodetect": "host_url",
        },
        "api_base": {
            "type": "string",
            "title": "WeCom API address (advanced)",
            "description": "Leave as is for the real WeCom; the sandbox's URL to try it",
            "default": DEFAULT_API,
            "pattern": r"^https?://[^\s?#]+$",
            "x-format": "use an http(s):// address without ? or #",
        },
        "oauth_base": {
            "type": "string",
            "title": "WeCom OAuth address (advanced)",
            "description": "Leave as is for the real WeCom; the sandbox's URL to try it",
            "default": DEFAULT_OAUTH,
            "pattern": r"^https?://[^\s?#]+$",
            "x-format": "use an http(s):// address without ? or #",
        },
        "web_login_base": {
            "type": "string",
            "title": "WeCom web login address (advanced)",
            "description": "Where a desktop browser signs in with WeCom's QR code "
            "(wwlogin/sso/login); leave as is (or empty) for the real WeCom",
            "default": DEFAULT_WEB_LOGIN,
            "pattern": r"^(https?://[^\s?#]+)?$",
            "x-format": "use the http(s):// address, or leave it empty",
        },
        "seats": {
            "type": "integer",
            "minimum": 1,
            "title": "授权账号数 Licensed seats",
            "description": "The corp's licensed accounts (我的企业 > 企业信息); member "
            "sync keeps WeCom's mobile lookup below a fifth of it a day. Empty: "
            "the member count, which is safe but smaller",
        },
    },
}


@dataclass(frozen=True)
class Settings:
    corpid: str
    secrets: tuple[str, ...]
    contacts_secret: str
    server_address: str
    api_base: str
    oauth_base: str
    web_login_base: str = DEFAULT_WEB_LOGIN


def split_secrets(text: str) -> list[str]:
    """``a;b;c`` to ``["a", "b", "c"]``, trimmed; empty entries kept (as "")
    so the validator can name them by position."""
    if not text or not text.strip():
        return []
    return [part.strip() for part in text.split(";")]


def normalize(values: dict[str, Any]) -> dict[str, Any]:
    values = dict(values)
    for key in (
        "corpid",
        "server_address",
        "api_base",
        "oauth_base",
        "web_login_base",
        "contacts_secret",
    ):
        if isinstance(values.get(key), str):
            values[key] = values[key].strip()
    if isinstance(values.get("server_address"), str):
        values["server_address"] = values["server_address"].rstrip("/")
    for key in ("api_base", "oauth_base", "web_login_base"):
        if isinstance(values.get(key), str):
            values[key] = values[key].rstrip("/")
    if isinstance(values.get("app_secrets"), str):
        parts = split_secrets(values["app_secrets"])
        values["app_secrets"] = ";".join(parts)
    return values


def validate(values: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    secrets = split_secrets(values.get("app_secrets") or "")
    for index, secret in enumerate(secrets, start=1):
        if not secret:
            problems.append(
                Problem(
                    "app_secrets",
                    f"企业应用Secret: entry {index} is empty; remove the extra ';'",
                )
            )
        elif not _SECRET.match(secret):
            problems.append(
                Problem(
                    "app_secrets",
                    f"企业应用Secret: entry {index} is not a WeCom secret "
                    f"({_KEY_CHARS}; this one has {len(secret)} characters); "
                    "copy it again from the app's page",
                )
            )
    if len(set(secrets)) != len(secrets) and all(secrets):
        problems.append(
            Problem("app_secrets", "企业应用Secret: a secret is listed twice")
        )
    contacts = values.get("contacts_secret") or ""
    if contacts and not _SECRET.match(contacts):
        problems.append(
            Problem(
                "contacts_secret",
                f"通讯管理Secret: not a WeCom secret ({_KEY_CHARS}); copy it "
                "again from 管理工具 > 通讯录同步",
            )
        )
    address = values.get("server_address") or ""
    if address:
        warning = trusted_domain_warning(address)
        if warning:
            problems.append(Problem("server_address", warning, level="warning"))
    return problems


def trusted_domain_warning(address: str) -> str | None:
    """Why WeCom would not accept ``address``'s host as a trusted domain."""
    parts = urlsplit(address)
    host = parts.hostname or ""
    port = parts.port
    try:
        ipaddress.ip_address(host)
        is_ip = True
    except ValueError:
        is_ip = False
    if is_ip:
        return (
            f"服务器地址: {host} is an IP address; WeCom accepts only a registered "
            "domain name as trusted domain (the sandbox accepts it)"
        )
    if "." not in host:
        return (
            f"服务器地址: {host!r} is a single-label host; WeCom needs a registered "
            "domain name such as bi.example.com"
        )
    if port not in (None, 80, 443):
        return (
            f"服务器地址: port {port}; WeCom accepts trusted domains only on port "
            "80 (http) or 443 (https)"
        )
    return None


def server_domain(address: str) -> str:
    """The ``host[:port]`` of ``address`` as WeCom compares it with an app's
    trusted domain: the host lower-cased, the port only when not the scheme's
    default."""
    parts = urlsplit(address)
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return f"{host}:{port}" if port and port != default else host


def trusted_domain_mismatch(address: str, app_name: str, trusted: str) -> str | None:
    """Why WeCom would refuse to sign members in through app ``app_name`` whose
    trusted domain (可信域名, ``agent/get``'s ``redirect_domain``) is
    ``trusted``, with links on ``address``; None when they match."""
    domain = server_domain(address)
    if not trusted:
        return (
            f"app {app_name}: no trusted domain (可信域名) is set; set it to "
            f"{domain} in the app's 网页授权及JS-SDK"
        )
    if trusted.strip().lower() != domain:
        return (
            f"app {app_name}: its trusted domain (可信域名) is {trusted!r} but the "
            f"server address's host is {domain!r}; WeCom will refuse to sign "
            "members in until they match exactly, port included"
        )
    return None


def load(host: Any) -> Settings:
    values = host.options.get(PANEL)
    return Settings(
        corpid=values.get("corpid") or "",
        secrets=tuple(s for s in split_secrets(values.get("app_secrets") or "") if s),
        contacts_secret=values.get("contacts_secret") or "",
        server_address=(values.get("server_address") or "").rstrip("/"),
        api_base=(values.get("api_base") or DEFAULT_API).rstrip("/"),
        oauth_base=(values.get("oauth_base") or DEFAULT_OAUTH).rstrip("/"),
        web_login_base=(values.get("web_login_base") or DEFAULT_WEB_LOGIN).rstrip("/"),
    )


def panel(actions: tuple[PanelAction, ...]) -> Panel:
    return Panel(
        name=PANEL,
        label="微信设置 WeChat settings",
        schema=SCHEMA,
        secret_fields=("app_secrets", "contacts_secret"),
        validate=validate,
        normalize=normalize,
        actions=actions,
        help="1. 配置多个企业应用请使用英文分号 ';' 分隔 (several apps: separate "
        "secrets with ';'). 2. 服务器地址的域名须为应用的可信域名 (the server "
        "address's host must be the app's trusted domain), port 80 or 443.",
    )
