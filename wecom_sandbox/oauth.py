"""OAuth2 web authorization and web login: codes, checks, code exchange.

The pages themselves (HTML) are rendered by :mod:`wecom_sandbox.web`; this
module decides what a request may do and keeps the codes and user tickets.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .corp import ACTIVE, App
from .errors import ApiError
from .tokens import Token

if TYPE_CHECKING:
    from .sandbox import Sandbox

CODE_LIFETIME = 300
TICKET_LIFETIME = 1800
SCOPES = ("snsapi_base", "snsapi_privateinfo")
STATE_RE = re.compile(r"^[A-Za-z0-9]{1,128}$")


@dataclass
class Code:
    value: str
    #: Lower-cased userid of a member, or the openid of an external visitor.
    identity: str
    is_member: bool
    redirect_host: str
    scope: str
    agentid: int | None
    expires_at: float
    used: bool = False


@dataclass
class Ticket:
    value: str
    userid: str
    agentid: int
    expires_at: float


class OAuthStore:
    def __init__(self) -> None:
        self.codes: dict[str, Code] = {}
        self.tickets: dict[str, Ticket] = {}


class PageError(Exception):
    """The authorize or login page refuses the request (HTTP 400 page)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass
class Request:
    """A checked authorize or web-login request."""

    redirect_uri: str
    redirect_host: str
    scope: str
    state: str
    agentid: int | None


