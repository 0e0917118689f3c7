"""Member sync: WeCom departments become host groups, members become host users.

The sync reads WeCom with the contacts secret (通讯管理Secret), works out a
:class:`Plan` (groups first, then users) and, unless it is a dry run, applies
the plan in one store transaction, so a failure changes nothing.

Host users are matched to members by WeChat account (ignoring case), else by
phone through WeCom's mobile lookup (``user/getuserid``).  WeCom blocks that
lookup for the day once its misses pass a fifth of the corp's seats, so the
sync counts its misses per China day in the store, remembers each missed
number until the day ends, and stops one miss short of the limit.

Where WeCom refuses the contacts secret member details (its 2022-08-15 rule
for contacts-sync IPs added later, errcode 48009), the ids still come from the
contacts secret and the details from the first app secret; apps created after
2022-06-20 get no phone numbers, which the plan notes.
"""

from __future__ import annotations

import hashlib
import logging
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import click

from ext_host.api import HostError, NotFound

from . import apps, settings
from .accounts import FIELD_KEY
from .client import WeComClient, WeComError

log = logging.getLogger(__name__)

SOURCE = "wecom"
MISSES_NS = "wecom.getuserid.misses"
MISSED_NS = "wecom.getuserid.missed"
#: WeCom blocks ``user/getuserid`` for the day past this share of the seats.
MISS_SHARE = 0.2
LEFT, DISABLED = 5, 2
CHINA_OFFSET = 8 * 3600
STALE_DETAILS = 48009

_MAINLAND = re.compile(r"^1[0-9]{10}$")

MIGRATIONS = [
    """
    CREATE TABLE wecom_sync_disabled (
        user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
        disabled_at REAL NOT NULL
    )
    """
]


def normalize_phone(text: str) -> str | None:
    """A mainland China mobile number as 11 digits, or None if it is not one.

    Spaces, dashes, dots, brackets and a ``+86`` / ``86`` / ``0086`` prefix
    are dropped.
    """
    digits = re.sub(r"[\s\-().]", "", text or "")
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            digits = digits[len(prefix) :]
            break
    return digits if _MAINLAND.match(digits) else None


# -- progress ------------------------------------------------------------------


class Progress(Protocol):
    def phase(self, label: str, total: int) -> None: ...

    def step(self) -> None: ...


class NoProgress:
    def phase(self, label: str, total: int) -> None:
        pass

    def step(self) -> None:
        pass


class ClickProgress:
    """One ``click.progressbar`` per phase, on stderr so stdout stays the plan."""

    def __init__(self) -> None:
        self._bar: Any = None

    def phase(self, label: str, total: int) -> None:
        self.close()
        bar = click.progressbar(length=max(total, 1), label=label, file=sys.stderr)
        self._bar = bar.__enter__()

    def step(self) -> None:
        if self._bar is not None:
            self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


@contextmanager
def click_progress() -> Iterator[ClickProgress]:
    bar = ClickProgress()
    try:
        yield bar
    finally:
        bar.close()


# -- what WeCom holds ------------------------------------------------------------


@dataclass(frozen=True)
class Department:
    id: int
    name: str
    parentid: int
    order: int


@dataclass(frozen=True)
class Member:
    userid: str
    name: str
    departments: tuple[int, ...]
    status: int
    mobile: str | None  # None: WeCom did not give this reader phone numbers

    @property
    def key(self) -> str:
        return self.userid.lower()


@dataclass
class Directory:
    departments: dict[int, Department]
    members: dict[str, Member]  # by lower-cased userid
    #: Members listed by ``user/list_id`` whose details could not be read.
    unreadable: list[str]
    phones_available: bool
    notes: list[str] = field(default_factory=list)


def _contacts_client(host: Any, conf: settings.Settings) -> WeComClient:
    if not conf.corpid:
        raise NotFound(
            "微信设置: CorpID is not set; `ext-host options set wecom corpid=...`"
        )
    if not conf.contacts_secret:
        raise NotFound(
            "微信设置: 通讯管理Secret (contacts secret) is not set; copy it from "
            "WeCom's 管理工具 > 通讯录同步 and `ext-host options set wecom "
            "contacts_secret=-`"
        )
    return apps.client_for(host, conf.contacts_secret, conf)


def _contacts_error(exc: WeComError) -> HostError:
    if exc.errcode == 48002:
        return HostError(
            "通讯管理Secret: WeCom refused user/list_id (errcode 48002): this is an "
            "app's secret, not the contacts secret; copy the secret of 管理工具 > "
            "通讯录同步 (contacts sync) into 通讯管理Secret"
        )
    return HostError(f"通讯管理Secret: {exc}")


