"""The ``/cgi-bin/`` endpoints: one table from path to handler.

Each handler takes the sandbox, the caller's token (already checked, or None for
``gettoken``) and the :class:`Call`, and returns the JSON body to answer with,
raising :class:`~wecom_sandbox.errors.ApiError` for an errcode answer. Handlers
run under the sandbox lock.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import contacts, media, messages, oauth
from .errors import ApiError
from .messages import resolve_agent
from .tokens import CONTACTS, Token

if TYPE_CHECKING:
    from .sandbox import Sandbox

#: Wrong secrets one IP may send in an hour before gettoken blocks it.
SECRET_FAILURES_ALLOWED = 10
SECRET_BLOCK_SECONDS = 3600


@dataclass
class Call:
    path: str
    method: str
    args: Any  # a read-only mapping of query parameters
    body: Any  # parsed JSON, or None
    files: Any  # multipart files
    remote_addr: str
    base_url: str


def authenticate(sb: Sandbox, args: Any) -> Token:
    """The token named by ``access_token``; 41001, 40014 or 42001 if unusable."""
    value = args.get("access_token", "")
    if not value:
        raise ApiError(41001)
    token = sb.tokens.lookup(value)
    if token is None:
        raise ApiError(40014)
    if token.expires_at <= sb.clock.now():
        raise ApiError(sb.faults.expired_token_errcode)
    return token


def gettoken(sb: Sandbox, token: Token | None, call: Call) -> dict[str, Any]:
    params = dict(call.args)
    if isinstance(call.body, dict):
        params = {**{k: str(v) for k, v in call.body.items()}, **params}
    now = sb.clock.now()
    if sb.secret_blocks.get(call.remote_addr, 0) > now:
        raise ApiError(45009, "api freq out of limit (too many wrong secrets)")
    corpid, secret = params.get("corpid", ""), params.get("corpsecret", "")
    if not corpid:
        raise ApiError(41002)
    if not secret:
        raise ApiError(41004)
    if corpid != sb.corp.corpid:
        raise ApiError(40013)

    owner: int | str | None = None
    if sb.corp.contacts_secret and secret == sb.corp.contacts_secret:
        owner = CONTACTS
    else:
        owner = next(
            (a.agentid for a in sb.corp.apps.values() if a.secret == secret), None
        )
    if owner is None:
        recent = [
            t for t in sb.secret_failures.get(call.remote_addr, []) if t > now - 3600
        ]
        recent.append(now)
        sb.secret_failures[call.remote_addr] = recent
        if len(recent) >= SECRET_FAILURES_ALLOWED:
            sb.secret_blocks[call.remote_addr] = now + SECRET_BLOCK_SECONDS
        raise ApiError(40001)

    issued = sb.tokens.issue(owner, now)
    return {
        "errcode": 0,
        "errmsg": "ok",
        "access_token": issued.value,
        "expires_in": math.ceil(issued.expires_at - now),
    }


def _app_token(token: Token) -> int:
    if token.is_contacts:
        raise ApiError(48002)
    return int(token.owner)


def agent_list(sb: Sandbox, token: Token | None, call: Call) -> dict[str, Any]:
    assert token is not None
    app = sb.corp.apps[_app_token(token)]
    return {
        "errcode": 0,
        "errmsg": "ok",
        "agentlist": [
            {
                "agentid": app.agentid,
                "name": app.name,
                "square_logo_url": app.square_logo_url,
            }
        ],
    }


def agent_get(sb: Sandbox, token: Token | None, call: Call) -> dict[str, Any]:
    assert token is not None
    _app_token(token)
    app = resolve_agent(sb, token, call.args.get("agentid"))
    return {
        "errcode": 0,
        "errmsg": "ok",
        "agentid": app.agentid,
        "name": app.name,
        "square_logo_url": app.square_logo_url,
        "description": app.description,
        "allow_userinfos": {"user": [{"userid": u} for u in app.allow_users]},
        "allow_partys": {"partyid": list(app.allow_partys)},
        "allow_tags": {"tagid": list(app.allow_tags)},
        "close": 0,
        "redirect_domain": app.trusted_domain,
        "report_location_flag": 0,
        "isreportenter": 0,
        "home_url": app.home_url,
    }


def _with_token(
    fn: Callable[[Sandbox, Token, Any], dict[str, Any]], source: str
) -> Callable[[Sandbox, Token | None, Call], dict[str, Any]]:
    def handler(sb: Sandbox, token: Token | None, call: Call) -> dict[str, Any]:
        assert token is not None
        return fn(sb, token, call.args if source == "args" else call.body)

    return handler


def _getuserinfo(old_keys: bool) -> Callable[[Sandbox, Token | None, Call], Any]:
    def handler(sb: Sandbox, token: Token | None, call: Call) -> dict[str, Any]:
        assert token is not None
        return oauth.exchange(sb, token, call.args, old_keys)

    return handler


def media_upload(sb: Sandbox, token: Token | None, call: Call) -> dict[str, Any]:
    assert token is not None
    return media.upload(sb, token, call.args, call.files)


def media_uploadimg(sb: Sandbox, token: Token | None, call: Call) -> dict[str, Any]:
    assert token is not None
    return media.uploadimg(sb, token, call.files, call.base_url)


Handler = Callable[["Sandbox", Token | None, Call], Any]

#: path -> (handler, whether it needs an access token). ``media/get`` is served
#: by the web layer because it answers with bytes, not JSON.
ROUTES: dict[str, tuple[Handler, bool]] = {
    "/cgi-bin/gettoken": (gettoken, False),
    "/cgi-bin/agent/list": (agent_list, True),
    "/cgi-bin/agent/get": (agent_get, True),
    "/cgi-bin/message/send": (_with_token(messages.send, "body"), True),
    "/cgi-bin/message/recall": (_with_token(messages.recall, "body"), True),
    "/cgi-bin/message/get_statistics": (_with_token(messages.statistics, "body"), True),
    "/cgi-bin/media/upload": (media_upload, True),
    "/cgi-bin/media/uploadimg": (media_uploadimg, True),
    "/cgi-bin/auth/getuserinfo": (_getuserinfo(old_keys=False), True),
    "/cgi-bin/user/getuserinfo": (_getuserinfo(old_keys=True), True),
    "/cgi-bin/auth/getuserdetail": (_with_token(oauth.user_detail, "body"), True),
    "/cgi-bin/department/list": (_with_token(contacts.department_list, "args"), True),
    "/cgi-bin/department/simplelist": (
        _with_token(contacts.department_simplelist, "args"),
        True,
    ),
    "/cgi-bin/department/get": (_with_token(contacts.department_get, "args"), True),
    "/cgi-bin/user/get": (_with_token(contacts.user_get, "args"), True),
    "/cgi-bin/user/simplelist": (_with_token(contacts.user_simplelist, "args"), True),
    "/cgi-bin/user/list": (_with_token(contacts.user_list, "args"), True),
    "/cgi-bin/user/list_id": (_with_token(contacts.user_list_id, "body"), True),
    "/cgi-bin/user/getuserid": (_with_token(contacts.user_getuserid, "body"), True),
}
