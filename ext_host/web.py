"""The host's web app (Flask): report pages, the mobile home, uploaded
pictures, the console (:mod:`.console`, at ``/console``), extension routes.

Served in production by waitress (:func:`serve`); tests and the demo run
:func:`start_server` in a thread on a free loopback port.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from flask import Flask, abort, redirect, render_template, request, send_file, url_for
from waitress.server import create_server

from . import console, uploads
from .errors import HostError, NotFound
from .sessions import HostSessionInterface, current_user, sign_out

if TYPE_CHECKING:
    from .host import Host

log = logging.getLogger(__name__)


def create_app(host: Host) -> Flask:
    app = Flask(__name__)
    app.secret_key = host.secrets.derive("flask-session")
    # Secure also per request and per session: see ext_host/sessions.py.
    app.session_interface = HostSessionInterface()
    secure = host.config.public_url.startswith("https://")
    app.config.update(
        SESSION_COOKIE_NAME="ext_host_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        PERMANENT_SESSION_LIFETIME=timedelta(seconds=host.config.session_lifetime),
        MAX_CONTENT_LENGTH=32 * 1024 * 1024,
        # A session lasts session_lifetime from sign-in (sessions.current_user
        # checks it), so re-signing the cookie on every page only cost time:
        # about a fifth of a report page.
        SESSION_REFRESH_EACH_REQUEST=False,
    )
    app.extensions["ext_host"] = host

    @app.after_request
    def no_framing(response: Any) -> Any:
        # No page of this host is meant to be shown inside another site's
        # frame: the console's buttons install code and push to everyone.
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    @app.errorhandler(HostError)
    def host_error(exc: HostError) -> Any:
        status = 404 if isinstance(exc, NotFound) else 400
        return render_template(
            "message.html", title="出错了 Error", message=str(exc)
        ), status

    @app.get("/healthz")
    def healthz() -> Any:
        return {"status": "ok", "extensions": len(host.loaded())}

    @app.get("/")
    def index() -> Any:
        return redirect(url_for("mobile_home"))

    @app.get("/vision/mobile")
    def mobile_home() -> Any:
        user = current_user(host)
        if user is None:
            return _sign_in_needed(host)
        reports = host.reports.visible_to(user, mobile_only=True)
        return render_template("mobile.html", user=user, reports=reports)

    @app.get("/vision/reports/<report_id>")
    def report_page(report_id: str) -> Any:
        user = current_user(host)
        if user is None:
            return _sign_in_needed(host)
        try:
            report = host.reports.get(report_id)
        except NotFound:
            return (
                render_template(
                    "message.html",
                    title="报表不存在 Report not found",
                    message="此报表不存在或已被删除。 This report does not exist "
                    "or was removed.",
                ),
                404,
            )
        if not host.reports.can_view(user, report):
            return (
                render_template(
                    "message.html",
                    title="无权访问 No access",
                    message=f"用户 {user.name} 无权查看此报表。"
                    f" User {user.name} may not view this report.",
                ),
                403,
            )
        data = host.reports.run(report, user)
        return render_template("report.html", user=user, data=data)

    @app.get("/vision/logout")
    def logout() -> Any:
        sign_out(host)
        return render_template(
            "message.html",
            title="已退出 Signed out",
            message="您已退出。 You are signed out.",
        )

    @app.get("/uploads/<name>")
    def uploaded(name: str) -> Any:
        """Pictures uploaded in the console, public so WeCom clients can fetch
        them from the card; names are random and unguessable."""
        path = uploads.picture_file(host, name)
        response = send_file(path, max_age=7 * 24 * 3600)
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    console.register(app, host)

    taken = {str(rule) for rule in app.url_map.iter_rules()}
    for ext, route in host.unique("http_routes", lambda r: r.rule, "route", taken):
        endpoint = route.endpoint or f"{ext}.{route.view.__name__}"
        if route.nav:
            zh, _, en = route.nav.partition(" ")
            app.extensions.setdefault("ext_host_nav", []).append((endpoint, zh, en))
        app.add_url_rule(
            route.rule,
            endpoint,
            _while_loaded(host, ext, route.view),
            methods=list(route.methods),
        )
    return app


def _while_loaded(host: Host, ext: str, view: Any) -> Any:
    """``view``, answering 404 once extension ``ext`` is no longer loaded (a
    reload disabled or removed it): Flask cannot drop a route it has served."""

    @functools.wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        record = host.extensions.get(ext)
        if record is None or record.state != "loaded":
            abort(404)
        return view(*args, **kwargs)

    return guarded


def _sign_in_needed(host: Host) -> Any:
    """Send a visitor without a session to an extension's sign-in (WeCom OAuth),
    or show the host's own page."""
    target = request.full_path.rstrip("?")
    for record in host.loaded():
        url = host._guarded(
            record,
            "sign_in_url",
            partial(host._call_one, record, "sign_in_url", target=target),
        )
        if url:
            return redirect(url)
    return (
        render_template(
            "message.html",
            title="请登录 Please sign in",
            message="请从企业微信打开此页面。 Open this page from WeCom to sign in.",
            next=request.full_path,
        ),
        401,
    )


class ServerThread:
    """A waitress server on a background thread; ``url`` is its base URL.

    The thread runs waitress's event loop one poll at a time and closes every
    socket itself when asked to stop, so no socket is closed under a running
    ``select`` (which fails with EBADF).  ``wecom_sandbox/serving.py`` has its
    own copy on purpose: the host and the sandbox share no code, as the host
    and the real WeCom share none.
    """

    def __init__(
        self, app: Flask, host: str = "127.0.0.1", port: int = 0, threads: int = 8
    ):
        self._server: Any = create_server(app, host=host, port=port, threads=threads)
        self.port = self._server.effective_port
        self.url = f"http://{host}:{self.port}"
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"ext-host-web-{self.port}", daemon=True
        )

    def _run(self) -> None:
        server = self._server
        while not self._stopping.is_set():
            try:
                server.asyncore.loop(timeout=0.2, map=server._map, count=1)
            except OSError:  # a socket vanished under select(): stop serving
                break
        # The trigger stays open: stop() may still be pulling it; it is
        # closed there, after this thread has ended.
        for channel in list(server._map.values()):
            if channel is not server.trigger:
                channel.close()
        server.task_dispatcher.shutdown(cancel_pending=True, timeout=5)

    def start(self) -> ServerThread:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        with contextlib.suppress(OSError):  # the loop also wakes by itself
            self._server.pull_trigger()
        self._thread.join(timeout=10)
        self._server.trigger.close()


def start_server(host: Host, port: int = 0) -> ServerThread:
    return ServerThread(create_app(host), host.config.listen_host, port).start()


def serve(host: Host) -> None:
    """Serve in the foreground until interrupted."""
    from waitress import serve as waitress_serve

    app = create_app(host)
    host.serving()
    waitress_serve(
        app,
        host=host.config.listen_host,
        port=host.config.listen_port,
        threads=8,
    )