def _list_ids(client: WeComClient) -> dict[str, tuple[str, list[int]]]:
    """Every member's userid and departments, from ``user/list_id``."""
    found: dict[str, tuple[str, list[int]]] = {}
    cursor = ""
    for _ in range(10000):  # WeCom pages by 10000: enough for any corp
        try:
            data = client.post("user/list_id", {"cursor": cursor, "limit": 10000})
        except WeComError as exc:
            raise _contacts_error(exc) from None
        for row in data.get("dept_user") or []:
            userid = str(row["userid"])
            entry = found.setdefault(userid.lower(), (userid, []))
            entry[1].append(int(row["department"]))
        cursor = str(data.get("next_cursor") or "")
        if not cursor:
            return found
    raise HostError("WeCom user/list_id kept paging; try again later")


def _app_reader(host: Any) -> apps.App:
    found, problems = apps.resolve(host)
    if not found:
        reasons = "; ".join(p.error for p in problems) or "no app secret is set"
        raise HostError(
            "WeCom refuses the contacts secret member details from this server's "
            "IP (errcode 48009, its rule since 2022-08-15) and no app secret can "
            f"read them instead ({reasons}); add an app secret whose visible range "
            "(可见范围) covers the members"
        )
    return found[0]


def read_directory(host: Any, conf: settings.Settings, progress: Progress) -> Directory:
    contacts = _contacts_client(host, conf)
    ids = _list_ids(contacts)
    notes: list[str] = []

    reader: WeComClient = contacts
    reader_app: apps.App | None = None
    try:
        raw_depts = contacts.get("department/list")["department"]
    except WeComError as exc:
        if exc.errcode != STALE_DETAILS:
            raise _contacts_error(exc) from None
        reader_app = _app_reader(host)
        reader = reader_app.client
        notes.append(
            "WeCom lets the contacts secret list only ids from this server's IP "
            f"(errcode 48009); member details were read with app {reader_app.name}, "
            "within its visible range (可见范围)"
        )
        simple = contacts.get("department/simplelist")["department_id"]
        named = {int(d["id"]): d for d in reader.get("department/list")["department"]}
        raw_depts = [
            {**d, "name": named.get(int(d["id"]), {}).get("name", f"#{d['id']}")}
            for d in simple
        ]
        unnamed = sorted(int(d["id"]) for d in simple if int(d["id"]) not in named)
        if unnamed:
            notes.append(
                f"departments {', '.join(map(str, unnamed))} are outside app "
                f"{reader_app.name}'s visible range and are named by their id"
            )
    departments = {
        int(d["id"]): Department(
            int(d["id"]), str(d["name"]), int(d.get("parentid") or 0), int(d["order"])
        )
        for d in raw_depts
    }

    members: dict[str, Member] = {}
    phones = True
    progress.phase("reading WeCom departments", len(departments))
    for dept_id in departments:
        progress.step()
        try:
            listed = reader.get("user/list", department_id=dept_id)["userlist"]
        except WeComError as exc:
            if exc.errcode in (60011, 60003) and reader_app is not None:
                continue
            raise _contacts_error(exc) from None
        for m in listed:
            key = str(m["userid"]).lower()
            if key in members or key not in ids:
                continue
            if "mobile" not in m:
                phones = False
            members[key] = Member(
                userid=ids[key][0],
                name=str(m.get("name") or m["userid"]),
                departments=tuple(ids[key][1]),
                status=int(m.get("status") or 1),
                mobile=str(m["mobile"]) if "mobile" in m else None,
            )
    unreadable = sorted(ids[k][0] for k in ids if k not in members)
    if not phones:
        name = reader_app.name if reader_app else "the contacts secret"
        notes.append(
            f"phones unavailable: WeCom gives {name} no phone numbers (apps created "
            "after 2022-06-20 get none); host users' phones were left as they are "
            "and binding by phone used WeCom's mobile lookup"
        )
    return Directory(departments, members, unreadable, phones, notes)


# -- the plan --------------------------------------------------------------------