def redirect_host(uri: str) -> str | None:
    """The ``host[:port]`` of an http(s) URL, lower-cased, or None."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return parts.netloc.rsplit("@", 1)[-1].lower()


def _check_common(sb: Sandbox, args: Any, agentid_required: bool) -> Request:
    if args.get("appid", "") != sb.corp.corpid:
        raise PageError(
            f"appid {args.get('appid', '')!r} is not this corp's CorpID "
            f"({sb.corp.corpid}); 参数错误"
        )
    state = args.get("state", "")
    if state and not STATE_RE.match(state):
        raise PageError("state must be at most 128 bytes of a-z, A-Z and 0-9; 参数错误")

    raw_agentid = args.get("agentid", "")
    agentid: int | None = None
    if raw_agentid:
        if not raw_agentid.isdigit() or int(raw_agentid) not in sb.corp.apps:
            raise PageError(f"agentid {raw_agentid!r} is not an app of this corp")
        agentid = int(raw_agentid)
    elif agentid_required:
        raise PageError("agentid is required")

    redirect_uri = args.get("redirect_uri", "")
    host = redirect_host(redirect_uri)
    if not redirect_uri or host is None:
        raise PageError("redirect_uri must be an http or https URL; 参数错误")
    apps: list[App] = (
        [sb.corp.apps[agentid]] if agentid is not None else list(sb.corp.apps.values())
    )
    if not any(a.trusted_domain and a.trusted_domain.lower() == host for a in apps):
        domains = ", ".join(a.trusted_domain or "(none)" for a in apps)
        raise PageError(
            f"redirect_uri 与配置的可信域名不一致: host {host!r} does not equal the "
            f"trusted domain ({domains})"
        )
    return Request(redirect_uri, host, "snsapi_base", state, agentid)


def check_authorize(sb: Sandbox, args: Any) -> Request:
    """Check ``/connect/oauth2/authorize`` parameters; raise PageError if bad."""
    request = _check_common(sb, args, agentid_required=False)
    if args.get("response_type") != "code":
        raise PageError("response_type must be code; 参数错误")
    scope = args.get("scope", "")
    if scope not in SCOPES:
        raise PageError(f"scope {scope!r} is not snsapi_base or snsapi_privateinfo")
    # Without agentid, WeCom treats snsapi_privateinfo as snsapi_base.
    request.scope = scope if request.agentid is not None else "snsapi_base"
    return request


def check_login(sb: Sandbox, args: Any) -> Request:
    """Check ``/wwlogin/sso/login`` (web login) parameters."""
    login_type = args.get("login_type", "CorpApp")
    if login_type != "CorpApp":
        raise PageError(f"login_type {login_type!r} is not supported; use CorpApp")
    return _check_common(sb, args, agentid_required=True)


def identify(sb: Sandbox, raw: str, members_only: bool = False) -> tuple[str, bool]:
    """(identity, is_member) for a sandbox identity string, or PageError."""
    member = sb.corp.member(raw)
    if member is not None:
        if member.status != ACTIVE:
            raise PageError(
                f"member {member.userid!r} has status {member.status} and cannot "
                "use the WeCom client (only status 1 can)",
                status=403,
            )
        return member.key, True
    if raw in sb.corp.external and not members_only:
        return raw, False
    raise PageError(f"{raw!r} is neither a member nor an external visitor")


def issue_code(sb: Sandbox, identity: str, is_member: bool, request: Request) -> Code:
    code = Code(
        value=secrets.token_urlsafe(32),
        identity=identity,
        is_member=is_member,
        redirect_host=request.redirect_host,
        scope=request.scope,
        agentid=request.agentid,
        expires_at=sb.clock.now() + CODE_LIFETIME,
    )
    sb.oauth.codes[code.value] = code
    return code


def redirect_with_code(request: Request, code: Code) -> str:
    """``redirect_uri`` with ``code`` (and ``state``) added to its query."""
    parts = urlsplit(request.redirect_uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query.append(("code", code.value))
    if request.state:
        query.append(("state", request.state))
    return urlunsplit(parts._replace(query=urlencode(query)))


def exchange(sb: Sandbox, token: Token, args: Any, old_keys: bool) -> dict[str, Any]:
    """``GET /cgi-bin/auth/getuserinfo`` (and the old ``user/getuserinfo``)."""
    value = args.get("code", "")
    if not value:
        raise ApiError(41008)
    code = sb.oauth.codes.get(value)
    if code is None or code.used or code.expires_at <= sb.clock.now():
        raise ApiError(40029)
    if token.is_contacts:
        raise ApiError(50001)
    app = sb.corp.apps[int(token.owner)]
    if not app.trusted_domain or app.trusted_domain.lower() != code.redirect_host:
        raise ApiError(50001)
    code.used = True

    if not code.is_member:
        key = "OpenId" if old_keys else "openid"
        return {"errcode": 0, "errmsg": "ok", key: code.identity}

    member = sb.corp.members[code.identity]
    result: dict[str, Any] = {"errcode": 0, "errmsg": "ok"}
    result["UserId" if old_keys else "userid"] = member.userid
    if old_keys:
        result["DeviceId"] = ""
    if code.scope == "snsapi_privateinfo" and member.key in app.visible_users:
        ticket = Ticket(
            value=secrets.token_urlsafe(48),
            userid=member.key,
            agentid=app.agentid,
            expires_at=sb.clock.now() + TICKET_LIFETIME,
        )
        sb.oauth.tickets[ticket.value] = ticket
        result["user_ticket"] = ticket.value
        if old_keys:
            result["expires_in"] = TICKET_LIFETIME
    return result


def user_detail(sb: Sandbox, token: Token, body: Any) -> dict[str, Any]:
    """``POST /cgi-bin/auth/getuserdetail``: the fields a member consented to."""
    value = body.get("user_ticket") if isinstance(body, dict) else None
    ticket = sb.oauth.tickets.get(str(value or ""))
    if (
        ticket is None
        or ticket.expires_at <= sb.clock.now()
        or ticket.agentid != token.owner
    ):
        raise ApiError(40058, "invalid user_ticket")
    full = sb.corp.members[ticket.userid].as_dict()
    result: dict[str, Any] = {"errcode": 0, "errmsg": "ok", "userid": full["userid"]}
    for name in ("gender", "avatar", "qr_code", "mobile", "email", "biz_mail"):
        result[name] = full[name]
    result["address"] = full["address"]
    return result
