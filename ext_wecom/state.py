"""The signed OAuth ``state``: proof that this host built the link a member
tapped, for this target and this app.

The target (a report, or the mobile home) and the app's agentid ride in the
redirect URI's query; the state is an HMAC over both, keyed with a key derived
from the host's secret box.  A link whose report, app or state was changed, or
a state signed by another host, does not verify.  WeCom allows 1-128 bytes of
``[A-Za-z0-9]``: a state is ``s1`` and the base32 of a 15-byte MAC, 26
characters in all, whatever the report's id.

States carry no expiry on purpose: a pushed card and the app home link are
tapped days or months after they were made.  The code WeCom adds is what is
single-use and short-lived.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

PREFIX = "s1"
KEY_PURPOSE = "wecom-oauth-state"
_MAC_BYTES = 15  # base32 of 15 bytes is 24 characters, without padding


def _mac(host: Any, report: str | None, agentid: int | None) -> str:
    key = host.secrets.derive(KEY_PURPOSE)
    message = f"report={report or ''}\nagentid={agentid or ''}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()[:_MAC_BYTES]
    return PREFIX + base64.b32encode(digest).decode("ascii")


def sign(host: Any, report: str | None, agentid: int | None) -> str:
    """The state for a link to ``report`` (None: the mobile home) via ``agentid``."""
    return _mac(host, report, agentid)


def verify(host: Any, state: str, report: str | None, agentid: int | None) -> bool:
    """Whether ``state`` is this host's signature of ``report`` and ``agentid``."""
    if not state or len(state) > 128 or not state.isascii():
        return False
    return hmac.compare_digest(state, _mac(host, report, agentid))
