"""Contacts reads: departments and members, limited to what the token may see.

An app token sees its app's visible range; the contacts-secret token sees the
whole corp. Members who left (status 5) are never returned.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .corp import LEFT, Member
from .errors import ApiError
from .tokens import Token

if TYPE_CHECKING:
    from .sandbox import Sandbox

MOBILE_BYTES = (5, 32)
LIST_ID_MAX = 10000
#: Share of the corp's seats that ``user/getuserid`` may miss per day.
GETUSERID_MISS_SHARE = 0.2


@dataclass
class Scope:
    users: set[str] | None  # None = every member
    depts: set[int] | None  # None = every department
    sensitive: bool


def scope_of(sb: Sandbox, token: Token) -> Scope:
    if token.is_contacts:
        return Scope(None, None, True)
    app = sb.corp.apps[int(token.owner)]
    return Scope(app.visible_users, app.visible_depts, not app.created_after_2022)


def _details_allowed(sb: Sandbox, token: Token) -> None:
    """Since 2022-08-15 a contacts secret used from a new IP may only list ids."""
    if token.is_contacts and sb.corp.contacts_new_ip:
        raise ApiError(48009)


def _dept_id(raw: Any, required: bool) -> int | None:
    if raw in (None, ""):
        if required:
            raise ApiError(40058, "missing department id")
        return None
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise ApiError(60003) from None


def _visible_dept(sb: Sandbox, scope: Scope, dept_id: int) -> None:
    if dept_id not in sb.corp.departments:
        raise ApiError(60003)
    if scope.depts is not None and dept_id not in scope.depts:
        raise ApiError(60011)


def _departments(sb: Sandbox, scope: Scope, raw_id: Any) -> list[int]:
    dept_id = _dept_id(raw_id, required=False)
    if dept_id is not None:
        _visible_dept(sb, scope, dept_id)
    ids = sb.corp.subtree(dept_id if dept_id is not None else 1)
    if scope.depts is None:
        return ids
    return [d for d in ids if d in scope.depts]


def department_list(sb: Sandbox, token: Token, args: Any) -> dict[str, Any]:
    _details_allowed(sb, token)
    scope = scope_of(sb, token)
    ids = _departments(sb, scope, args.get("id"))
    return {
        "errcode": 0,
        "errmsg": "ok",
        "department": [sb.corp.departments[d].as_dict() for d in ids],
    }


def department_simplelist(sb: Sandbox, token: Token, args: Any) -> dict[str, Any]:
    scope = scope_of(sb, token)
    ids = _departments(sb, scope, args.get("id"))
    depts = sb.corp.departments
    return {
        "errcode": 0,
        "errmsg": "ok",
        "department_id": [
            {"id": d, "parentid": depts[d].parentid, "order": depts[d].order}
            for d in ids
        ],
    }


def department_get(sb: Sandbox, token: Token, args: Any) -> dict[str, Any]:
    scope = scope_of(sb, token)
    dept_id = _dept_id(args.get("id"), required=True)
    assert dept_id is not None
    _visible_dept(sb, scope, dept_id)
    return {
        "errcode": 0,
        "errmsg": "ok",
        "department": sb.corp.departments[dept_id].as_dict(),
    }


def _visible_member(sb: Sandbox, scope: Scope, userid: str) -> Member:
    member = sb.corp.member(userid)
    if (
        member is None
        or member.status == LEFT
        or (scope.users is not None and member.key not in scope.users)
    ):
        raise ApiError(60111, f"userid not found: {userid}")
    return member


def user_get(sb: Sandbox, token: Token, args: Any) -> dict[str, Any]:
    userid = args.get("userid", "")
    if not userid:
        raise ApiError(40058, "missing userid")
    _details_allowed(sb, token)
    member = _visible_member(sb, scope_of(sb, token), userid)
    return {
        "errcode": 0,
        "errmsg": "ok",
        **member.as_dict(scope_of(sb, token).sensitive),
    }


def _members_in(sb: Sandbox, token: Token, args: Any) -> tuple[list[Member], Scope]:
    scope = scope_of(sb, token)
    dept_id = _dept_id(args.get("department_id"), required=True)
    assert dept_id is not None
    _visible_dept(sb, scope, dept_id)
    if str(args.get("fetch_child", "0")) == "1":
        dept_ids = set(sb.corp.subtree(dept_id))
    else:
        dept_ids = {dept_id}
    keys = sb.corp.members_of(dept_ids)
    members = [
        m
        for k, m in sb.corp.members.items()
        if k in keys and m.status != LEFT and (scope.users is None or k in scope.users)
    ]
    return members, scope


def user_simplelist(sb: Sandbox, token: Token, args: Any) -> dict[str, Any]:
    members, _ = _members_in(sb, token, args)
    return {
        "errcode": 0,
        "errmsg": "ok",
        "userlist": [
            {
                "userid": m.userid,
                "name": m.name,
                "department": list(m.department),
                "open_userid": m.open_userid,
            }
            for m in members
        ],
    }


def user_list(sb: Sandbox, token: Token, args: Any) -> dict[str, Any]:
    _details_allowed(sb, token)
    members, scope = _members_in(sb, token, args)
    return {
        "errcode": 0,
        "errmsg": "ok",
        "userlist": [m.as_dict(scope.sensitive) for m in members],
    }


def user_list_id(sb: Sandbox, token: Token, body: Any) -> dict[str, Any]:
    """``POST /cgi-bin/user/list_id``: contacts secret only."""
    if not token.is_contacts:
        raise ApiError(48002)
    body = body if isinstance(body, dict) else {}
    try:
        limit = int(body.get("limit", LIST_ID_MAX))
        cursor = str(body.get("cursor") or "")
        offset = (
            int(base64.urlsafe_b64decode(cursor.encode()).decode()) if cursor else 0
        )
    except (TypeError, ValueError):
        raise ApiError(40058, "invalid cursor or limit") from None
    if not 1 <= limit <= LIST_ID_MAX:
        raise ApiError(40058, "limit must be 1-10000")

    pairs = [
        {"userid": m.userid, "department": d}
        for m in sb.corp.members.values()
        if m.status != LEFT
        for d in m.department
    ]
    page = pairs[offset : offset + limit]
    end = offset + len(page)
    next_cursor = (
        base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(pairs) else ""
    )
    return {"errcode": 0, "errmsg": "ok", "next_cursor": next_cursor, "dept_user": page}


def user_getuserid(sb: Sandbox, token: Token, body: Any) -> dict[str, Any]:
    """``POST /cgi-bin/user/getuserid``: a member's userid from a mobile number.

    Misses are budgeted: once they reach 20% of the corp's seats in one day,
    every lookup answers 45009 until the day ends.
    """
    now = sb.clock.now()
    day = sb.clock.day(now)
    misses = sb.getuserid_misses.get(day, 0)
    if misses >= int(sb.corp.seats * GETUSERID_MISS_SHARE):
        raise ApiError(45009, "api freq out of limit (getuserid misses)")

    mobile = str(body.get("mobile", "")) if isinstance(body, dict) else ""
    if not MOBILE_BYTES[0] <= len(mobile.encode()) <= MOBILE_BYTES[1]:
        raise ApiError(40058, "mobile must be 5-32 bytes")
    scope = scope_of(sb, token)
    key = sb.corp.by_mobile.get(mobile)
    member = sb.corp.members.get(key) if key else None
    if (
        member is None
        or member.status == LEFT
        or (scope.users is not None and member.key not in scope.users)
    ):
        sb.getuserid_misses[day] = misses + 1
        raise ApiError(46004)
    return {"errcode": 0, "errmsg": "ok", "userid": member.userid}