@dataclass
class Plan:
    group_create: list[dict[str, Any]] = field(default_factory=list)
    group_update: list[dict[str, Any]] = field(default_factory=list)
    create: list[dict[str, Any]] = field(default_factory=list)
    update: list[dict[str, Any]] = field(default_factory=list)
    bind: list[dict[str, Any]] = field(default_factory=list)
    disable: list[dict[str, Any]] = field(default_factory=list)
    ambiguous: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    applied: bool = False

    @property
    def changes(self) -> int:
        return sum(
            len(x)
            for x in (
                self.group_create,
                self.group_update,
                self.create,
                self.update,
                self.bind,
                self.disable,
            )
        )

    def counts(self) -> dict[str, int]:
        return {
            "group_create": len(self.group_create),
            "group_update": len(self.group_update),
            "create": len(self.create),
            "update": len(self.update),
            "bind": len(self.bind),
            "disable": len(self.disable),
            "ambiguous": len(self.ambiguous),
            "skipped": len(self.skipped),
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "applied": self.applied,
            "counts": self.counts(),
            "groups": {"create": self.group_create, "update": self.group_update},
            "users": {
                "create": self.create,
                "update": self.update,
                "bind": self.bind,
                "disable": self.disable,
                "ambiguous": self.ambiguous,
                "skipped": self.skipped,
            },
            "notes": self.notes,
        }

    def lines(self) -> list[str]:
        c = self.counts()
        head = "member sync: applied" if self.applied else "member sync: dry run, "
        if not self.applied:
            head += "nothing changed"
        out = [
            head,
            f"groups: {c['group_create']} create, {c['group_update']} update",
            f"users: {c['create']} create, {c['update']} update, {c['bind']} bind, "
            f"{c['disable']} disable, {c['ambiguous']} ambiguous, "
            f"{c['skipped']} skipped",
        ]
        for g in self.group_create:
            out.append(f"create group {g['name']} (department {g['department']})")
        for g in self.group_update:
            out.append(
                f"update group {g['name']} (department {g['department']}): "
                f"was {g['was']}"
            )
        for u in self.create:
            groups = ", ".join(u["groups"]) or "no group"
            state = "" if u["enabled"] else ", disabled"
            out.append(f"create user {u['user']} ({u['alias']}) in {groups}{state}")
        for u in self.update:
            out.append(f"update user {u['user']}: {_describe(u['changes'])}")
        for u in self.bind:
            text = f"bind user {u['user']} -> member {u['member']} (by {u['by']})"
            if u["changes"]:
                text += f": {_describe(u['changes'])}"
            out.append(text)
        for u in self.disable:
            out.append(f"disable user {u['user']}: {u['reason']}")
        for u in self.ambiguous:
            out.append(f"ambiguous user {u['user']}: {u['reason']}")
        for u in self.skipped:
            out.append(f"skipped {u['what']} {u['name']}: {u['reason']}")
        out += [f"note: {n}" for n in self.notes]
        return out

    def summary(self) -> str:
        return "\n".join(self.lines())


def _describe(changes: dict[str, Any]) -> str:
    parts = []
    for key in ("alias", "phone", "enabled"):
        if key in changes:
            old, new = changes[key]
            parts.append(f"{key} {old!r} -> {new!r}")
    if "groups" in changes:
        added, removed, _ = changes["groups"]
        parts.append(
            "groups " + " ".join([f"+{g}" for g in added] + [f"-{g}" for g in removed])
        )
    return "; ".join(parts)


def _group_names(departments: dict[int, Department]) -> dict[int, str]:
    """Each department's group name: its path of names from the root."""
    names: dict[int, str] = {}

    def path(dept_id: int, depth: int = 0) -> str:
        if dept_id in names:
            return names[dept_id]
        dept = departments[dept_id]
        own = dept.name.replace("/", "／")
        parent = dept.parentid
        if parent in departments and parent != dept_id and depth < 32:
            own = f"{path(parent, depth + 1)}/{own}"
        names[dept_id] = own
        return own

    for dept_id in departments:
        path(dept_id)
    return names


def _tree_order(departments: dict[int, Department]) -> list[int]:
    """Department ids, parents before children, siblings by WeCom's order."""
    children: dict[int, list[Department]] = {}
    roots = []
    for d in departments.values():
        if d.parentid in departments and d.parentid != d.id:
            children.setdefault(d.parentid, []).append(d)
        else:
            roots.append(d)
    out: list[int] = []
    stack = sorted(roots, key=lambda d: (d.order, d.id), reverse=True)
    while stack:
        d = stack.pop()
        out.append(d.id)
        stack += sorted(children.get(d.id, []), key=lambda c: (c.order, c.id))[::-1]
    return out


