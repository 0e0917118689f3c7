"""The signed OAuth ``state``: proof that this host built the link a member
tapped, for this target and this app.

The target (a report, or the mobile home) and the app's agentid ride in the
redirect URI's query; the state is an HMAC over both, keyed with a key derived
from the host's secret box.  A link whose report, app or state was changed, or
a state signed by another host, does not verify.  WeCom allows 1-128 bytes of
``[A-Za-z0-9]``: a state is ``s1``, the base32 of a 15-byte MAC (24
characters) whatever the report's id, and an optional tag such as ``push12``.

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
_SIGNED = len(PREFIX) + 24
#: Room left for a tag within WeCom's 128 bytes.
MAX_TAG = 128 - _SIGNED


def _mac(host: Any, report: str | None, agentid: int | None, tag: str) -> str:
    key = host.secrets.derive(KEY_PURPOSE)
    message = f"report={report or ''}\nagentid={agentid or ''}\ntag={tag}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()[:_MAC_BYTES]
    return base64.b32encode(digest).decode("ascii")


def sign(host: Any, report: str | None, agentid: int | None, tag: str = "") -> str:
    """The state for a link to ``report`` (None: the mobile home) via
    ``agentid``.  ``tag`` (letters and digits, such as ``push12``) rides at the
    end, signed too: it makes each push's card differ from the last one's."""
    if tag and not (tag.isascii() and tag.isalnum() and len(tag) <= MAX_TAG):
        raise ValueError(f"state tag must be 1-{MAX_TAG} letters or digits")
    return PREFIX + _mac(host, report, agentid, tag) + tag


def verify(host: Any, state: str, report: str | None, agentid: int | None) -> bool:
    """Whether ``state`` is this host's signature of ``report`` and ``agentid``."""
    if not state or len(state) > 128 or not state.isascii():
        return False
    if not state.startswith(PREFIX) or len(state) < _SIGNED:
        return False
    tag = tag_of(state)
    if tag and not tag.isalnum():
        return False
    return hmac.compare_digest(state, sign(host, report, agentid, tag))


def tag_of(state: str) -> str:
    """The tag a state carries (``""`` when none); check it with :func:`verify`."""
    return state[_SIGNED:]
