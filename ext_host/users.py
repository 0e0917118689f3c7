"""Host users, their groups, and the fields extensions add to them."""

from __future__ import annotations

import re
import sqlite3
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .api import UserField
from .errors import NotFound, ValidationError

if TYPE_CHECKING:
    from .host import Host

_NAME = re.compile(r"^[^\s/\\<>\"']{1,64}$")
_PHONE = re.compile(r"^\+?[0-9][0-9 \-]{2,30}$")


def _hash_password(password: str) -> str:
    # werkzeug costs ~80 ms to import: only commands that set a password pay it.
    from werkzeug.security import generate_password_hash

    return generate_password_hash(password)


@dataclass
class User:
    id: int
    name: str
    alias: str
    enabled: bool
    phone: str
    is_admin: bool
    fields: dict[str, str] = field(default_factory=dict)
    groups: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "alias": self.alias,
            "enabled": self.enabled,
            "phone": self.phone,
            "admin": self.is_admin,
            "fields": dict(self.fields),
            "groups": list(self.groups),
        }


class UserService:
    def __init__(self, host: Host):
        self.host = host

    def fields(self) -> dict[str, tuple[str, UserField]]:
        """The user fields extensions contribute, by key: (extension, field)."""
        return {
            f.key: (ext, f)
            for ext, f in self.host.unique("user_fields", lambda f: f.key, "user field")
        }

    # -- reading -------------------------------------------------------------

    def _build(self, row: sqlite3.Row) -> User:
        values = {
            r["key"]: r["value"]
            for r in self.host.store.query(
                "SELECT key, value FROM user_fields WHERE user_id = ?", (row["id"],)
            )
        }
        groups = [
            r["name"]
            for r in self.host.store.query(
                "SELECT g.name FROM groups g JOIN user_groups ug ON ug.group_id = g.id "
                "WHERE ug.user_id = ? ORDER BY g.name",
                (row["id"],),
            )
        ]
        return User(
            id=row["id"],
            name=row["name"],
            alias=row["alias"],
            enabled=bool(row["enabled"]),
            phone=row["phone"],
            is_admin=bool(row["is_admin"]),
            fields=values,
            groups=groups,
        )

    def get(self, name: str) -> User:
        row = self.host.store.query_one("SELECT * FROM users WHERE name = ?", (name,))
        if row is None:
            raise NotFound(f"no user {name!r}; `ext-host users list` shows the users")
        return self._build(row)

    def find(self, name: str) -> User | None:
        try:
            return self.get(name)
        except NotFound:
            return None

    def all(self) -> list[User]:
        rows = self.host.store.query("SELECT * FROM users ORDER BY name")
        return [self._build(r) for r in rows]

    def find_by_field(self, key: str, value: str) -> list[User]:
        """Users whose field ``key`` equals ``value`` after normalising."""
        declared = self.fields().get(key)
        norm = declared[1].normalize(value) if declared else value
        rows = self.host.store.query(
            "SELECT u.* FROM users u JOIN user_fields f ON f.user_id = u.id "
            "WHERE f.key = ? AND f.norm = ? ORDER BY u.name",
            (key, norm),
        )
        return [self._build(r) for r in rows]

    def verify_password(self, name: str, password: str) -> User | None:
        row = self.host.store.query_one("SELECT * FROM users WHERE name = ?", (name,))
        if row is None or not row["password_hash"] or not row["enabled"]:
            return None
        from werkzeug.security import check_password_hash  # ~80 ms: only here

        if not check_password_hash(row["password_hash"], password):
            return None
        return self._build(row)

    # -- writing -------------------------------------------------------------

    def _check(
        self, values: dict[str, Any], field_values: dict[str, str], user_id: int | None
    ) -> dict[str, str]:
        errors: dict[str, str] = {}
        if "name" in values and not _NAME.match(values["name"] or ""):
            errors["name"] = (
                "name must be 1-64 characters without spaces, slashes or quotes"
            )
        phone = values.get("phone")
        if phone and not _PHONE.match(phone):
            errors["phone"] = (
                "phone may hold only digits, spaces, '-' and a leading '+'"
            )
        declared = self.fields()
        for key, value in field_values.items():
            if key not in declared:
                known = ", ".join(sorted(declared)) or "none"
                errors[key] = f"unknown user field {key!r}; known fields: {known}"
                continue
            _, spec = declared[key]
            if value == "":
                continue
            message = spec.validate(value) if spec.validate else None
            if message:
                errors[key] = f"{spec.label}: {message}"
                continue
            if spec.unique:
                for other in self.find_by_field(key, value):
                    if other.id != user_id:
                        errors[key] = (
                            f"{spec.label}: {value!r} is already bound to user "
                            f"{other.name!r}"
                        )
        return errors

    def add(
        self,
        name: str,
        password: str | None = None,
        alias: str = "",
        phone: str = "",
        enabled: bool = True,
        admin: bool = False,
        fields: dict[str, str] | None = None,
        groups: list[str] | None = None,
    ) -> User:
        """Create a user; raises :class:`ValidationError` naming each bad field."""
        fields = {k: v.strip() for k, v in (fields or {}).items()}
        errors = self._check({"name": name, "phone": phone}, fields, None)
        if self.find(name) is not None:
            errors["name"] = f"user {name!r} already exists"
        if errors:
            raise ValidationError("; ".join(errors.values()), errors)
        declared = self.fields()
        with self.host.store.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO users (name, alias, password_hash, enabled, phone, "
                "is_admin, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    name,
                    alias,
                    _hash_password(password) if password else "",
                    int(enabled),
                    phone,
                    int(admin),
                    time.time(),
                ),
            )
            user_id = int(cur.lastrowid or 0)
            self._write_fields(conn, user_id, fields, declared)
            for group in groups or []:
                self._join(conn, user_id, group)
        return self.get(name)

    def update(
        self,
        name: str,
        *,
        alias: str | None = None,
        phone: str | None = None,
        enabled: bool | None = None,
        password: str | None = None,
        admin: bool | None = None,
        fields: dict[str, str] | None = None,
    ) -> User:
        """Change a user; a field set to ``""`` is removed."""
        user = self.get(name)
        fields = {k: v.strip() for k, v in (fields or {}).items()}
        errors = self._check({"phone": phone}, fields, user.id)
        if errors:
            raise ValidationError("; ".join(errors.values()), errors)
        declared = self.fields()
        with self.host.store.transaction() as conn:
            changes = {
                "alias": alias,
                "phone": phone,
                "enabled": None if enabled is None else int(enabled),
                "is_admin": None if admin is None else int(admin),
                "password_hash": _hash_password(password) if password else None,
            }
            for column, value in changes.items():
                if value is not None:
                    conn.execute(
                        f"UPDATE users SET {column} = ? WHERE id = ?", (value, user.id)
                    )
            self._write_fields(conn, user.id, fields, declared)
        return self.get(name)

    def _write_fields(
        self,
        conn: sqlite3.Connection,
        user_id: int,
        fields: dict[str, str],
        declared: dict[str, tuple[str, UserField]],
    ) -> None:
        for key, value in fields.items():
            if value == "":
                conn.execute(
                    "DELETE FROM user_fields WHERE user_id = ? AND key = ?",
                    (user_id, key),
                )
                continue
            norm = declared[key][1].normalize(value)
            conn.execute(
                "INSERT INTO user_fields (user_id, key, value, norm) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(user_id, key) DO UPDATE SET value = excluded.value, "
                "norm = excluded.norm",
                (user_id, key, value, norm),
            )

    # -- groups --------------------------------------------------------------

    def add_group(self, name: str, parent: str | None = None) -> None:
        with self.host.store.transaction() as conn:
            parent_id = None
            if parent:
                row = conn.execute(
                    "SELECT id FROM groups WHERE name = ?", (parent,)
                ).fetchone()
                if row is None:
                    raise NotFound(f"no group {parent!r}")
                parent_id = row["id"]
            conn.execute(
                "INSERT INTO groups (name, parent_id) VALUES (?, ?) "
                "ON CONFLICT(name) DO NOTHING",
                (name, parent_id),
            )

    def _join(self, conn: sqlite3.Connection, user_id: int, group: str) -> None:
        row = conn.execute("SELECT id FROM groups WHERE name = ?", (group,)).fetchone()
        if row is None:
            raise NotFound(f"no group {group!r}; create it first")
        conn.execute(
            "INSERT OR IGNORE INTO user_groups (user_id, group_id) VALUES (?, ?)",
            (user_id, row["id"]),
        )

    def add_to_group(self, name: str, group: str) -> None:
        user = self.get(name)
        with self.host.store.transaction() as conn:
            self._join(conn, user.id, group)

    # -- groups an outside source owns ---------------------------------------
    #
    # A group synced from elsewhere (WeCom departments) carries ``source`` and
    # ``external_id``, so a rename there is an update here, not a new group.

    def groups(self, source: str | None = None) -> list[Group]:
        """Every group, or only those of ``source``, by id."""
        sql = "SELECT id, name, parent_id, source, external_id FROM groups"
        rows = (
            self.host.store.query(sql + " WHERE source = ? ORDER BY id", (source,))
            if source is not None
            else self.host.store.query(sql + " ORDER BY id")
        )
        return [
            Group(r["id"], r["name"], r["parent_id"], r["source"], r["external_id"])
            for r in rows
        ]

    def create_group(
        self,
        name: str,
        parent_id: int | None = None,
        source: str = "",
        external_id: str = "",
    ) -> int:
        """Create a group; returns its id. Raises ValidationError if the name
        is taken."""
        with self.host.store.transaction() as conn:
            if conn.execute("SELECT 1 FROM groups WHERE name = ?", (name,)).fetchone():
                raise ValidationError(f"group {name!r} already exists", {"name": name})
            cur = conn.execute(
                "INSERT INTO groups (name, parent_id, source, external_id) "
                "VALUES (?, ?, ?, ?)",
                (name, parent_id, source, external_id),
            )
            return int(cur.lastrowid or 0)

    def update_group(self, group_id: int, name: str, parent_id: int | None) -> None:
        """Rename and/or move group ``group_id``."""
        with self.host.store.transaction() as conn:
            conn.execute(
                "UPDATE groups SET name = ?, parent_id = ? WHERE id = ?",
                (name, parent_id, group_id),
            )

    def set_source_groups(self, name: str, source: str, group_ids: list[int]) -> None:
        """Make user ``name``'s memberships among the groups of ``source``
        exactly ``group_ids``; memberships in other groups stay."""
        user = self.get(name)
        with self.host.store.transaction() as conn:
            conn.execute(
                "DELETE FROM user_groups WHERE user_id = ? AND group_id IN "
                "(SELECT id FROM groups WHERE source = ?)",
                (user.id, source),
            )
            for group_id in group_ids:
                conn.execute(
                    "INSERT OR IGNORE INTO user_groups (user_id, group_id) "
                    "VALUES (?, ?)",
                    (user.id, group_id),
                )

    def group_members(self, group: str) -> list[User]:
        """Users in ``group`` or in any group below it, by name."""
        rows = self.host.store.query(
            "WITH RECURSIVE tree(id) AS ("
            " SELECT id FROM groups WHERE name = ?"
            " UNION SELECT g.id FROM groups g JOIN tree t ON g.parent_id = t.id) "
            "SELECT DISTINCT u.* FROM users u JOIN user_groups ug ON ug.user_id = u.id "
            "WHERE ug.group_id IN (SELECT id FROM tree) ORDER BY u.name",
            (group,),
        )
        if not rows and group not in {g.name for g in self.groups()}:
            raise NotFound(f"no group {group!r}")
        return [self._build(r) for r in rows]


@dataclass(frozen=True)
class Group:
    id: int
    name: str
    parent_id: int | None
    source: str
    external_id: str
