"""The outbox: every push is written down before anything is sent.

A push is one row of ``wecom_pushes`` (the request), its recipients (one row
each in ``wecom_push_recipients``, with a state and a reason) and its chunks
(``wecom_push_chunks``: the exact ``message/send`` body, at most 1000 users,
100 departments and 100 tags, with a state).  A chunk moves

    pending -> sending -> sent | failed          (deferred -> sending when due)

and the push's state is derived from its chunks.  Every body carries
``enable_duplicate_check: 1``, so a chunk that was in flight when its process
died is sent again, unchanged, and WeCom does not deliver it twice.

Failures that can pass (-1, 45009, 45033, HTTP 5xx, timeouts, reset
connections) are retried with exponential back-off and jitter (tenacity), at
most :data:`ATTEMPTS` times; other errcodes fail the chunk at once.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from ext_host.api import HostError, NotFound

from . import clock, limits
from .client import WeComClient, WeComError, WeComUnreachable
from .recipients import Recipients

log = logging.getLogger(__name__)

CHUNK_USERS, CHUNK_DEPARTMENTS, CHUNK_TAGS = 1000, 100, 100
#: WeCom's longest duplicate-check window: a resume within it is safe.
DUPLICATE_INTERVAL = 4 * 3600
#: A chunk claimed this long ago by a process we cannot check is taken over.
LEASE_SECONDS = 600
ATTEMPTS = 4
RETRY_WAIT, RETRY_MAX = 1.0, 30.0
TRANSIENT = {-1, 45009, 45033}

PENDING, SENDING, SENT, DEFERRED, FAILED, RECALLED = (
    "pending",
    "sending",
    "sent",
    "deferred",
    "failed",
    "recalled",
)
UNFINISHED = (PENDING, SENDING, DEFERRED)

MIGRATION = """
ALTER TABLE wecom_pushes ADD COLUMN updated_at REAL;
ALTER TABLE wecom_pushes ADD COLUMN notes TEXT NOT NULL DEFAULT '[]';
ALTER TABLE wecom_pushes ADD COLUMN described TEXT NOT NULL DEFAULT '';
CREATE TABLE wecom_push_chunks (
    id INTEGER PRIMARY KEY,
    push_id INTEGER NOT NULL REFERENCES wecom_pushes(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    body TEXT NOT NULL,
    users INTEGER NOT NULL DEFAULT 0,
    departments INTEGER NOT NULL DEFAULT 0,
    tags INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    tries INTEGER NOT NULL DEFAULT 0,
    errcode INTEGER,
    errmsg TEXT NOT NULL DEFAULT '',
    msgid TEXT NOT NULL DEFAULT '',
    response TEXT NOT NULL DEFAULT '',
    not_before REAL,
    owner TEXT NOT NULL DEFAULT '',
    claimed_at REAL,
    sent_at REAL,
    UNIQUE (push_id, seq)
);
CREATE INDEX wecom_push_chunks_state ON wecom_push_chunks (state, push_id);
CREATE INDEX wecom_push_chunks_msgid ON wecom_push_chunks (msgid);
CREATE TABLE wecom_push_recipients (
    push_id INTEGER NOT NULL REFERENCES wecom_pushes(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    chunk_seq INTEGER,
    state TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (push_id, kind, id)
);
CREATE INDEX wecom_push_recipients_chunk ON wecom_push_recipients (push_id, chunk_seq);
CREATE TABLE wecom_member_sends (
    agentid INTEGER NOT NULL,
    userid TEXT NOT NULL,
    sent_at REAL NOT NULL
);
CREATE INDEX wecom_member_sends_member ON wecom_member_sends (agentid, userid, sent_at);
CREATE INDEX wecom_member_sends_time ON wecom_member_sends (sent_at);
CREATE TABLE wecom_quota (
    agentid INTEGER NOT NULL,
    day TEXT NOT NULL,
    used INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (agentid, day)
)
"""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = ATTEMPTS
    wait: float = RETRY_WAIT
    maximum: float = RETRY_MAX

    @classmethod
    def current(cls) -> RetryPolicy:
        return cls(wait=clock.retry_wait(RETRY_WAIT))


@dataclass
class Chunk:
    id: int
    push_id: int
    seq: int
    body: dict[str, Any]
    attempts: int

    @property
    def touser(self) -> list[str]:
        return [u for u in str(self.body.get("touser", "")).split("|") if u]


#: Called after each chunk finishes: (push id, chunk seq, chunk state).
Progress = Callable[[int, int, str], None]


def owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _owner_alive(owner: str, claimed_at: float | None, now: float) -> bool:
    host, _, pid = owner.rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return claimed_at is not None and now - claimed_at < LEASE_SECONDS


# -- writing a push down --------------------------------------------------------


def plan(recipients: Recipients) -> list[dict[str, list[str]]]:
    """The recipient lists of each call: the fewest calls WeCom allows."""
    if recipients.everyone:
        return [{"touser": ["@all"], "toparty": [], "totag": []}]
    users = list(recipients.users)
    parties, tags = recipients.departments, recipients.tags
    count = max(
        -(-len(users) // CHUNK_USERS),
        -(-len(parties) // CHUNK_DEPARTMENTS),
        -(-len(tags) // CHUNK_TAGS),
    )
    return [
        {
            "touser": users[i * CHUNK_USERS : (i + 1) * CHUNK_USERS],
            "toparty": parties[i * CHUNK_DEPARTMENTS : (i + 1) * CHUNK_DEPARTMENTS],
            "totag": tags[i * CHUNK_TAGS : (i + 1) * CHUNK_TAGS],
        }
        for i in range(count)
    ]


def message_body(
    agentid: int, article: dict[str, str], lists: dict[str, list[str]]
) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for key in ("touser", "toparty", "totag"):
        if lists.get(key):
            body[key] = "|".join(lists[key])
    body.update(
        {
            "msgtype": "news",
            "agentid": agentid,
            "news": {"articles": [article]},
            "enable_duplicate_check": 1,
            "duplicate_check_interval": DUPLICATE_INTERVAL,
        }
    )
    return body


def create(
    host: Any,
    *,
    report_id: str,
    agentid: int,
    app_name: str,
    article_for: Callable[[int], dict[str, str]],
    recipients: Recipients,
    request: dict[str, Any],
    notes: list[str],
    actor: str | None,
) -> int:
    """Write the push, its recipients and its chunks in one transaction."""
    now = clock.now()
    lists = plan(recipients)
    with host.store.transaction() as conn:
        cur = conn.execute(
            "INSERT INTO wecom_pushes (report_id, agentid, app_name, title, request, "
            "touser, skipped, state, actor, created_at, updated_at, notes, described) "
            "VALUES (?, ?, ?, '', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                report_id,
                agentid,
                app_name,
                json.dumps(request, ensure_ascii=False),
                "@all" if recipients.everyone else "|".join(recipients.users),
                json.dumps([n for n, _ in recipients.skipped], ensure_ascii=False),
                PENDING,
                actor or "",
                now,
                now,
                json.dumps(notes, ensure_ascii=False),
                recipients.describe(),
            ),
        )
        push_id = int(cur.lastrowid or 0)
        article = article_for(push_id)
        conn.execute(
            "UPDATE wecom_pushes SET title = ? WHERE id = ?",
            (article["title"], push_id),
        )
        rows: list[tuple[Any, ...]] = []
        for seq, chunk in enumerate(lists, start=1):
            body = message_body(agentid, article, chunk)
            conn.execute(
                "INSERT INTO wecom_push_chunks (push_id, seq, body, users, "
                "departments, tags, state) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    push_id,
                    seq,
                    json.dumps(body, ensure_ascii=False),
                    len(chunk["touser"]),
                    len(chunk["toparty"]),
                    len(chunk["totag"]),
                    PENDING,
                ),
            )
            for userid in chunk["touser"]:
                source = "" if userid == "@all" else recipients.users[userid]
                kind = "all" if userid == "@all" else "user"
                rows.append((push_id, kind, userid, source, seq, PENDING, ""))
            rows += [
                (push_id, "department", d, "", seq, PENDING, "")
                for d in chunk["toparty"]
            ]
            rows += [(push_id, "tag", t, "", seq, PENDING, "") for t in chunk["totag"]]
        rows += [
            (push_id, "host_user", name, name, None, "skipped", reason)
            for name, reason in recipients.skipped
        ]
        conn.executemany(
            "INSERT INTO wecom_push_recipients (push_id, kind, id, source, chunk_seq, "
            "state, reason) VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    log.info("push %d written: %d chunk(s) to %s", push_id, len(lists), app_name)
    return push_id


# -- sending ----------------------------------------------------------------------


def _refresh_state(conn: sqlite3.Connection, push_id: int, now: float) -> str:
    counts = {
        r["state"]: r["n"]
        for r in conn.execute(
            "SELECT state, COUNT(*) AS n FROM wecom_push_chunks WHERE push_id = ? "
            "GROUP BY state",
            (push_id,),
        )
    }
    state = derive_state(counts)
    conn.execute(
        "UPDATE wecom_pushes SET state = ?, updated_at = ? WHERE id = ?",
        (state, now, push_id),
    )
    return state


def derive_state(counts: dict[str, int]) -> str:
    """A push's state from how many of its chunks are in each state."""
    total = sum(counts.values())
    if not total:
        return FAILED
    if counts.get(RECALLED) == total:
        return RECALLED
    if counts.get(PENDING) or counts.get(SENDING):
        return SENDING
    if counts.get(DEFERRED):
        return DEFERRED
    delivered = counts.get(SENT, 0) + counts.get(RECALLED, 0)
    if delivered == total:
        return SENT
    return FAILED if not delivered else "partial"


def _defer(
    conn: sqlite3.Connection,
    row: sqlite3.Row,
    body: dict[str, Any],
    agentid: int,
    now: float,
    member_limits: limits.MemberLimits,
) -> bool:
    """Take members who would pass the per-member limit out of a chunk that
    was never sent; True when nothing is left to send now."""
    users = [u for u in str(body.get("touser", "")).split("|") if u and u != "@all"]
    held = limits.holds(conn, agentid, users, now, member_limits)
    if not held:
        return False
    keep = [u for u in users if u not in held]
    until = max(h.until for h in held.values())
    if not keep and not body.get("toparty") and not body.get("totag"):
        conn.execute(
            "UPDATE wecom_push_chunks SET state = ?, not_before = ? WHERE id = ?",
            (DEFERRED, until, row["id"]),
        )
        seq = row["seq"]
    else:
        body["touser"] = "|".join(keep)
        if not keep:
            del body["touser"]
        conn.execute(
            "UPDATE wecom_push_chunks SET body = ?, users = ? WHERE id = ?",
            (json.dumps(body, ensure_ascii=False), len(keep), row["id"]),
        )
        seq = conn.execute(
            "SELECT MAX(seq) + 1 FROM wecom_push_chunks WHERE push_id = ?",
            (row["push_id"],),
        ).fetchone()[0]
        moved = dict(body, touser="|".join(held))
        moved.pop("toparty", None)
        moved.pop("totag", None)
        conn.execute(
            "INSERT INTO wecom_push_chunks (push_id, seq, body, users, state, "
            "not_before) VALUES (?, ?, ?, ?, ?, ?)",
            (
                row["push_id"],
                seq,
                json.dumps(moved, ensure_ascii=False),
                len(held),
                DEFERRED,
                until,
            ),
        )
    conn.executemany(
        "UPDATE wecom_push_recipients SET chunk_seq = ?, state = ?, reason = ? "
        "WHERE push_id = ? AND kind = 'user' AND id = ?",
        [
            (
                seq,
                DEFERRED,
                f"deferred until {_hhmm(h.until)} ({h.reason})",
                row["push_id"],
                u,
            )
            for u, h in held.items()
        ],
    )
    log.info(
        "push %d: %d member(s) deferred to %s by the per-member limit",
        row["push_id"],
        len(held),
        _hhmm(until),
    )
    return not keep and not body.get("toparty") and not body.get("totag")


def _hhmm(when: float) -> str:
    import datetime as dt

    # With the offset: the server's zone need not be the reader's (or China's).
    return dt.datetime.fromtimestamp(when).astimezone().strftime("%Y-%m-%d %H:%M:%S %z")


def claim(host: Any, push_id: int) -> Chunk | None:
    """Take the push's next chunk that may be sent now, marking it *sending*."""
    member_limits = limits.MemberLimits.current()
    while True:
        now = clock.now()
        with host.store.transaction() as conn:
            rows = conn.execute(
                "SELECT c.*, p.agentid FROM wecom_push_chunks c JOIN wecom_pushes p "
                "ON p.id = c.push_id WHERE c.push_id = ? AND (c.state = ? OR "
                "(c.state = ? AND c.not_before <= ?) OR c.state = ?) ORDER BY c.seq",
                (push_id, PENDING, DEFERRED, now, SENDING),
            ).fetchall()
            row = next(
                (
                    r
                    for r in rows
                    if r["state"] != SENDING
                    or not _owner_alive(r["owner"], r["claimed_at"], now)
                ),
                None,
            )
            if row is None:
                return None
            body = json.loads(row["body"])
            # A chunk that may have reached WeCom is sent again unchanged, so
            # the duplicate check recognises it; only fresh ones are split.
            if row["attempts"] == 0 and _defer(
                conn, row, body, row["agentid"], now, member_limits
            ):
                _refresh_state(conn, push_id, now)
                continue
            conn.execute(
                "UPDATE wecom_push_chunks SET state = ?, owner = ?, claimed_at = ?, "
                "attempts = attempts + 1 WHERE id = ?",
                (SENDING, owner_id(), now, row["id"]),
            )
            _refresh_state(conn, push_id, now)
            return Chunk(row["id"], push_id, row["seq"], body, row["attempts"] + 1)


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, WeComError):
        return exc.errcode in TRANSIENT
    return isinstance(exc, WeComUnreachable) and exc.retryable


def deliver(host: Any, client: WeComClient, chunk: Chunk, policy: RetryPolicy) -> str:
    """Send one claimed chunk (retrying what can pass) and record the outcome."""
    tries = 0

    def attempt() -> dict[str, Any]:
        nonlocal tries
        tries += 1
        return client.post("message/send", chunk.body)

    retrying = Retrying(
        stop=stop_after_attempt(policy.attempts),
        wait=wait_exponential_jitter(
            multiplier=policy.wait, max=policy.maximum, jitter=policy.wait
        ),
        retry=retry_if_exception(_transient),
        before_sleep=lambda state: log.warning(
            "push %d chunk %d: attempt %d failed (%s); retrying",
            chunk.push_id,
            chunk.seq,
            state.attempt_number,
            state.outcome.exception() if state.outcome else "",
        ),
        reraise=True,
    )
    try:
        data = retrying(attempt)
    except WeComError as exc:
        return _record_failure(host, chunk, tries, exc.errcode, str(exc))
    except WeComUnreachable as exc:
        return _record_failure(host, chunk, tries, None, str(exc))
    return _record_success(host, chunk, tries, data)


def _ids(value: Any) -> list[str]:
    return [part for part in str(value or "").split("|") if part]


def _record_success(host: Any, chunk: Chunk, tries: int, data: dict[str, Any]) -> str:
    now = clock.now()
    msgid = str(data.get("msgid", ""))
    rejected = {
        "user": [
            (u, "invaliduser: unknown, inactive or outside the app's visible range")
            for u in _ids(data.get("invaliduser"))
        ]
        + [
            (u, "unlicenseduser: no WeCom interface licence")
            for u in _ids(data.get("unlicenseduser"))
        ],
        "department": [
            (p, "invalidparty: unknown or outside the app's visible range")
            for p in _ids(data.get("invalidparty"))
        ],
        "tag": [
            (t, "invalidtag: unknown or not usable by the app")
            for t in _ids(data.get("invalidtag"))
        ],
    }
    with host.store.transaction() as conn:
        other = conn.execute(
            "SELECT push_id FROM wecom_push_chunks WHERE msgid = ? AND id != ? "
            "AND msgid != ''",
            (msgid, chunk.id),
        ).fetchone()
        if other is not None:
            message = (
                f"WeCom answered with the msgid of push {other['push_id']}: it took "
                "this card as a repeat of that one (same card, same recipients, "
                "within 4 hours) and did not deliver it; change the title to send it"
            )
            return _record_failure(host, chunk, tries, 0, message)
        conn.execute(
            "UPDATE wecom_push_chunks SET state = ?, errcode = 0, errmsg = '', "
            "msgid = ?, response = ?, sent_at = ?, owner = '', tries = tries + ? "
            "WHERE id = ?",
            (SENT, msgid, json.dumps(data, ensure_ascii=False), now, tries, chunk.id),
        )
        conn.execute(
            "UPDATE wecom_push_recipients SET state = ? WHERE push_id = ? AND "
            "chunk_seq = ? AND state IN (?, ?)",
            (SENT, chunk.push_id, chunk.seq, PENDING, DEFERRED),
        )
        bad: set[str] = set()
        for kind, items in rejected.items():
            conn.executemany(
                "UPDATE wecom_push_recipients SET state = 'rejected', reason = ? "
                "WHERE push_id = ? AND kind = ? AND id = ?",
                [(reason, chunk.push_id, kind, i) for i, reason in items],
            )
            if kind == "user":
                bad = {i.lower() for i, _ in items}
        reached = [u for u in chunk.touser if u != "@all" and u.lower() not in bad]
        limits.record_sends(conn, int(chunk.body["agentid"]), reached, now)
        conn.execute(
            "UPDATE wecom_pushes SET errcode = 0, msgid = CASE WHEN msgid = '' "
            "THEN ? ELSE msgid END WHERE id = ?",
            (msgid, chunk.push_id),
        )
        _refresh_state(conn, chunk.push_id, now)
    log.info(
        "push %d: chunk %d sent (%d member(s), %d rejected)",
        chunk.push_id,
        chunk.seq,
        len(reached),
        sum(len(v) for v in rejected.values()),
    )
    return SENT


def _record_failure(
    host: Any, chunk: Chunk, tries: int, errcode: int | None, message: str
) -> str:
    now = clock.now()
    if errcode == 81013:
        state, reason = "rejected", "no valid recipient (81013)"
    else:
        state = FAILED
        reason = f"not sent: errcode {errcode}" if errcode is not None else "not sent"
    with host.store.transaction() as conn:
        conn.execute(
            "UPDATE wecom_push_chunks SET state = ?, errcode = ?, errmsg = ?, "
            "owner = '', tries = tries + ? WHERE id = ?",
            (FAILED, errcode, message, tries, chunk.id),
        )
        conn.execute(
            "UPDATE wecom_push_recipients SET state = ?, reason = ? WHERE push_id = ? "
            "AND chunk_seq = ? AND state IN (?, ?)",
            (state, reason, chunk.push_id, chunk.seq, PENDING, DEFERRED),
        )
        conn.execute(
            "UPDATE wecom_pushes SET errcode = ?, errmsg = ? WHERE id = ?",
            (errcode, message, chunk.push_id),
        )
        _refresh_state(conn, chunk.push_id, now)
    log.warning("push %d: chunk %d failed: %s", chunk.push_id, chunk.seq, message)
    return FAILED


def send(
    host: Any,
    push_id: int,
    client: WeComClient,
    progress: Progress | None = None,
    policy: RetryPolicy | None = None,
) -> None:
    """Send every chunk of the push that may go now."""
    policy = policy or RetryPolicy.current()
    while True:
        chunk = claim(host, push_id)
        if chunk is None:
            return
        state = deliver(host, client, chunk, policy)
        if progress is not None:
            progress(push_id, chunk.seq, state)


def unfinished(host: Any) -> list[int]:
    rows = host.store.query(
        "SELECT DISTINCT push_id FROM wecom_push_chunks WHERE state IN (?, ?, ?) "
        "ORDER BY push_id",
        UNFINISHED,
    )
    return [int(r["push_id"]) for r in rows]


def next_due(host: Any) -> float | None:
    row = host.store.query_one(
        "SELECT MIN(not_before) AS due FROM wecom_push_chunks WHERE state = ?",
        (DEFERRED,),
    )
    return None if row is None or row["due"] is None else float(row["due"])


def push_row(host: Any, push_id: int) -> sqlite3.Row:
    row = host.store.query_one("SELECT * FROM wecom_pushes WHERE id = ?", (push_id,))
    if row is None:
        raise NotFound(f"no push {push_id}; `ext-host push history` lists the pushes")
    return row


def chunks(host: Any, push_id: int) -> list[sqlite3.Row]:
    return host.store.query(
        "SELECT * FROM wecom_push_chunks WHERE push_id = ? ORDER BY seq", (push_id,)
    )


def recipients(host: Any, push_id: int) -> list[sqlite3.Row]:
    return host.store.query(
        "SELECT * FROM wecom_push_recipients WHERE push_id = ? "
        "ORDER BY chunk_seq IS NULL, chunk_seq, kind, id",
        (push_id,),
    )


def counts(host: Any, push_id: int) -> dict[str, int]:
    return {
        f"{r['kind']}:{r['state']}": r["n"]
        for r in host.store.query(
            "SELECT kind, state, COUNT(*) AS n FROM wecom_push_recipients "
            "WHERE push_id = ? GROUP BY kind, state",
            (push_id,),
        )
    }


def recall(host: Any, push_id: int, client: WeComClient) -> int:
    """Recall every sent chunk of the push; returns how many were recalled."""
    sent = [c for c in chunks(host, push_id) if c["state"] == SENT and c["msgid"]]
    if not sent:
        raise HostError(f"push {push_id} has no sent message to recall")
    done = 0
    for chunk in sent:
        try:
            client.post("message/recall", {"msgid": chunk["msgid"]})
        except WeComError as exc:
            if exc.errcode == 42052:
                raise HostError(
                    f"push {push_id} cannot be recalled: WeCom recalls messages only "
                    "within 24 hours of sending (errcode 42052)"
                ) from None
            raise
        now = clock.now()
        with host.store.transaction() as conn:
            conn.execute(
                "UPDATE wecom_push_chunks SET state = ? WHERE id = ?",
                (RECALLED, chunk["id"]),
            )
            conn.execute(
                "UPDATE wecom_push_recipients SET state = ? WHERE push_id = ? AND "
                "chunk_seq = ? AND state = ?",
                (RECALLED, push_id, chunk["seq"], SENT),
            )
            _refresh_state(conn, push_id, now)
        done += 1
    log.info("push %d: %d message(s) recalled", push_id, done)
    return done
