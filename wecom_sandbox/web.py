"""The Flask application: API dispatch, the OAuth and web-login pages.

The console and the JSON control API under ``/sandbox/`` are added by
:mod:`wecom_sandbox.control`.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from flask import Flask, Response, make_response, redirect, render_template, request

from . import control, oauth
from .api import ROUTES, Call, authenticate
from .browser import DESKTOP_HEADER, MEMBER_HEADER
from .errors import ApiError, errmsg_for
from .media import fetch

if TYPE_CHECKING:
    from .sandbox import Sandbox

MEMBER_COOKIE = "wecom_sandbox_member"
MEMBER_PARAM = "sandbox_member"
_BAD_JSON = object()


def create_app(sb: Sandbox) -> Flask:
    """A new Flask app serving ``sb``; nothing is shared between apps."""
    app = Flask(__name__)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]

    def error_body(errcode: int, errmsg: str | None = None) -> dict[str, Any]:
        text = errmsg or errmsg_for(errcode)
        if sb.corp.errmsg_hints and errcode != 0:
            hint = f"[{int(sb.clock.now())}-{secrets.token_hex(4)}]"
            text = (
                f"{text}, hint: {hint}, from ip: {request.remote_addr}, more info at "
                f"https://open.work.weixin.qq.com/devtool/query?e={errcode}"
            )
        return {"errcode": errcode, "errmsg": text}

    def as_json(body: dict[str, Any]) -> Response:
        data = json.dumps(body, ensure_ascii=False)
        return Response(data, status=200, mimetype="application/json")

    def intercept(path: str, agentid: int | None) -> Response | None:
        """Apply armed faults to this call; a Response replaces the answer."""
        action = sb.faults.take(path, agentid)
        if action.delay:
            time.sleep(action.delay)
        if action.drop:
            # Promise more bytes than are sent: waitress closes the connection
            # and the client sees an incomplete response.
            response = Response(b'{"errcode":', mimetype="application/json")
            response.headers["Content-Length"] = "4096"
            return response
        if action.status:
            page = f"<html><body><h1>{action.status}</h1></body></html>"
            return Response(page, status=action.status, mimetype="text/html")
        if action.errcode is not None:
            return as_json(error_body(action.errcode, action.errmsg))
        return None

    def record(path: str, body: Any) -> None:
        sb.record(
            {
                "path": path,
                "method": request.method,
                "query": dict(request.args),
                "body": None if body is _BAD_JSON else body,
                "time": sb.clock.now(),
            }
        )

    @app.route("/cgi-bin/<path:name>", methods=["GET", "POST"])
    def cgi(name: str) -> Response:
        path = "/cgi-bin/" + name
        body: Any = None
        if request.mimetype != "multipart/form-data":
            raw = request.get_data()
            if raw.strip():
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = _BAD_JSON
        record(path, body)

        token_hint = sb.tokens.lookup(request.args.get("access_token", ""))
        agentid: Any = token_hint.owner if token_hint else None
        if agentid is None and isinstance(body, dict):
            agentid = body.get("agentid")
        try:
            agentid = int(agentid) if agentid is not None else None
        except (TypeError, ValueError):
            agentid = None
        faulted = intercept(path, agentid)
        if faulted is not None:
            return faulted

        if path == "/cgi-bin/media/get":
            return media_get()
        route = ROUTES.get(path)
        if route is None:
            return Response(f"no such API: {path}\n", status=404, mimetype="text/plain")
        handler, needs_token = route
        call = Call(
            path=path,
            method=request.method,
            args=request.args,
            body=body,
            files=request.files,
            remote_addr=request.remote_addr or "",
            base_url=request.host_url,
        )
        with sb.lock:
            try:
                token = authenticate(sb, request.args) if needs_token else None
                if body is _BAD_JSON:
                    raise ApiError(47001)
                result = handler(sb, token, call)
            except ApiError as exc:
                result = error_body(exc.errcode, exc.errmsg)
        return as_json(result)

    def media_get() -> Response:
        with sb.lock:
            try:
                authenticate(sb, request.args)
                item = fetch(sb, request.args.get("media_id", ""))
            except ApiError as exc:
                return as_json(error_body(exc.errcode, exc.errmsg))
        response = Response(item.data, mimetype=item.content_type)
        response.headers["Content-Disposition"] = (
            f'attachment; filename="{item.filename}"'
        )
        return response

    def identity() -> tuple[str, str]:
        """(raw identity, where it came from) for the member opening a page."""
        if request.headers.get(MEMBER_HEADER):
            return request.headers[MEMBER_HEADER], "header"
        if request.args.get(MEMBER_PARAM):
            return request.args[MEMBER_PARAM], "query"
        if request.cookies.get(MEMBER_COOKIE):
            return request.cookies[MEMBER_COOKIE], "cookie"
        return "", ""

    def page_error(exc: oauth.PageError) -> Response:
        html = render_template(
            "message.html", title="出错了 Error", message=exc.message
        )
        return Response(html, status=exc.status, mimetype="text/html")

    def choices(members_only: bool) -> list[dict[str, str]]:
        args = {k: v for k, v in request.args.items() if k != MEMBER_PARAM}
        links = []
        for member in sb.corp.members.values():
            if member.status == 1:
                query = urlencode({**args, MEMBER_PARAM: member.userid})
                links.append(
                    {"label": f"{member.name} ({member.userid})", "url": f"?{query}"}
                )
        if not members_only:
            for openid, visitor in sb.corp.external.items():
                query = urlencode({**args, MEMBER_PARAM: openid})
                label = f"{visitor['name']} (external visitor, {openid})"
                links.append({"label": label, "url": f"?{query}"})
        return links

    def grant(request_: oauth.Request, members_only: bool) -> Response:
        raw, source = identity()
        if source == "cookie" and members_only:
            raw, source = "", ""
        if not raw:
            if members_only:
                html = render_template(
                    "message.html",
                    title="企业微信登录 Sign in with WeCom",
                    message="Scan the QR code with WeCom. In the sandbox, pick the "
                    "member who scans and confirms:",
                    links=choices(members_only=True),
                    qr=True,
                )
                return Response(html, mimetype="text/html")
            if request.headers.get(DESKTOP_HEADER):
                html = render_template(
                    "message.html",
                    title="请在企业微信客户端打开链接",
                    message="Open this link in the WeCom client.",
                )
                return Response(html, mimetype="text/html")
            html = render_template(
                "message.html",
                title="企业微信 WeCom (sandbox)",
                message="Who is opening this link? The real WeCom client knows; "
                "in the sandbox, pick a member:",
                links=choices(members_only=False),
            )
            return Response(html, mimetype="text/html")

        with sb.lock:
            try:
                who, is_member = oauth.identify(sb, raw, members_only=members_only)
            except oauth.PageError as exc:
                return page_error(exc)
            code = oauth.issue_code(sb, who, is_member, request_)
        response = make_response(
            redirect(oauth.redirect_with_code(request_, code), 302)
        )
        if source == "query" and not members_only:
            response.set_cookie(MEMBER_COOKIE, raw, samesite="Lax")
        return response

    def sign_in_page(check: Any, members_only: bool) -> Response:
        """The OAuth page and the web-login page: the same steps, their own checks."""
        record(request.path, None)
        faulted = intercept(request.path, None)
        if faulted is not None:
            return faulted
        try:
            with sb.lock:
                checked = check(sb, request.args)
        except oauth.PageError as exc:
            return page_error(exc)
        return grant(checked, members_only=members_only)

    @app.get("/connect/oauth2/authorize")
    def authorize() -> Response:
        return sign_in_page(oauth.check_authorize, members_only=False)

    @app.get("/wwlogin/sso/login")
    @app.get("/wwopen/sso/qrConnect")
    def web_login() -> Response:
        return sign_in_page(oauth.check_login, members_only=True)

    control.register(app, sb)
    return app
