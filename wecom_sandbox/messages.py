"""App messages: ``message/send``, ``message/recall``, ``message/get_statistics``.

Recipients are resolved against the sending app's visible range with set and
dict lookups only, so a send to 1000 members stays cheap.
"""

from __future__ import annotations

import copy
import json
import secrets
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .corp import ACTIVE, App
from .errors import ApiError
from .tokens import Token

if TYPE_CHECKING:
    from .sandbox import Sandbox

MAX_USERS, MAX_PARTIES, MAX_TAGS = 1000, 100, 100
TEXT_BYTES = 2048
TITLE_BYTES, DESCRIPTION_BYTES, URL_BYTES = 128, 512, 2048
MAX_ARTICLES = 8
RECALL_WINDOW = 24 * 3600
DUPLICATE_DEFAULT, DUPLICATE_MAX = 1800, 4 * 3600
MEDIA_TYPES = {"image", "voice", "video", "file"}


@dataclass
class Sent:
    """One accepted message, shared by the inboxes it was delivered to."""

    msgid: str
    agentid: int
    msgtype: str
    time: float
    body: dict[str, Any]
    recalled: bool = False

    def view(self) -> dict[str, Any]:
        return {
            "msgid": self.msgid,
            "agentid": self.agentid,
            "msgtype": self.msgtype,
            "time": self.time,
            self.msgtype: copy.deepcopy(self.body),
        }


class MessageStore:
    """Inboxes, dropped deliveries, rate windows, duplicates and statistics."""

    def __init__(self) -> None:
        self.inbox: dict[str, list[Sent]] = {}
        self.dropped: dict[str, list[tuple[Sent, str]]] = {}
        self.by_id: dict[str, Sent] = {}
        self.rate: dict[tuple[int, str], deque[float]] = {}
        self.duplicates: dict[tuple[int, str], tuple[float, dict[str, Any]]] = {}
        self.delivered: dict[tuple[int, Any], int] = {}
        self.quota_used: dict[tuple[int, Any], int] = {}


