"""The extension's clock, and the few test-only switches read from the
environment.

The host runs on ``time.time()``.  Tests that move the sandbox's clock move
this one too with ``EXT_WECOM_CLOCK_OFFSET`` (seconds added to real time), so
token lifetimes, per-member windows and deferrals line up with the sandbox's.
The variables below are for tests only; operators never set them.
"""

from __future__ import annotations

import os
import time

from ext_host.api import HostError

#: Test-only: seconds added to ``time.time()``.
OFFSET_ENV = "EXT_WECOM_CLOCK_OFFSET"
#: Test-only: the first back-off wait of a retried send, in seconds.
RETRY_WAIT_ENV = "EXT_WECOM_RETRY_WAIT"
#: Test-only: the per-member limits as ``PER_MINUTE,PER_HOUR``.
MEMBER_LIMITS_ENV = "EXT_WECOM_MEMBER_LIMITS"


def _number(name: str) -> float | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise HostError(f"{name}={raw!r} is not a number; unset it") from None


def now() -> float:
    """Seconds since the epoch as the extension sees them."""
    return time.time() + (_number(OFFSET_ENV) or 0.0)


def retry_wait(default: float) -> float:
    value = _number(RETRY_WAIT_ENV)
    return default if value is None else value


def member_limits(default: tuple[int, int]) -> tuple[int, int]:
    raw = os.environ.get(MEMBER_LIMITS_ENV, "").strip()
    if not raw:
        return default
    try:
        minute, hour = (int(part) for part in raw.split(","))
    except ValueError:
        raise HostError(
            f"{MEMBER_LIMITS_ENV}={raw!r}: expected PER_MINUTE,PER_HOUR; unset it"
        ) from None
    return minute, hour
