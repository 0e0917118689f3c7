"""The seeded corp: departments, members, tags, apps and external visitors.

Loaded once from a dict (usually a YAML seed file) and checked field by field,
so a typo in the seed names the entry and the field to fix. Apart from an app's
trusted domain, nothing here changes while the sandbox runs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

#: Member status values, as WeCom numbers them.
ACTIVE, DISABLED, NOT_ACTIVATED, LEFT = 1, 2, 4, 5

#: Fields that apps created after 2022-06-20 no longer receive from user/get.
SENSITIVE_FIELDS = (
    "mobile",
    "email",
    "avatar",
    "thumb_avatar",
    "gender",
    "biz_mail",
    "qr_code",
    "address",
)


class SeedError(ValueError):
    """The corp seed is malformed; the message names the entry and the field."""


@dataclass
class Department:
    id: int
    name: str
    parentid: int
    order: int = 0
    name_en: str = ""
    department_leader: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "name_en": self.name_en,
            "department_leader": list(self.department_leader),
            "parentid": self.parentid,
            "order": self.order,
        }


@dataclass
class Member:
    userid: str
    name: str
    department: list[int]
    status: int = ACTIVE
    mobile: str = ""
    email: str = ""
    biz_mail: str = ""
    position: str = ""
    gender: str = "0"
    alias: str = ""
    telephone: str = ""
    address: str = ""
    avatar: str = ""
    order: list[int] = field(default_factory=list)
    is_leader_in_dept: list[int] = field(default_factory=list)
    direct_leader: list[str] = field(default_factory=list)
    main_department: int = 0
    open_userid: str = ""

    @property
    def key(self) -> str:
        """The lower-cased userid every lookup uses."""
        return self.userid.lower()

    def as_dict(self, sensitive: bool = True) -> dict[str, Any]:
        """The member as ``user/get`` returns it; ``sensitive=False`` for apps
        created after 2022-06-20."""
        data: dict[str, Any] = {
            "userid": self.userid,
            "name": self.name,
            "department": list(self.department),
            "order": list(self.order) or [0] * len(self.department),
            "position": self.position,
            "mobile": self.mobile,
            "gender": self.gender,
            "email": self.email,
            "biz_mail": self.biz_mail,
            "is_leader_in_dept": list(self.is_leader_in_dept)
            or [0] * len(self.department),
            "direct_leader": list(self.direct_leader),
            "avatar": self.avatar,
            "thumb_avatar": self.avatar,
            "telephone": self.telephone,
            "alias": self.alias,
            "address": self.address,
            "open_userid": self.open_userid,
            "main_department": self.main_department or self.department[0],
            "extattr": {"attrs": []},
            "status": self.status,
            "qr_code": f"https://open.work.weixin.qq.com/wwopen/userQRCode?vcode=sb{self.key}",
            "external_position": "",
            "external_profile": {"external_corp_name": "", "external_attr": []},
        }
        if not sensitive:
            for name in SENSITIVE_FIELDS:
                data.pop(name, None)
        return data


@dataclass
class Tag:
    tagid: int
    tagname: str
    userlist: list[str] = field(default_factory=list)
    partylist: list[int] = field(default_factory=list)


@dataclass
class App:
    agentid: int
    name: str
    secret: str
    trusted_domain: str = ""
    home_url: str = ""
    description: str = ""
    square_logo_url: str = ""
    allow_users: list[str] = field(default_factory=list)
    allow_partys: list[int] = field(default_factory=list)
    allow_tags: list[int] = field(default_factory=list)
    created_after_2022: bool = False
    daily_quota: int = 200000
    #: Lower-cased userids of every member in the visible range (any status
    #: but "left"); filled in by :meth:`Corp.compute_visibility`.
    visible_users: set[str] = field(default_factory=set)
    #: Ids of departments inside the visible range (allowed ones and below).
    visible_depts: set[int] = field(default_factory=set)
    #: Tags the app may address.
    visible_tags: set[int] = field(default_factory=set)

    def as_dict(self) -> dict[str, Any]:
        return {
            "agentid": self.agentid,
            "name": self.name,
            "secret": self.secret,
            "trusted_domain": self.trusted_domain,
            "home_url": self.home_url,
            "description": self.description,
            "square_logo_url": self.square_logo_url,
            "allow_users": list(self.allow_users),
            "allow_partys": list(self.allow_partys),
            "allow_tags": list(self.allow_tags),
            "created_after_2022": self.created_after_2022,
            "daily_quota": self.daily_quota,
        }


def _require(entry: dict[str, Any], name: str, where: str) -> Any:
    if name not in entry or entry[name] in (None, ""):
        raise SeedError(f"sandbox seed: {where}: missing '{name}'")
    return entry[name]


def _int(value: Any, where: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise SeedError(f"sandbox seed: {where}: {value!r} is not a number") from None


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise SeedError(f"sandbox seed: {where}: expected a list, got {value!r}")
    return value


def _entries(seed: dict[str, Any], key: str) -> Iterable[tuple[str, dict[str, Any]]]:
    for index, entry in enumerate(_list(seed.get(key), key)):
        where = f"{key}[{index}]"
        if not isinstance(entry, dict):
            raise SeedError(f"sandbox seed: {where}: expected a mapping")
        yield where, entry


class Corp:
    """One WeCom corp, built from a seed dict (see ``docs/sandbox.md``)."""

    def __init__(self, seed: dict[str, Any]) -> None:
        if not isinstance(seed, dict):
            raise SeedError("sandbox seed: expected a mapping at the top level")
        self.corpid: str = str(_require(seed, "corpid", "top level"))
        self.name: str = str(seed.get("name", self.corpid))
        self.contacts_secret: str = str(seed.get("contacts_secret") or "")
        self.errmsg_hints: bool = bool(seed.get("errmsg_hints", True))
        #: The contacts secret is called from an IP added after 2022-08-15, so
        #: WeCom refuses it user/get, user/list and department/list (48009).
        self.contacts_new_ip: bool = bool(seed.get("contacts_new_ip", False))

        self.departments: dict[int, Department] = {}
        for where, entry in _entries(seed, "departments"):
            dept = Department(
                id=_int(_require(entry, "id", where), where),
                name=str(_require(entry, "name", where)),
                parentid=_int(entry.get("parentid", 0), where),
                order=_int(entry.get("order", 0), where),
                name_en=str(entry.get("name_en", "")),
                department_leader=[str(u) for u in entry.get("department_leader", [])],
            )
            if dept.id in self.departments:
                raise SeedError(f"sandbox seed: {where}: duplicate id {dept.id}")
            self.departments[dept.id] = dept
        if 1 not in self.departments:
            self.departments[1] = Department(1, self.name, 0, 1)
        for dept in self.departments.values():
            if dept.id != 1 and dept.parentid not in self.departments:
                raise SeedError(
                    f"sandbox seed: department {dept.id}: parentid {dept.parentid} "
                    "is not a department"
                )
        self.children: dict[int, list[int]] = {d: [] for d in self.departments}
        for dept in sorted(self.departments.values(), key=lambda d: (d.order, d.id)):
            if dept.id != 1:
                self.children[dept.parentid].append(dept.id)

        self.members: dict[str, Member] = {}
        for where, entry in _entries(seed, "members"):
            depts = [_int(d, where) for d in _list(entry.get("department", [1]), where)]
            for d in depts:
                if d not in self.departments:
                    raise SeedError(f"sandbox seed: {where}: department {d} unknown")
            member = Member(
                userid=str(_require(entry, "userid", where)),
                name=str(_require(entry, "name", where)),
                department=depts or [1],
                status=_int(entry.get("status", ACTIVE), where),
                mobile=str(entry.get("mobile", "")),
                email=str(entry.get("email", "")),
                biz_mail=str(entry.get("biz_mail", "")),
                position=str(entry.get("position", "")),
                gender=str(entry.get("gender", "0")),
                alias=str(entry.get("alias", "")),
                telephone=str(entry.get("telephone", "")),
                address=str(entry.get("address", "")),
                avatar=str(entry.get("avatar", "")),
                order=[_int(o, where) for o in entry.get("order", [])],
                is_leader_in_dept=[
                    _int(o, where) for o in entry.get("is_leader_in_dept", [])
                ],
                direct_leader=[str(u) for u in entry.get("direct_leader", [])],
                main_department=_int(entry.get("main_department", 0), where),
                open_userid=str(entry.get("open_userid", "")),
            )
            if member.status not in (ACTIVE, DISABLED, NOT_ACTIVATED, LEFT):
                raise SeedError(
                    f"sandbox seed: {where}: status {member.status} is not 1, 2, 4 or 5"
                )
            if member.key in self.members:
                raise SeedError(
                    f"sandbox seed: {where}: userid {member.userid!r} repeats "
                    "(userids are compared without regard to case)"
                )
            self.members[member.key] = member

        self.by_mobile: dict[str, str] = {
            m.mobile: m.key for m in self.members.values() if m.mobile
        }
        self.dept_members: dict[int, list[str]] = {d: [] for d in self.departments}
        for member in self.members.values():
            for d in member.department:
                self.dept_members[d].append(member.key)

        self.tags: dict[int, Tag] = {}
        for where, entry in _entries(seed, "tags"):
            tag = Tag(
                tagid=_int(_require(entry, "tagid", where), where),
                tagname=str(_require(entry, "tagname", where)),
                userlist=[str(u).lower() for u in _list(entry.get("userlist"), where)],
                partylist=[
                    _int(p, where) for p in _list(entry.get("partylist"), where)
                ],
            )
            self.tags[tag.tagid] = tag

        self.external: dict[str, dict[str, Any]] = {}
        for where, entry in _entries(seed, "external"):
            openid = str(_require(entry, "openid", where))
            self.external[openid] = {
                "openid": openid,
                "name": str(entry.get("name", "")),
            }

        self.apps: dict[int, App] = {}
        for where, entry in _entries(seed, "apps"):
            app = App(
                agentid=_int(_require(entry, "agentid", where), where),
                name=str(_require(entry, "name", where)),
                secret=str(_require(entry, "secret", where)),
                trusted_domain=str(entry.get("trusted_domain", "")),
                home_url=str(entry.get("home_url", "")),
                description=str(entry.get("description", "")),
                square_logo_url=str(entry.get("square_logo_url", "")),
                allow_users=[str(u) for u in _list(entry.get("allow_users"), where)],
                allow_partys=[
                    _int(p, where) for p in _list(entry.get("allow_partys"), where)
                ],
                allow_tags=[
                    _int(t, where) for t in _list(entry.get("allow_tags"), where)
                ],
                created_after_2022=bool(entry.get("created_after_2022", False)),
                daily_quota=_int(entry.get("daily_quota", 200000), where),
            )
            if app.agentid in self.apps:
                raise SeedError(
                    f"sandbox seed: {where}: duplicate agentid {app.agentid}"
                )
            if app.secret == self.contacts_secret or any(
                a.secret == app.secret for a in self.apps.values()
            ):
                raise SeedError(f"sandbox seed: {where}: secret is already used")
            self.compute_visibility(app)
            self.apps[app.agentid] = app

        default_seats = max(100, math.ceil(len(self.members) / 100) * 100)
        self.seats: int = _int(seed.get("seats", default_seats), "seats")

    # -- tree helpers ---------------------------------------------------------

    def subtree(self, dept_id: int) -> list[int]:
        """``dept_id`` and every department below it, parents first."""
        out: list[int] = []
        stack = [dept_id]
        while stack:
            current = stack.pop()
            out.append(current)
            stack.extend(reversed(self.children.get(current, [])))
        return out

    def members_of(self, dept_ids: Iterable[int]) -> set[str]:
        """Lower-cased userids of members in any of ``dept_ids`` (not below)."""
        found: set[str] = set()
        for d in dept_ids:
            found.update(self.dept_members.get(d, ()))
        return found

    def tag_members(self, tag: Tag) -> set[str]:
        """Lower-cased userids a tag names, directly or by its departments."""
        found = {u for u in tag.userlist if u in self.members}
        for p in tag.partylist:
            if p in self.departments:
                found |= self.members_of(self.subtree(p))
        return found

    def compute_visibility(self, app: App) -> None:
        """Fill ``app.visible_users``/``visible_depts``/``visible_tags``."""
        depts: set[int] = set()
        for p in app.allow_partys:
            if p in self.departments:
                depts.update(self.subtree(p))
        tags = {t for t in app.allow_tags if t in self.tags}
        if 1 in depts:
            # An app that sees the whole corp may address every tag.
            tags = set(self.tags)
        users = {u.lower() for u in app.allow_users if u.lower() in self.members}
        users |= self.members_of(depts)
        for t in app.allow_tags:
            if t in self.tags:
                tag = self.tags[t]
                users |= self.tag_members(tag)
                for p in tag.partylist:
                    if p in self.departments:
                        depts.update(self.subtree(p))
        app.visible_users = {u for u in users if self.members[u].status != LEFT}
        app.visible_depts = depts
        app.visible_tags = tags

    def member(self, userid: str) -> Member | None:
        """The member with this userid (any case), or None."""
        return self.members.get(str(userid).lower())
