"""WeCom's per-member limit and the app's daily quota, counted by the host.

WeCom silently drops what exceeds 30 messages a minute, or 1000 an hour, from
one app to one member.  The host records every member a chunk reached
(``wecom_member_sends``) and, before a chunk goes out, takes out the members
who would pass either limit; the outbox defers them to when the window
allows.  Person-times per app and China-time day are counted in
``wecom_quota``.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from . import clock

PER_MINUTE, PER_HOUR = 30, 1000
CHINA = dt.timezone(dt.timedelta(hours=8))
_BATCH = 500


@dataclass(frozen=True)
class MemberLimits:
    per_minute: int = PER_MINUTE
    per_hour: int = PER_HOUR

    @classmethod
    def current(cls) -> MemberLimits:
        return cls(*clock.member_limits((PER_MINUTE, PER_HOUR)))


@dataclass(frozen=True)
class Hold:
    """A member who must wait: until when, and which limit."""

    until: float
    reason: str


def holds(
    conn: sqlite3.Connection | Any,
    agentid: int,
    userids: Iterable[str],
    now: float,
    limits: MemberLimits,
) -> dict[str, Hold]:
    """The members of ``userids`` one more message would push over a limit."""
    ids = list(userids)
    stamps: dict[str, list[float]] = {}
    for start in range(0, len(ids), _BATCH):
        batch = ids[start : start + _BATCH]
        marks = ",".join("?" * len(batch))
        rows = conn.execute(
            "SELECT userid, sent_at FROM wecom_member_sends WHERE agentid = ? AND "
            f"sent_at > ? AND userid IN ({marks}) ORDER BY userid, sent_at",
            (agentid, now - 3600, *batch),
        ).fetchall()
        for row in rows:
            stamps.setdefault(row["userid"], []).append(float(row["sent_at"]))
    out: dict[str, Hold] = {}
    for userid, times in stamps.items():
        minute = [t for t in times if t > now - 60]
        until, reason = 0.0, ""
        if len(minute) >= limits.per_minute:
            until = minute[len(minute) - limits.per_minute] + 60
            reason = f"per-member limit {limits.per_minute}/minute"
        if len(times) >= limits.per_hour:
            hour_until = times[len(times) - limits.per_hour] + 3600
            if hour_until > until:
                until = hour_until
                reason = f"per-member limit {limits.per_hour}/hour"
        if reason:
            out[userid] = Hold(until, reason)
    return out


def record_sends(
    conn: sqlite3.Connection, agentid: int, userids: Iterable[str], now: float
) -> int:
    """Count one message to each member; forget sends older than an hour."""
    rows = [(agentid, userid, now) for userid in userids]
    conn.executemany(
        "INSERT INTO wecom_member_sends (agentid, userid, sent_at) VALUES (?, ?, ?)",
        rows,
    )
    conn.execute("DELETE FROM wecom_member_sends WHERE sent_at <= ?", (now - 3600,))
    conn.execute(
        "INSERT INTO wecom_quota (agentid, day, used) VALUES (?, ?, ?) "
        "ON CONFLICT(agentid, day) DO UPDATE SET used = used + excluded.used",
        (agentid, china_day(now), len(rows)),
    )
    return len(rows)


def china_day(when: float) -> str:
    return dt.datetime.fromtimestamp(when, CHINA).date().isoformat()


def quota_used(store: Any, agentid: int, now: float | None = None) -> int:
    """Person-times the host sent through the app today (China time)."""
    row = store.query_one(
        "SELECT used FROM wecom_quota WHERE agentid = ? AND day = ?",
        (agentid, china_day(clock.now() if now is None else now)),
    )
    return int(row["used"]) if row else 0
