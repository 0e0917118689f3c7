"""Who a push goes to: typed recipients resolved to WeCom ids.

A push names host users, host groups, WeCom departments, WeCom tags, or
everyone the app is visible to (``@all``, only when chosen).  Host users (and
the members of groups, sub-groups included) become their bound WeChat accounts
(微信账号); the union is deduplicated in the order given.  Users without an
account, or disabled, are *skipped* with the reason.  Every id stays a string,
so ``007`` is sent as ``007``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ext_host.api import NotFound, ValidationError

from .accounts import FIELD_KEY

#: SQLite allows a few thousand parameters per statement; stay well below.
_BATCH = 500

NOT_BOUND = "not bound to a WeChat account (微信账号)"
DISABLED = "user disabled"


@dataclass
class Recipients:
    #: WeCom userid (lower-cased) -> the host user it came from.
    users: dict[str, str] = field(default_factory=dict)
    departments: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    everyone: bool = False
    #: (host user name, reason) for users who cannot receive the push.
    skipped: list[tuple[str, str]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.users or self.departments or self.tags or self.everyone)

    def describe(self) -> str:
        if self.everyone:
            return "everyone the app is visible to (@all)"
        parts = [f"{len(self.users)} member(s)"]
        if self.departments:
            parts.append(f"{len(self.departments)} department(s)")
        if self.tags:
            parts.append(f"{len(self.tags)} tag(s)")
        return ", ".join(parts)


def _clean(values: Iterable[Any] | None) -> list[str]:
    out: list[str] = []
    for value in values or ():
        for part in str(value).split(","):
            text = part.strip()
            if text and text not in out:
                out.append(text)
    return out


def _ids(values: Iterable[Any] | None, what: str) -> list[str]:
    ids = _clean(values)
    for value in ids:
        if not value.isdigit():
            raise ValidationError(
                f"{what} id {value!r} must be a number (WeCom's {what} id)",
                {what: "not a number"},
            )
    return ids


def _users_by_name(host: Any, names: list[str]) -> dict[str, tuple[str, bool, str]]:
    """Lower-cased name -> (name, enabled, account) for the users that exist."""
    found: dict[str, tuple[str, bool, str]] = {}
    for start in range(0, len(names), _BATCH):
        batch = names[start : start + _BATCH]
        marks = ",".join("?" * len(batch))
        rows = host.store.query(
            "SELECT u.name, u.enabled, COALESCE(f.norm, '') AS account FROM users u "
            "LEFT JOIN user_fields f ON f.user_id = u.id AND f.key = ? "
            f"WHERE u.name IN ({marks})",
            (FIELD_KEY, *batch),
        )
        for row in rows:
            found[row["name"].lower()] = (
                row["name"],
                bool(row["enabled"]),
                row["account"],
            )
    return found


def _group_members(host: Any, group: str) -> list[tuple[str, bool, str]]:
    row = host.store.query_one("SELECT id FROM groups WHERE name = ?", (group,))
    if row is None:
        raise NotFound(f"no group {group!r}; `ext-host users list` shows users' groups")
    rows = host.store.query(
        "WITH RECURSIVE tree(id) AS (SELECT ? UNION "
        "SELECT g.id FROM groups g JOIN tree t ON g.parent_id = t.id) "
        "SELECT DISTINCT u.name, u.enabled, COALESCE(f.norm, '') AS account "
        "FROM tree JOIN user_groups ug ON ug.group_id = tree.id "
        "JOIN users u ON u.id = ug.user_id "
        "LEFT JOIN user_fields f ON f.user_id = u.id AND f.key = ? ORDER BY u.name",
        (row["id"], FIELD_KEY),
    )
    return [(r["name"], bool(r["enabled"]), r["account"]) for r in rows]


def resolve(
    host: Any,
    users: Iterable[str] | None = None,
    groups: Iterable[str] | None = None,
    departments: Iterable[Any] | None = None,
    tags: Iterable[Any] | None = None,
    everyone: bool = False,
) -> Recipients:
    """The push's recipients; refuses unknown names and an empty choice."""
    names, group_names = _clean(users), _clean(groups)
    result = Recipients(
        departments=_ids(departments, "department"), tags=_ids(tags, "tag")
    )
    if everyone:
        if names or group_names or result.departments or result.tags:
            raise ValidationError(
                "everyone (@all) already includes every member the app sees; "
                "choose either everyone or named recipients"
            )
        result.everyone = True
        return result

    known = _users_by_name(host, names)
    missing = [n for n in names if n.lower() not in known]
    if missing:
        raise NotFound(
            "no user " + ", ".join(repr(n) for n in missing) + "; "
            "`ext-host users list` shows the users"
        )
    people = [known[n.lower()] for n in names]
    for group in group_names:
        people.extend(_group_members(host, group))

    seen: set[str] = set()
    for name, enabled, account in people:
        if name.lower() in seen:
            continue
        seen.add(name.lower())
        if not enabled:
            result.skipped.append((name, DISABLED))
        elif not account:
            result.skipped.append((name, NOT_BOUND))
        else:
            result.users.setdefault(account, name)

    if result.empty:
        if result.skipped:
            reasons = "; ".join(f"{name}: {why}" for name, why in result.skipped)
            raise ValidationError(
                f"no recipient can receive the push: {reasons}; enable the user, "
                "or bind it with `ext-host users set NAME --field "
                "wecom.account=ACCOUNT`"
            )
        raise ValidationError(
            "choose who receives the push: users, groups, departments, tags, "
            "or everyone (@all)",
            {"users": "no recipient"},
        )
    return result
