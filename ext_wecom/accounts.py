"""WeCom's rules for a member account (userid), used for the *WeChat account*
(微信账号) user field.

WeCom allows 1-64 bytes of letters, digits and ``_ - @ .``, starting with a
letter or digit, and compares accounts without regard to case.
"""

from __future__ import annotations

import re

FIELD_KEY = "wecom.account"
_ALLOWED = re.compile(r"^[A-Za-z0-9_\-@.]+$")


def check_account(value: str) -> str | None:
    """The rule ``value`` breaks, as a message, or None if it is valid."""
    size = len(value.encode("utf-8"))
    if size == 0 or size > 64:
        return f"must be 1-64 bytes long (this one is {size})"
    if not _ALLOWED.match(value):
        bad = next(ch for ch in value if not _ALLOWED.match(ch))
        return f"{bad!r} is not allowed; use letters, digits and _ - @ ."
    if not value[0].isalnum():
        return "must start with a letter or digit"
    return None


def normalize_account(value: str) -> str:
    return value.strip().lower()
