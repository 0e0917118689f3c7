"""The :class:`Sandbox`: one corp, its state, and the HTTP server around it."""

from __future__ import annotations

import copy
import logging
import threading
from pathlib import Path
from typing import Any

import requests
import waitress
import yaml

from .browser import follow as _follow
from .clock import Clock
from .corp import App, Corp
from .faults import Faults, normalize_path
from .media import MediaStore
from .messages import MessageStore
from .oauth import OAuthStore
from .tokens import TokenStore

logger = logging.getLogger(__name__)


class Sandbox:
    """A local stand-in for one WeCom corp.

    Everything lives on the instance, so several sandboxes can run side by side
    in one process::

        with Sandbox.from_yaml("config/sandbox-corp.yaml") as sb:
            requests.get(sb.url + "/cgi-bin/gettoken", params=...)
    """

    def __init__(self, corp: dict[str, Any] | Corp, *, seed_path: str | None = None):
        self.corp = corp if isinstance(corp, Corp) else Corp(corp)
        #: Where the seed came from (for the console and the CLI), if a file.
        self.seed_path = seed_path
        #: The clock every lifetime and window reads; ``clock.advance(s)``.
        self.clock = Clock()
        #: One lock guards all state below; handlers hold it while they run.
        self.lock = threading.RLock()
        self.tokens = TokenStore()
        self.faults = Faults(self._expire_tokens)
        self.messages = MessageStore()
        self.oauth = OAuthStore()
        self.media = MediaStore()
        self.secret_failures: dict[str, list[float]] = {}
        self.secret_blocks: dict[str, float] = {}
        self.getuserid_misses: dict[Any, int] = {}
        self._calls: list[dict[str, Any]] = []
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.url: str | None = None

        from .web import create_app

        #: The WSGI application (a Flask app), usable without :meth:`start`.
        self.wsgi_app = create_app(self)

    @classmethod
    def from_yaml(cls, path: str | Path) -> Sandbox:
        """A sandbox seeded from a YAML file (format in ``docs/sandbox.md``)."""
        with open(path, encoding="utf-8") as handle:
            seed = yaml.safe_load(handle)
        return cls(seed, seed_path=str(path))

    # -- server -----------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0, threads: int = 8) -> str:
        """Serve in a daemon thread; return the base URL (``http://host:port``)."""
        if self._server is not None:
            raise RuntimeError(f"sandbox already running at {self.url}")
        server = waitress.create_server(
            self.wsgi_app, host=host, port=port, threads=threads, ident="wecom-sandbox"
        )
        self._server = server
        self.url = f"http://{host}:{server.effective_port}"
        self._stopping = threading.Event()
        # Held while stop() sets the flag and pulls the trigger, so the loop
        # cannot close the trigger in between.
        self._stop_lock = threading.Lock()
        self._thread = threading.Thread(
            target=self._serve,
            args=(server, self._stopping, self._stop_lock),
            name=f"wecom-sandbox-{server.effective_port}",
            daemon=True,
        )
        self._thread.start()
        logger.info("sandbox for corp %s serving at %s", self.corp.corpid, self.url)
        return self.url

    def stop(self) -> None:
        """Stop the server and wait for its thread."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._server = self._thread = None
        with self._stop_lock:
            self._stopping.set()
            server.pull_trigger()
        if thread is not None:
            thread.join(timeout=10)
        server.trigger.close()
        logger.info("sandbox at %s stopped", self.url)

    @staticmethod
    def _serve(server: Any, stopping: threading.Event, lock: threading.Lock) -> None:
        # One poll at a time, and every socket closed here, in the loop's own
        # thread: closing them from another thread races the running select().
        while not stopping.is_set():
            server.asyncore.loop(timeout=0.5, map=server._map, count=1)
        with lock:
            for channel in list(server._map.values()):
                channel.close()
        server.task_dispatcher.shutdown(cancel_pending=True, timeout=5)

    def __enter__(self) -> Sandbox:
        if self._server is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- corp ---------------------------------------------------------------

    @property
    def corpid(self) -> str:
        return self.corp.corpid

    def app(self, agentid: int) -> App:
        """The app with this agentid (``.secret``, ``.name``, ``.trusted_domain``…)."""
        try:
            return self.corp.apps[int(agentid)]
        except KeyError:
            raise KeyError(
                f"no app with agentid {agentid} in the sandbox corp; "
                f"apps: {sorted(self.corp.apps)}"
            ) from None

    def set_trusted_domain(self, agentid: int, domain: str) -> None:
        """Set an app's trusted domain (``host[:port]``, matched exactly)."""
        with self.lock:
            self.app(agentid).trusted_domain = domain

    # -- what happened --------------------------------------------------------

    def inbox(self, userid: str) -> list[dict[str, Any]]:
        """Messages a member received (not recalled), oldest first."""
        with self.lock:
            sent = self.messages.inbox.get(userid.lower(), [])
            return [s.view() for s in sent if not s.recalled]

    def dropped(self, userid: str) -> list[dict[str, Any]]:
        """Deliveries to a member dropped by the per-member rate limit, each with
        ``"reason"`` ``per_minute`` or ``per_hour``."""
        with self.lock:
            out = []
            for sent, reason in self.messages.dropped.get(userid.lower(), []):
                view = sent.view()
                view["reason"] = reason
                out.append(view)
            return out

    @property
    def calls(self) -> list[dict[str, Any]]:
        """Every call received (``/cgi-bin/``, OAuth and login pages), in order."""
        with self.lock:
            return copy.deepcopy(self._calls)

    def call_count(self, path: str) -> int:
        """How many calls hit ``path`` (``"/cgi-bin/gettoken"`` or ``"gettoken"``)."""
        wanted = normalize_path(path)
        with self.lock:
            return sum(1 for c in self._calls if c["path"] == wanted)

    def record(self, call: dict[str, Any]) -> None:
        with self.lock:
            self._calls.append(call)

    def reset(self) -> None:
        """Forget inboxes, calls, faults, codes and rate state; keep tokens."""
        with self.lock:
            self.messages = MessageStore()
            self._calls.clear()
            self.faults.clear()
            self.secret_failures.clear()
            self.secret_blocks.clear()
            self.getuserid_misses.clear()

    def follow(
        self,
        url: str,
        as_member: str | None = None,
        inside_wecom: bool = True,
        session: requests.Session | None = None,
        max_hops: int = 20,
    ) -> requests.Response:
        """Open ``url`` as ``as_member``'s browser would; see :func:`browser.follow`."""
        if self.url is None:
            raise RuntimeError("start the sandbox before following links")
        return _follow(
            self.url,
            url,
            as_member=as_member,
            inside_wecom=inside_wecom,
            session=session,
            max_hops=max_hops,
        )

    def _expire_tokens(self) -> None:
        with self.lock:
            self.tokens.expire_all(self.clock.now())