@dataclass
class _Budget:
    """What is left today of the mobile lookup's error budget."""

    host: Any
    corpid: str
    seats: int
    used: int
    limit: int
    stopped: str = ""
    not_looked_up: int = 0

    @classmethod
    def load(cls, host: Any, corpid: str, seats: int) -> _Budget:
        used = int(host.store.kv_get(MISSES_NS, f"{corpid}:{_china_day()}") or 0)
        return cls(host, corpid, seats, used, max(int(seats * MISS_SHARE) - 1, 0))

    def spend(self) -> None:
        self.used += 1
        self.host.store.kv_set(
            MISSES_NS, f"{self.corpid}:{_china_day()}", self.used, _china_midnight()
        )


def _china_day(now: float | None = None) -> str:
    now = time.time() if now is None else now
    return time.strftime("%Y-%m-%d", time.gmtime(now + CHINA_OFFSET))


def _china_midnight(now: float | None = None) -> float:
    now = time.time() if now is None else now
    return ((now + CHINA_OFFSET) // 86400 + 1) * 86400 - CHINA_OFFSET


def _phone_key(corpid: str, phone: str) -> str:
    return f"{corpid}:{hashlib.sha256(phone.encode()).hexdigest()[:24]}"


def _lookup(client: WeComClient, budget: _Budget, phone: str) -> tuple[str | None, str]:
    """``(userid, "")`` for a hit, ``(None, reason)`` otherwise."""
    store = budget.host.store
    missed = "no WeCom member has this phone"
    if store.kv_get(MISSED_NS, _phone_key(budget.corpid, phone)):
        return None, missed
    if budget.stopped:
        budget.not_looked_up += 1
        return None, budget.stopped
    if budget.used >= budget.limit:
        budget.stopped = (
            "not looked up: the mobile lookup stopped to stay below WeCom's daily "
            "limit; run the sync again tomorrow"
        )
        budget.not_looked_up += 1
        return None, budget.stopped
    try:
        data = client.post("user/getuserid", {"mobile": phone})
        return str(data["userid"]), ""
    except WeComError as exc:
        if exc.errcode == 46004:
            budget.spend()
            store.kv_set(
                MISSED_NS, _phone_key(budget.corpid, phone), 1, _china_midnight()
            )
            return None, missed
        if exc.errcode == 45009:
            budget.stopped = (
                "not looked up: WeCom has blocked the mobile lookup for today "
                "(errcode 45009)"
            )
            budget.not_looked_up += 1
            return None, budget.stopped
        raise _contacts_error(exc) from None


def _seats(host: Any, seats: int | None, members: int) -> tuple[int, str]:
    if seats:
        return seats, ""
    stored = host.options.get(settings.PANEL).get("seats")
    if stored:
        return int(stored), ""
    return max(members, 1), (
        f"授权账号数 (seats) is not set; the mobile lookup budget assumes {members} "
        "seats (the member count); set it in 微信设置 or pass --seats for the "
        "corp's full budget"
    )


def make_plan(
    host: Any,
    seats: int | None = None,
    progress: Progress | None = None,
) -> Plan:
    """Read WeCom and work out what the sync would change; changes nothing in
    the host (mobile lookups it made are remembered for the day)."""
    progress = progress or NoProgress()
    host.store.ensure_schema("wecom_sync", MIGRATIONS)
    conf = settings.load(host)
    directory = read_directory(host, conf, progress)
    plan = Plan(notes=list(directory.notes))

    # Groups, parents first.
    names = _group_names(directory.departments)
    existing = {g.external_id: g for g in host.users.groups(SOURCE)}
    ext_of = {g.id: g.external_id for g in existing.values()}
    taken = {g.name: g for g in host.users.groups()}
    final: dict[int, str] = {}
    for dept_id in _tree_order(directory.departments):
        name = names[dept_id]
        owner = taken.get(name)
        if owner is not None and owner.source != SOURCE:
            name = f"{name} [{dept_id}]"
        final[dept_id] = name
        parentid = directory.departments[dept_id].parentid
        parent = final.get(parentid)
        group = existing.get(str(dept_id))
        if group is None:
            plan.group_create.append(
                {"department": dept_id, "name": name, "parent": parent}
            )
            continue
        was_parent = ext_of.get(group.parent_id or 0)
        now_parent = str(parentid) if parent is not None else None
        if group.name != name or was_parent != now_parent:
            plan.group_update.append(
                {
                    "department": dept_id,
                    "name": name,
                    "parent": parent,
                    "was": group.name,
                }
            )
    dept_of_group = {g.name: int(g.external_id) for g in existing.values()}
    old_name = {int(g.external_id): g.name for g in existing.values()}

    # Users: first those already bound by WeChat account.
    users = host.users.all()
    by_account = {
        u.fields[FIELD_KEY].lower(): u for u in users if u.fields.get(FIELD_KEY)
    }
    by_name = {u.name.lower(): u for u in users}
    sync_disabled = {
        r["user_id"]
        for r in host.store.query("SELECT user_id FROM wecom_sync_disabled")
    }
    claimed: dict[str, str] = {}  # member key -> host user name

    def desired(user: Any, member: Member) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        if member.name != user.alias:
            changes["alias"] = [user.alias, member.name]
        phone = normalize_phone(member.mobile or "")
        if phone and normalize_phone(user.phone) != phone:
            changes["phone"] = [user.phone, phone]
        want = {d for d in member.departments if d in final}
        have = {dept_of_group[g] for g in user.groups if g in dept_of_group}
        if want != have:
            changes["groups"] = [
                sorted(final[d] for d in want - have),
                sorted(final.get(d, old_name[d]) for d in have - want),
                sorted(want),
            ]
        if not user.enabled and user.id in sync_disabled:
            changes["enabled"] = [False, True]
        return changes

    def disable(user: Any, reason: str) -> None:
        if user.is_admin:
            plan.skipped.append(
                {
                    "what": "user",
                    "name": user.name,
                    "reason": f"{reason}, but is an administrator; disable by hand",
                }
            )
        elif user.enabled:
            plan.disable.append({"user": user.name, "reason": reason})

    for account, user in sorted(by_account.items(), key=lambda x: x[1].name):
        member = directory.members.get(account)
        if member is None:
            if account in {u.lower() for u in directory.unreadable}:
                continue
            disable(user, "no longer in WeCom's contacts (left the corp)")
            continue
        claimed[member.key] = user.name
        if member.status == LEFT:
            disable(user, "left the corp in WeCom")
        elif member.status == DISABLED:
            disable(user, "disabled in WeCom")
        else:
            changes = desired(user, member)
            if changes:
                plan.update.append(
                    {"user": user.name, "member": member.userid, "changes": changes}
                )

    # Then unbound users, by phone.
    phones: dict[str, list[str]] = {}
    for u in users:
        norm = normalize_phone(u.phone)
        if norm:
            phones.setdefault(norm, []).append(u.name)
    unbound = [u for u in users if not u.fields.get(FIELD_KEY) and u.phone]
    members_total = len(directory.members) + len(directory.unreadable)
    seat_count, seat_note = _seats(host, seats, members_total)
    budget = _Budget.load(host, conf.corpid, seat_count)
    contacts = _contacts_client(host, conf)
    progress.phase("looking up phones in WeCom", len(unbound))
    for user in sorted(unbound, key=lambda u: u.name):
        progress.step()
        phone = normalize_phone(user.phone)
        if phone is None:
            plan.skipped.append(
                {
                    "what": "user",
                    "name": user.name,
                    "reason": f"phone {user.phone!r} is not a mainland China mobile "
                    "number (11 digits starting with 1, optionally +86); fix it or "
                    "set the WeChat account by hand",
                }
            )
            continue
        others = [n for n in phones[phone] if n != user.name]
        if others:
            plan.ambiguous.append(
                {
                    "user": user.name,
                    "phone": phone,
                    "others": others,
                    "reason": f"phone {phone} is also the phone of "
                    f"{', '.join(others)}; set the WeChat account by hand",
                }
            )
            continue
        userid, reason = _lookup(contacts, budget, phone)
        member = directory.members.get(userid.lower()) if userid else None
        if userid is None or member is None:
            plan.skipped.append(
                {
                    "what": "user",
                    "name": user.name,
                    "reason": reason or f"member {userid} has no readable details",
                }
            )
            continue
        if member.key in claimed:
            plan.skipped.append(
                {
                    "what": "user",
                    "name": user.name,
                    "reason": f"phone {phone} belongs to member {member.userid}, "
                    f"already bound to user {claimed[member.key]}",
                }
            )
            continue
        claimed[member.key] = user.name
        changes = desired(user, member)
        if member.status == DISABLED and user.enabled:
            changes["enabled"] = [True, False]
        plan.bind.append(
            {
                "user": user.name,
                "member": member.userid,
                "by": "phone",
                "changes": changes,
            }
        )
    if budget.not_looked_up:
        plan.notes.append(
            f"the mobile lookup stopped after {budget.used} misses today (WeCom "
            f"blocks it for the day past {int(seat_count * MISS_SHARE)}, a fifth of "
            f"{seat_count} seats); {budget.not_looked_up} user(s) were not looked up"
        )
    if seat_note and unbound:
        plan.notes.append(seat_note)

    # Members nobody is bound to become new users.
    for key in sorted(directory.members):
        member = directory.members[key]
        if key in claimed:
            continue
        if member.status == DISABLED:
            plan.skipped.append(
                {"what": "member", "name": member.userid, "reason": "disabled in WeCom"}
            )
            continue
        if key in by_name:
            plan.skipped.append(
                {
                    "what": "member",
                    "name": member.userid,
                    "reason": f"host user {by_name[key].name} exists and is not bound "
                    "to a WeChat account; bind it with `ext-host users set "
                    f"{by_name[key].name} --field wecom.account={member.userid}`",
                }
            )
            continue
        plan.create.append(
            {
                "user": member.userid,
                "member": member.userid,
                "alias": member.name,
                "phone": normalize_phone(member.mobile or "") or "",
                "groups": sorted(final[d] for d in member.departments if d in final),
                "enabled": True,
            }
        )
    for userid in directory.unreadable:
        if userid.lower() not in claimed:
            plan.skipped.append(
                {
                    "what": "member",
                    "name": userid,
                    "reason": "its details cannot be read; add it to the reading "
                    "app's visible range (可见范围)",
                }
            )
    return plan


def apply(host: Any, plan: Plan) -> Plan:
    """Apply ``plan`` in one transaction: all of it or, on error, none."""
    users = host.users
    with host.store.transaction() as conn:
        existing = {g.external_id: g for g in users.groups(SOURCE)}
        ids = {g.name: g.id for g in users.groups()}
        # Renamed groups step aside first, so swapped names never collide.
        for g in plan.group_update:
            group = existing[str(g["department"])]
            users.update_group(group.id, f"\x00{group.id}", group.parent_id)
        for g in plan.group_create:
            parent = ids.get(g["parent"]) if g["parent"] else None
            ids[g["name"]] = users.create_group(
                g["name"], parent, SOURCE, str(g["department"])
            )
        for g in plan.group_update:
            group = existing[str(g["department"])]
            parent = ids.get(g["parent"]) if g["parent"] else None
            users.update_group(group.id, g["name"], parent)
            ids[g["name"]] = group.id

        for u in plan.create:
            users.add(
                u["user"],
                alias=u["alias"],
                phone=u["phone"],
                enabled=u["enabled"],
                fields={FIELD_KEY: u["member"]},
                groups=u["groups"],
            )
        bound = {id(u) for u in plan.bind}
        for u in plan.update + plan.bind:
            changes = u["changes"]
            user = users.update(
                u["user"],
                alias=changes["alias"][1] if "alias" in changes else None,
                phone=changes["phone"][1] if "phone" in changes else None,
                enabled=changes["enabled"][1] if "enabled" in changes else None,
                fields={FIELD_KEY: u["member"]} if id(u) in bound else None,
            )
            if "groups" in changes:
                depts = changes["groups"][2]
                group_ids = [existing[str(d)].id for d in depts if str(d) in existing]
                group_ids += [
                    ids[g["name"]]
                    for g in plan.group_create
                    if g["department"] in depts
                ]
                users.set_source_groups(u["user"], SOURCE, group_ids)
            if changes.get("enabled") == [False, True]:
                conn.execute(
                    "DELETE FROM wecom_sync_disabled WHERE user_id = ?", (user.id,)
                )
            elif changes.get("enabled") == [True, False]:
                _mark_disabled(conn, user.id)
        for u in plan.disable:
            user = users.update(u["user"], enabled=False)
            _mark_disabled(conn, user.id)
    plan.applied = True
    log.info("member sync applied: %s", plan.counts())
    return plan


def _mark_disabled(conn: Any, user_id: int) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO wecom_sync_disabled (user_id, disabled_at) "
        "VALUES (?, ?)",
        (user_id, time.time()),
    )


def run(
    host: Any,
    apply_changes: bool,
    seats: int | None = None,
    progress: Progress | None = None,
) -> Plan:
    """Plan the sync and, with ``apply_changes``, apply it."""
    plan = make_plan(host, seats, progress)
    return apply(host, plan) if apply_changes else plan
