"""The sandbox clock: real time plus an offset that tests can move forward."""

from __future__ import annotations

import datetime as dt
import threading
import time

#: WeCom counts "natural days" (daily quotas, day-long blocks) in China time.
CHINA = dt.timezone(dt.timedelta(hours=8))


class Clock:
    """Every lifetime and rate window in the sandbox reads this clock.

    ``advance(7201)`` makes a token issued now expire, without waiting.
    """

    def __init__(self, offset: float = 0.0) -> None:
        self._offset = float(offset)
        self._lock = threading.Lock()

    def now(self) -> float:
        """Seconds since the epoch, as the sandbox sees them."""
        with self._lock:
            return time.time() + self._offset

    def advance(self, seconds: float) -> float:
        """Move the clock forward (or back, with a negative number); return now."""
        with self._lock:
            self._offset += float(seconds)
        return self.now()

    @property
    def offset(self) -> float:
        with self._lock:
            return self._offset

    def day(self, when: float | None = None) -> dt.date:
        """The China-time calendar day of ``when`` (default: now)."""
        ts = self.now() if when is None else when
        return dt.datetime.fromtimestamp(ts, CHINA).date()

    def end_of_day(self, when: float | None = None) -> float:
        """The timestamp at which the day containing ``when`` ends."""
        day = self.day(when)
        midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), CHINA)
        return midnight.timestamp()
