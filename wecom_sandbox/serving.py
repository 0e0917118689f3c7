"""Serving a WSGI app with waitress on a background thread, stoppable.

The thread runs waitress's event loop one poll at a time and closes every
socket itself when told to stop: closing a socket from another thread while
``select()`` waits on it fails at random with EBADF.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import waitress


class BackgroundServer:
    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, **kw: Any):
        self.server: Any = waitress.create_server(app, host=host, port=port, **kw)
        self.port: int = self.server.effective_port
        self.url = f"http://{host}:{self.port}"
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._serve, name=f"waitress-{self.port}", daemon=True
        )

    def start(self) -> BackgroundServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        with contextlib.suppress(OSError):  # the loop also wakes by itself
            self.server.pull_trigger()
        self._thread.join(timeout=10)
        # Closed only now: stop() pulls it while the loop may be ending.
        self.server.trigger.close()

    def _serve(self) -> None:
        server = self.server
        while not self._stopping.is_set():
            try:
                server.asyncore.loop(timeout=0.2, map=server._map, count=1)
            except OSError:  # a socket vanished under select(): stop serving
                break
        for channel in list(server._map.values()):
            if channel is not server.trigger:
                channel.close()
        server.task_dispatcher.shutdown(cancel_pending=True, timeout=5)
