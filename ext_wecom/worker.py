"""The delivery worker: while ``ext-host serve`` runs, it sends what is left of
unfinished pushes, those a crashed process left behind and those deferred to
keep members under WeCom's per-member limit, when they fall due."""

from __future__ import annotations

import logging
import threading
from typing import Any

from ext_host.api import HostError

from . import clock, outbox, push

log = logging.getLogger(__name__)

#: Longest sleep between two looks at the outbox, in seconds.
IDLE_SECONDS = 60.0


class DeliveryWorker:
    def __init__(self, host: Any):
        self.host = host
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="wecom-delivery", daemon=True
        )

    def start(self) -> DeliveryWorker:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def run_once(self) -> int:
        """Send what is due now; returns how many pushes were worked on."""
        if not outbox.unfinished(self.host):
            return 0
        results = push.resume(self.host)
        for result in results:
            log.info("delivery worker: %s", result.summary())
        return len(results)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except HostError as exc:
                log.warning("delivery worker: %s", exc)
            except Exception:  # the worker must outlive one bad push
                log.exception("delivery worker failed; trying again later")
            due = outbox.next_due(self.host)
            wait = IDLE_SECONDS if due is None else due - clock.now() + 0.5
            self._stop.wait(min(max(wait, 1.0), IDLE_SECONDS))
        self.host.store.close()