def truncate_utf8(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes, on a character boundary."""
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    return raw[:limit].decode("utf-8", errors="ignore")


def _bytes(value: Any) -> int:
    return len(str(value).encode("utf-8"))


def split_ids(value: Any) -> list[str]:
    """A ``|``-joined recipient string (or a list) as a list of ids."""
    if value is None:
        return []
    if isinstance(value, list):
        parts = [str(v) for v in value]
    else:
        parts = str(value).split("|")
    return [p.strip() for p in parts if p.strip()]


def resolve_agent(sb: Sandbox, token: Token, raw: Any) -> App:
    """The app named by ``agentid``, checked against the token's app."""
    if raw is None or raw == "":
        raise ApiError(41011)
    try:
        agentid = int(raw)
    except (TypeError, ValueError):
        raise ApiError(40056) from None
    app = sb.corp.apps.get(agentid)
    if app is None:
        raise ApiError(40056)
    if token.owner != agentid:
        raise ApiError(301002)
    return app


# -- per-type bodies ----------------------------------------------------------


def _section(body: dict[str, Any], msgtype: str) -> dict[str, Any]:
    section = body.get(msgtype)
    if not isinstance(section, dict):
        raise ApiError(40058, f"missing {msgtype}")
    return copy.deepcopy(section)


def _check_url(value: Any, name: str) -> None:
    if value and _bytes(value) > URL_BYTES:
        raise ApiError(40058, f"{name} exceed max length {URL_BYTES}")


def _text_like(body: dict[str, Any], msgtype: str) -> dict[str, Any]:
    section = _section(body, msgtype)
    content = section.get("content")
    if not content:
        raise ApiError(44004)
    section["content"] = truncate_utf8(str(content), TEXT_BYTES)
    return section


def _textcard(body: dict[str, Any]) -> dict[str, Any]:
    section = _section(body, "textcard")
    if not section.get("title"):
        raise ApiError(44004, "empty title")
    if not section.get("description"):
        raise ApiError(41033)
    if not section.get("url"):
        raise ApiError(40058, "missing url")
    _check_url(section["url"], "url")
    section["title"] = truncate_utf8(str(section["title"]), TITLE_BYTES)
    section["description"] = truncate_utf8(
        str(section["description"]), DESCRIPTION_BYTES
    )
    return section


def _articles(body: dict[str, Any], msgtype: str) -> dict[str, Any]:
    section = _section(body, msgtype)
    articles = section.get("articles")
    if not isinstance(articles, list) or not articles:
        raise ApiError(40058, "missing articles")
    if len(articles) > MAX_ARTICLES:
        raise ApiError(45008)
    for index, article in enumerate(articles):
        if not isinstance(article, dict):
            raise ApiError(40058, f"articles[{index}] is not an object")
        if "title" in article:
            article["title"] = truncate_utf8(str(article["title"]), TITLE_BYTES)
        for key in ("description", "digest"):
            if key in article:
                article[key] = truncate_utf8(str(article[key]), DESCRIPTION_BYTES)
        if msgtype == "news":
            _check_url(article.get("url"), "url")
            _check_url(article.get("picurl"), "picurl")
            has_miniprogram = article.get("appid") and article.get("pagepath")
            if not article.get("url") and not has_miniprogram:
                raise ApiError(40058, f"articles[{index}] needs url or appid+pagepath")
    return section


def _media(sb: Sandbox, body: dict[str, Any], msgtype: str) -> dict[str, Any]:
    section = _section(body, msgtype)
    media_id = str(section.get("media_id") or "")
    item = sb.media.items.get(media_id)
    if item is None or item.expires_at <= sb.clock.now() or item.type != msgtype:
        raise ApiError(40007)
    return section


def build_body(sb: Sandbox, body: dict[str, Any], msgtype: str) -> dict[str, Any]:
    """The per-type body as it will be delivered, or an ApiError."""
    if msgtype in ("text", "markdown"):
        return _text_like(body, msgtype)
    if msgtype == "textcard":
        return _textcard(body)
    if msgtype == "news":
        if str(body.get("safe", 0)) == "1":
            raise ApiError(40074)
        return _articles(body, "news")
    if msgtype == "mpnews":
        return _articles(body, "mpnews")
    if msgtype in MEDIA_TYPES:
        return _media(sb, body, msgtype)
    raise ApiError(40008)


SUPPORTED_TYPES = {"text", "markdown", "textcard", "news", "mpnews", *MEDIA_TYPES}


# -- recipients ----------------------------------------------------------------


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def resolve_recipients(
    sb: Sandbox, app: App, touser: list[str], toparty: list[str], totag: list[str]
) -> tuple[set[str], list[str], list[str], list[str], bool]:
    """(members to deliver to, invalid users, parties, tags, any id valid)."""
    corp = sb.corp
    members = corp.members
    visible = app.visible_users

    if len(touser) == 1 and touser[0] == "@all":
        everyone = {k for k in visible if members[k].status == ACTIVE}
        return everyone, [], [], [], bool(everyone)

    reach: set[str] = set()
    bad_users: list[str] = []
    for userid in touser:
        key = userid.lower()
        member = members.get(key)
        if member is not None and key in visible and member.status == ACTIVE:
            reach.add(key)
        else:
            bad_users.append(key)
    any_valid = bool(reach)

    bad_parties: list[str] = []
    for party in toparty:
        if party.isdigit() and int(party) in app.visible_depts:
            any_valid = True
            for key in corp.members_of(corp.subtree(int(party))):
                if members[key].status == ACTIVE:
                    reach.add(key)
        else:
            bad_parties.append(party)

    bad_tags: list[str] = []
    for tag_id in totag:
        if tag_id.isdigit() and int(tag_id) in app.visible_tags:
            any_valid = True
            for key in corp.tag_members(corp.tags[int(tag_id)]):
                if key in visible and members[key].status == ACTIVE:
                    reach.add(key)
        else:
            bad_tags.append(tag_id)

    return reach, _unique(bad_users), _unique(bad_parties), _unique(bad_tags), any_valid


# -- endpoints -----------------------------------------------------------------


def send(sb: Sandbox, token: Token, body: Any) -> dict[str, Any]:
    """``POST /cgi-bin/message/send``."""
    if token.is_contacts:
        raise ApiError(48002)
    if not isinstance(body, dict):
        raise ApiError(40058, "request body is not a JSON object")
    app = resolve_agent(sb, token, body.get("agentid"))

    msgtype = body.get("msgtype")
    if msgtype not in SUPPORTED_TYPES:
        raise ApiError(40008)

    touser = split_ids(body.get("touser"))
    toparty = split_ids(body.get("toparty"))
    totag = split_ids(body.get("totag"))
    if touser == ["@all"]:
        toparty, totag = [], []
    if not (touser or toparty or totag):
        raise ApiError(82001)
    if len(touser) > MAX_USERS:
        raise ApiError(40032)
    if len(toparty) > MAX_PARTIES:
        raise ApiError(82002)
    if len(totag) > MAX_TAGS:
        raise ApiError(82003)

    payload = build_body(sb, body, msgtype)
    reach, bad_users, bad_parties, bad_tags, any_valid = resolve_recipients(
        sb, app, touser, toparty, totag
    )
    if not any_valid:
        raise ApiError(81013)

    store = sb.messages
    now = sb.clock.now()
    duplicate_key = None
    if str(body.get("enable_duplicate_check", 0)) == "1":
        interval = _duplicate_interval(body.get("duplicate_check_interval"))
        duplicate_key = (app.agentid, json.dumps(body, sort_keys=True))
        seen = store.duplicates.get(duplicate_key)
        if seen is not None and now - seen[0] < interval:
            return dict(seen[1])

    day = sb.clock.day(now)
    used = store.quota_used.get((app.agentid, day), 0)
    if used + len(reach) > app.daily_quota:
        raise ApiError(45009, "api freq out of limit (daily message quota)")
    store.quota_used[(app.agentid, day)] = used + len(reach)

    sent = Sent(secrets.token_urlsafe(48), app.agentid, msgtype, now, payload)
    store.by_id[sent.msgid] = sent
    delivered = 0
    per_minute, per_hour = sb.faults.per_minute, sb.faults.per_hour
    for key in sorted(reach):
        window = store.rate.setdefault((app.agentid, key), deque())
        while window and window[0] <= now - 3600:
            window.popleft()
        last_minute = 0
        for stamp in reversed(window):
            if stamp <= now - 60:
                break
            last_minute += 1
        if last_minute >= per_minute or len(window) >= per_hour:
            reason = "per_minute" if last_minute >= per_minute else "per_hour"
            store.dropped.setdefault(key, []).append((sent, reason))
            continue
        window.append(now)
        store.inbox.setdefault(key, []).append(sent)
        delivered += 1
    store.delivered[(app.agentid, day)] = (
        store.delivered.get((app.agentid, day), 0) + delivered
    )

    response = {
        "errcode": 0,
        "errmsg": "ok",
        "invaliduser": "|".join(bad_users),
        "invalidparty": "|".join(bad_parties),
        "invalidtag": "|".join(bad_tags),
        "unlicenseduser": "",
        "msgid": sent.msgid,
    }
    if duplicate_key is not None:
        store.duplicates[duplicate_key] = (now, dict(response))
    return response


def _duplicate_interval(raw: Any) -> int:
    if raw in (None, ""):
        return DUPLICATE_DEFAULT
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ApiError(40058, "invalid duplicate_check_interval") from None
    return max(1, min(value, DUPLICATE_MAX))


def recall(sb: Sandbox, token: Token, body: Any) -> dict[str, Any]:
    """``POST /cgi-bin/message/recall``."""
    if token.is_contacts:
        raise ApiError(48002)
    msgid = body.get("msgid") if isinstance(body, dict) else None
    if not msgid:
        raise ApiError(40058, "missing msgid")
    sent = sb.messages.by_id.get(str(msgid))
    if sent is None or sent.agentid != token.owner:
        raise ApiError(40058, "invalid msgid")
    if sb.clock.now() - sent.time > RECALL_WINDOW:
        raise ApiError(42052)
    sent.recalled = True
    return {"errcode": 0, "errmsg": "ok"}


def statistics(sb: Sandbox, token: Token, body: Any) -> dict[str, Any]:
    """``POST /cgi-bin/message/get_statistics``."""
    if token.is_contacts:
        raise ApiError(48002)
    time_type = (body or {}).get("time_type", 0) if isinstance(body, dict) else 0
    if str(time_type) not in ("0", "1"):
        raise ApiError(40058, "invalid time_type")
    when = sb.clock.now() - (86400 if str(time_type) == "1" else 0)
    day = sb.clock.day(when)
    app = sb.corp.apps[int(token.owner)]
    count = sb.messages.delivered.get((app.agentid, day), 0)
    return {
        "errcode": 0,
        "errmsg": "ok",
        "statistics": [{"agentid": app.agentid, "app_name": app.name, "count": count}],
    }
