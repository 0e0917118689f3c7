"""A WeCom API client on requests, with the access token cached in the host's
store so every process of the host shares one token per app secret.

The cache key is the CorpID and a SHA-256 of the secret, never the secret.
A token is refreshed :data:`TOKEN_MARGIN` seconds before WeCom's expiry by one
caller at a time: the refresh runs inside a store write transaction
(``BEGIN IMMEDIATE``), which other threads and processes wait for, and they
then read the token it stored.  On 40014 or 42001 the token is dropped,
fetched once more, and the call is retried once.  Errors never carry the
secret, the token or the request URL.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import Any

import requests

from ext_host.api import HostError

from . import clock

log = logging.getLogger(__name__)

TOKEN_NS = "wecom.token"  # noqa: S105 - a cache namespace, not a secret
#: Refresh this many seconds before WeCom's stated expiry.
TOKEN_MARGIN = 300
STALE_TOKEN = {40014, 42001}

HINTS = {
    -1: "WeCom is busy; try again in a moment",
    40001: "the secret is wrong or was reset; copy it again from the app's page",
    40013: "the CorpID is wrong; copy it from 我的企业 > 企业ID",
    40014: "the access token is invalid",
    40031: "a member id in the list is malformed",
    40032: "more than 1000 members in one call",
    40029: "the sign-in code was already used or has expired",
    40056: "the agentid does not belong to this app",
    41001: "no access token was sent",
    40091: "the secret belongs to another corp; copy the app's secret again",
    42001: "the access token expired",
    42052: "WeCom recalls messages only within 24 hours of sending",
    45009: "WeCom's rate limit (or the app's daily message quota) was hit; wait "
    "and retry",
    45031: "WeCom considers the secret unsafe; reset it on the app's page and "
    "save the new one",
    45033: "too many concurrent calls to WeCom; wait and retry",
    48002: "this secret may not call this API (use an app secret, not the contacts one)",
    50001: "the server address's host is not the app's trusted domain",
    50003: "the app is disabled; enable it in WeCom's admin console (应用管理)",
    60011: "the app may not see this member, department or tag",
    60020: "this server's IP is not in the app's trusted IPs (企业可信IP); add it "
    "on the app's page and wait a minute",
    60111: "no such member, or outside the app's visible range",
    81013: "no recipient is valid or visible to the app",
    82001: "no recipient was given",
    82002: "more than 100 departments in one call",
    82003: "more than 100 tags in one call",
    301002: "the token belongs to another app",
}


class WeComError(HostError):
    """WeCom answered with a non-zero errcode (or could not be reached)."""

    def __init__(self, errcode: int, errmsg: str, path: str):
        self.errcode = errcode
        self.errmsg = errmsg.split(", hint:")[0]
        self.path = path
        hint = HINTS.get(errcode, "")
        text = f"WeCom {path} failed: errcode {errcode} ({self.errmsg})"
        super().__init__(f"{text}; {hint}" if hint else text)


class WeComUnreachable(HostError):
    """No usable HTTP answer from WeCom.

    ``retryable`` is true for what can pass by itself: timeouts, reset or
    dropped connections and HTTP 5xx.
    """

    def __init__(self, message: str, retryable: bool = False):
        super().__init__(message)
        self.retryable = retryable


def secret_key(corpid: str, secret: str) -> str:
    return f"{corpid}:{hashlib.sha256(secret.encode()).hexdigest()[:24]}"


class WeComClient:
    """Calls WeCom with one app's (or the contacts) secret."""

    def __init__(
        self,
        store: Any,
        api_base: str,
        corpid: str,
        secret: str,
        session: requests.Session | None = None,
        timeout: float = 10.0,
        now: Callable[[], float] = clock.now,
    ):
        self.store = store
        self.api_base = api_base.rstrip("/")
        self.corpid = corpid
        self._secret = secret
        self.session = session or requests.Session()
        self.timeout = timeout
        self.now = now
        self.cache_key = secret_key(corpid, secret)

    def __repr__(self) -> str:
        return f"WeComClient({self.api_base!r}, corpid={self.corpid!r})"

    # -- transport -----------------------------------------------------------

    def _http(
        self, method: str, path: str, params: dict[str, Any], body: Any = None
    ) -> dict[str, Any]:
        url = f"{self.api_base}/cgi-bin/{path}"
        try:
            resp = self.session.request(
                method, url, params=params, json=body, timeout=self.timeout
            )
        except requests.RequestException as exc:
            transient = isinstance(
                exc,
                requests.ConnectionError
                | requests.Timeout
                | requests.exceptions.ChunkedEncodingError,
            )
            raise WeComUnreachable(
                f"cannot reach WeCom at {self.api_base} ({type(exc).__name__}); check "
                "the WeCom API address and this server's network",
                retryable=transient,
            ) from None
        if resp.status_code >= 500:
            raise WeComUnreachable(
                f"WeCom {path} answered HTTP {resp.status_code}; try again later",
                retryable=True,
            )
        try:
            data = resp.json()
        except ValueError:
            raise WeComUnreachable(
                f"WeCom {path} answered HTTP {resp.status_code} without JSON; check "
                "the WeCom API address"
            ) from None
        if not isinstance(data, dict):
            raise WeComUnreachable(f"WeCom {path} answered with unexpected JSON")
        return data

    # -- token ---------------------------------------------------------------

    def token(self, force: bool = False) -> str:
        """The cached access token; fetched (by one caller at a time) when
        missing or within :data:`TOKEN_MARGIN` seconds of its expiry, or
        always with ``force`` (which checks that the secret still works)."""
        cached = self.store.kv_get(TOKEN_NS, self.cache_key, now=self.now())
        if cached and not force:
            return str(cached)
        return self.refresh(stale=str(cached) if cached else None)

    def refresh(self, stale: str | None = None) -> str:
        """Fetch a token unless another caller just did.

        The whole check-fetch-store runs in one store write transaction, so
        concurrent callers (threads or processes) queue behind the one that
        fetches and then find its token.  ``stale`` is a token WeCom refused:
        it is replaced even if it has not expired yet.
        """
        with self.store.transaction():
            cached = self.store.kv_get(TOKEN_NS, self.cache_key, now=self.now())
            if cached and cached != stale:
                return str(cached)
            data = self._http(
                "GET", "gettoken", {"corpid": self.corpid, "corpsecret": self._secret}
            )
            errcode = int(data.get("errcode", 0) or 0)
            if errcode:
                raise WeComError(errcode, str(data.get("errmsg", "")), "gettoken")
            token = str(data["access_token"])
            lifetime = int(data.get("expires_in") or 7200)
            expires = self.now() + max(lifetime - TOKEN_MARGIN, lifetime // 2)
            self.store.kv_set(TOKEN_NS, self.cache_key, token, expires_at=expires)
        log.info("wecom token fetched for %s (valid %d s)", self.corpid, lifetime)
        return token

    # -- calls ---------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        body: Any = None,
        raise_errors: bool = True,
    ) -> dict[str, Any]:
        """Call ``/cgi-bin/<path>``; returns the JSON body.

        With ``raise_errors`` (the default) a non-zero errcode raises
        :class:`WeComError`; otherwise the body is returned as it came.
        """
        token = self.token()
        for attempt in (1, 2):
            query = dict(params or {})
            query["access_token"] = token
            data = self._http(method, path, query, body)
            errcode = int(data.get("errcode", 0) or 0)
            if errcode in STALE_TOKEN and attempt == 1:
                log.info(
                    "wecom %s: token stale (errcode %d), fetching again", path, errcode
                )
                token = self.refresh(stale=token)
                continue
            if errcode and raise_errors:
                raise WeComError(errcode, str(data.get("errmsg", "")), path)
            return data
        raise AssertionError("unreachable")

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        return self.call("GET", path, params)

    def post(self, path: str, body: Any, raise_errors: bool = True) -> dict[str, Any]:
        return self.call("POST", path, None, body, raise_errors=raise_errors)
