"""The sandbox's own pages and JSON control API, under ``/sandbox/``.

The console shows the corp (with the sandbox secrets, so a person can paste
them into the product's settings) and every member's inbox. The JSON API lets
another process do what tests do through the Python API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from flask import (
    Flask,
    Response,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
)

from .faults import normalize_path

if TYPE_CHECKING:
    from .sandbox import Sandbox

MEMBER_COOKIE = "wecom_sandbox_member"


def register(app: Flask, sb: Sandbox) -> None:
    """Add the ``/sandbox/`` routes for ``sb`` to ``app``."""

    def bad(message: str, status: int = 400) -> Response:
        response = jsonify({"ok": False, "error": message})
        response.status_code = status
        return response

    @app.get("/")
    def root() -> Any:
        return redirect("/sandbox/")

    @app.get("/sandbox/")
    def console() -> str:
        with sb.lock:
            members = [
                {"member": m, "inbox": sb.inbox(m.userid)}
                for m in sb.corp.members.values()
            ]
            return render_template(
                "console.html",
                corp=sb.corp,
                apps=list(sb.corp.apps.values()),
                members=members,
                seed_path=sb.seed_path,
            )

    @app.get("/sandbox/open")
    def open_as() -> Any:
        member = request.args.get("member", "")
        url = request.args.get("url", "") or "/sandbox/"
        if urlsplit(url).scheme not in ("http", "https", ""):
            return bad("url must be http or https")
        response = make_response(redirect(url, 302))
        if member:
            response.set_cookie(MEMBER_COOKIE, member, samesite="Lax")
        else:
            response.delete_cookie(MEMBER_COOKIE)
        return response

    @app.get("/sandbox/img/<image_id>")
    def image(image_id: str) -> Any:
        with sb.lock:
            item = sb.media.images.get(image_id)
        if item is None:
            return Response("no such image\n", status=404, mimetype="text/plain")
        return Response(item.data, mimetype=item.content_type)

    @app.get("/sandbox/api/corp")
    def corp() -> Any:
        with sb.lock:
            return jsonify(
                {
                    "corpid": sb.corp.corpid,
                    "name": sb.corp.name,
                    "contacts_secret": sb.corp.contacts_secret,
                    "apps": [a.as_dict() for a in sb.corp.apps.values()],
                    "members": [
                        {"userid": m.userid, "name": m.name, "status": m.status}
                        for m in sb.corp.members.values()
                    ],
                }
            )

    @app.get("/sandbox/api/inbox/<userid>")
    def inbox(userid: str) -> Any:
        if sb.corp.member(userid) is None:
            return bad(f"{userid!r} is not a member", 404)
        return jsonify(
            {
                "userid": userid.lower(),
                "messages": sb.inbox(userid),
                "dropped": sb.dropped(userid),
            }
        )

    @app.get("/sandbox/api/calls")
    def calls() -> Any:
        wanted = request.args.get("path")
        found = sb.calls
        if wanted:
            path = normalize_path(wanted)
            found = [c for c in found if c["path"] == path]
        return jsonify({"count": len(found), "calls": found})

    @app.route("/sandbox/api/faults", methods=["GET", "POST"])
    def faults() -> Any:
        if request.method == "POST":
            options = request.get_json(silent=True)
            if not isinstance(options, dict):
                return bad('send a JSON object such as {"action": "clear"}')
            try:
                sb.faults.apply(options)
            except (TypeError, ValueError, KeyError) as exc:
                return bad(str(exc))
        return jsonify(
            {
                "ok": True,
                "faults": sb.faults.pending(),
                "expired_token_errcode": sb.faults.expired_token_errcode,
                "member_limit": {
                    "per_minute": sb.faults.per_minute,
                    "per_hour": sb.faults.per_hour,
                },
            }
        )

    @app.route("/sandbox/api/clock", methods=["GET", "POST"])
    def clock() -> Any:
        if request.method == "POST":
            options = request.get_json(silent=True) or {}
            try:
                sb.clock.advance(float(options.get("advance", 0)))
            except (TypeError, ValueError):
                return bad('send {"advance": seconds}')
        return jsonify({"ok": True, "now": sb.clock.now(), "offset": sb.clock.offset})

    @app.post("/sandbox/api/apps/<int:agentid>")
    def update_app(agentid: int) -> Any:
        if agentid not in sb.corp.apps:
            return bad(f"no app with agentid {agentid}", 404)
        options = request.get_json(silent=True) or {}
        if "trusted_domain" in options:
            sb.set_trusted_domain(agentid, str(options["trusted_domain"]))
        return jsonify({"ok": True, "app": sb.app(agentid).as_dict()})

    @app.post("/sandbox/api/reset")
    def reset() -> Any:
        sb.reset()
        return jsonify({"ok": True})
