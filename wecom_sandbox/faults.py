"""Fault injection: canned errcodes, HTTP errors, latency, dropped connections.

Faults name an endpoint path (``/cgi-bin/message/send``; a bare
``message/send`` means the same) and optionally an app, and last for a number
of calls. ``sb.faults`` is the object; the control API takes the same options.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


def normalize_path(path: str) -> str:
    """``message/send`` -> ``/cgi-bin/message/send``; full paths unchanged."""
    path = path.split("?", 1)[0]
    if path.startswith("/"):
        return path
    return "/cgi-bin/" + path


@dataclass
class Fault:
    kind: str  # "errcode", "http_status", "drop", "latency"
    path: str
    times: int | None  # None = until cleared
    agentid: int | None = None
    errcode: int = 0
    errmsg: str | None = None
    status: int = 0
    seconds: float = 0.0

    def matches(self, path: str, agentid: int | None) -> bool:
        if self.path != path:
            return False
        return self.agentid is None or self.agentid == agentid


@dataclass
class Action:
    """What the server must do with one call before (or instead of) answering."""

    delay: float = 0.0
    errcode: int | None = None
    errmsg: str | None = None
    status: int | None = None
    drop: bool = False


class Faults:
    """Faults to inject; owned by one :class:`~wecom_sandbox.Sandbox`."""

    #: Per-app, per-member message limits WeCom applies (30/min, 1000/hour).
    DEFAULT_PER_MINUTE = 30
    DEFAULT_PER_HOUR = 1000

    def __init__(self, expire_tokens: Callable[[], None]) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._expire_tokens = expire_tokens
        #: The errcode an expired token gets: 42001 as documented, or 40014 as
        #: WeCom has been seen to answer since 2024.
        self.expired_token_errcode = 42001
        self.per_minute = self.DEFAULT_PER_MINUTE
        self.per_hour = self.DEFAULT_PER_HOUR

    def errcode(
        self,
        path: str,
        errcode: int,
        times: int = 1,
        agentid: int | None = None,
        errmsg: str | None = None,
    ) -> None:
        """The next ``times`` calls to ``path`` (by ``agentid``'s token or for
        that agentid, if given) answer ``errcode`` instead of being served."""
        self._add(
            Fault("errcode", normalize_path(path), times, agentid, errcode, errmsg)
        )

    def http_status(self, path: str, status: int = 502, times: int = 1) -> None:
        """The next ``times`` calls to ``path`` get a bare HTTP ``status``."""
        self._add(Fault("http_status", normalize_path(path), times, status=status))

    def drop_connection(self, path: str, times: int = 1) -> None:
        """The next ``times`` calls to ``path`` see the connection closed
        mid-response (clients raise ConnectionError/ChunkedEncodingError)."""
        self._add(Fault("drop", normalize_path(path), times))

    def latency(self, path: str, seconds: float, times: int | None = None) -> None:
        """Calls to ``path`` wait ``seconds`` before being served (every call
        until cleared, or the next ``times``)."""
        self._add(Fault("latency", normalize_path(path), times, seconds=seconds))

    def expire_tokens(self) -> None:
        """Every token issued so far dies now (gettoken then issues new ones)."""
        self._expire_tokens()

    def member_limit(
        self, per_minute: int | None = None, per_hour: int | None = None
    ) -> None:
        """Change the per-app, per-member message limits (defaults 30 and 1000)."""
        with self._lock:
            if per_minute is not None:
                self.per_minute = int(per_minute)
            if per_hour is not None:
                self.per_hour = int(per_hour)

    def clear(self) -> None:
        """Remove every fault and restore the default limits and errcodes."""
        with self._lock:
            self._faults.clear()
            self.expired_token_errcode = 42001
            self.per_minute = self.DEFAULT_PER_MINUTE
            self.per_hour = self.DEFAULT_PER_HOUR

    def pending(self) -> list[dict[str, Any]]:
        """The faults still armed, for the control API."""
        with self._lock:
            return [dict(vars(f)) for f in self._faults]

    def apply(self, options: dict[str, Any]) -> None:
        """Arm a fault from a control-API body: ``{"action": name, ...}`` where
        ``name`` is one of this object's methods (or ``expired_token_errcode``
        with ``value``)."""
        action = options.get("action")
        kwargs = {k: v for k, v in options.items() if k != "action"}
        if action == "expired_token_errcode":
            self.expired_token_errcode = int(kwargs["value"])
            return
        methods: dict[str, Callable[..., None]] = {
            "errcode": self.errcode,
            "http_status": self.http_status,
            "drop_connection": self.drop_connection,
            "latency": self.latency,
            "expire_tokens": self.expire_tokens,
            "member_limit": self.member_limit,
            "clear": self.clear,
        }
        if action not in methods:
            raise ValueError(
                f"unknown fault action {action!r}; use one of "
                + ", ".join(sorted([*methods, "expired_token_errcode"]))
            )
        methods[action](**kwargs)

    def take(self, path: str, agentid: int | None) -> Action:
        """Consume the faults armed for this call and say what to do."""
        action = Action()
        with self._lock:
            decided = False
            for fault in list(self._faults):
                if not fault.matches(path, agentid):
                    continue
                if fault.kind == "latency":
                    action.delay += fault.seconds
                elif decided:
                    continue
                elif fault.kind == "errcode":
                    action.errcode, action.errmsg = fault.errcode, fault.errmsg
                    decided = True
                elif fault.kind == "http_status":
                    action.status = fault.status
                    decided = True
                elif fault.kind == "drop":
                    action.drop = True
                    decided = True
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
        return action

    def _add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)
