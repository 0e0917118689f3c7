"""The administrators' web console, mounted at ``/console``.

Every screen is rendered from what the host holds and what extensions
contribute: the config page (extension folder, upload, the extensions and
their state), *System options* (one tab per panel, rendered from its JSON
Schema and hints), *Users* (with the user fields extensions add), and
*Resources* (the report tree, whose context menu lists the menu items and
opens their dialogs).  The views only translate HTTP to the services
(``host.options``, ``host.users``, ``host.menus``, :mod:`.install`,
:mod:`.uploads`); no rule lives here.

Only enabled host users with ``is_admin`` may sign in.  Every POST carries a
CSRF token (Flask-WTF); the JSON endpoints read it from the ``X-CSRFToken``
header.  Secret option values never leave the server: forms show only
whether a secret is set, and action results are scrubbed of them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf.csrf import CSRFError, CSRFProtect

from . import install, uploads
from .errors import HostError, NotFound, ValidationError
from .options import MASK
from .sessions import current_admin, sign_in, sign_out

if TYPE_CHECKING:
    from .api import Panel
    from .host import Host
    from .users import User

log = logging.getLogger(__name__)

bp = Blueprint("console", __name__, url_prefix="/console")

#: The console's screens: endpoint, Chinese label, English label.
NAV = (
    ("console.config", "配置", "Config"),
    ("console.options", "系统选项", "System options"),
    ("console.users", "用户管理", "Users"),
    ("console.resources", "资源", "Resources"),
)


def register(app: Flask, host: Host) -> None:
    """Mount the console on ``app``, with CSRF checks on its POSTs only (the
    portal and extension routes keep their own rules)."""
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # as long as the session
    csrf = CSRFProtect(app)
    app.extensions["ext_host_csrf"] = csrf
    app.register_blueprint(bp)

    @app.errorhandler(CSRFError)
    def csrf_refused(exc: CSRFError) -> Any:
        message = (
            "表单已过期或来自其他网站 The form expired or came from another site "
            f"({exc.description}); reload the page and try again"
        )
        if _wants_json():
            return jsonify(ok=False, error=message), 400
        return render_template(
            "message.html", title="请求被拒绝 Request refused", message=message
        ), 400


def _host() -> Host:
    host: Host = current_app.extensions["ext_host"]
    return host


def _wants_json() -> bool:
    return request.is_json or request.accept_mimetypes.best == "application/json"


def _admin() -> User | None:
    return current_admin(_host())


@bp.before_request
def _guard() -> Any:
    if request.method == "POST":
        current_app.extensions["ext_host_csrf"].protect()
    if request.endpoint == "console.login":
        return None
    if _admin() is None:
        if _wants_json():
            return jsonify(ok=False, error="sign in to the console first"), 401
        return redirect(url_for("console.login", next=request.full_path.rstrip("?")))
    return None


@bp.context_processor
def _globals() -> dict[str, Any]:
    endpoint = request.endpoint or ""
    section = {
        "console.panel": "console.options",
        "console.user_new": "console.users",
        "console.user_edit": "console.users",
    }.get(endpoint, endpoint)
    return {"nav": navigation(), "admin": _admin(), "section": section}


def navigation() -> tuple[tuple[str, str, str], ...]:
    """The console's own pages, then those extensions add (``Route.nav``)."""
    return NAV + tuple(current_app.extensions.get("ext_host_nav", ()))


def layout_context() -> dict[str, Any]:
    """What ``console/base.html`` needs, for pages outside this blueprint."""
    return {"nav": navigation(), "admin": _admin(), "section": request.endpoint}


def _json_action(view: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a view's refusals into JSON: 400 with ``error`` and ``fields``."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except ValidationError as exc:
            return jsonify(ok=False, error=str(exc), fields=exc.fields), 400
        except NotFound as exc:
            return jsonify(ok=False, error=str(exc)), 404
        except HostError as exc:
            return jsonify(ok=False, error=str(exc)), 400

    return wrapper


# -- sign-in -------------------------------------------------------------------


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/console") and not target.startswith("//"):
        return target
    return url_for("console.config")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    host = _host()
    error = ""
    name = ""
    if request.method == "POST":
        name = request.form.get("name", "").strip()
        user = host.users.verify_password(name, request.form.get("password", ""))
        if user is not None and user.is_admin:
            sign_in(host, user.name, console=True)
            log.info("console: %s signed in", user.name)
            return redirect(_safe_next(request.args.get("next")))
        # Limitation: failed sign-ins are logged, not throttled; a per-name and
        # per-address back-off in the store would slow password guessing.
        log.warning("console: refused sign-in for %r", name)
        error = (
            "用户名或密码错误，或不是管理员 Wrong name or password, or not an "
            "administrator"
        )
    has_admin = any(u.is_admin and u.enabled for u in host.users.all())
    status = 401 if error else 200
    return render_template(
        "console/login.html", error=error, name=name, has_admin=has_admin
    ), status


@bp.post("/logout")
def logout() -> Any:
    sign_out(_host())
    return redirect(url_for("console.login"))


@bp.get("/")
def home() -> Any:
    return redirect(url_for("console.config"))


# -- config page -----------------------------------------------------------------


@bp.get("/config")
def config() -> Any:
    host = _host()
    records = []
    for record in host.extensions.values():
        enabled = host.is_enabled(record.name)
        records.append(
            {
                **record.as_dict(),
                "description": record.description,
                "enabled": enabled,
                "removable": record.source.endswith(".ext"),
            }
        )
    return render_template(
        "console/config.html",
        folder=host.config.extensions_dir,
        records=records,
        conflicts=host.conflicts,
    )


@bp.post("/extensions/upload")
def upload_extension() -> Any:
    host = _host()
    archive = request.files.get("archive")
    if archive is None or not archive.filename:
        flash("请选择扩展包文件 Choose an .ext file first", "error")
        return redirect(url_for("console.config"))
    try:
        result = install.install_archive(
            host.config, archive.read(), archive.filename, host=host
        )
    except HostError as exc:
        flash(f"上传失败 Upload refused: {exc}", "error")
        return redirect(url_for("console.config"), 303)
    log.info("console: %s", result.message)
    flash(result.message, "ok")
    return redirect(url_for("console.config"), 303)


@bp.post("/extensions/<name>/<verb>")
def extension_state(name: str, verb: str) -> Any:
    host = _host()
    try:
        if verb in ("enable", "disable"):
            message = install.set_enabled(host, name, verb == "enable", reload=True)
        elif verb == "remove":
            purge = request.form.get("purge") == "1"
            message = install.remove_extension(host, name, purge, reload=True)
        else:
            raise NotFound(f"no extension action {verb!r}")
    except HostError as exc:
        flash(str(exc), "error")
    else:
        flash(message, "ok")
    return redirect(url_for("console.config"), 303)


# -- system options ------------------------------------------------------------------


def _fields(panel: Panel) -> list[dict[str, Any]]:
    fields = []
    for key, prop in panel.schema.get("properties", {}).items():
        fields.append(
            {
                "key": key,
                "title": prop.get("title", key),
                "description": prop.get("description", ""),
                "type": prop.get("type", "string"),
                "enum": prop.get("enum"),
                "secret": key in panel.secret_fields,
                "autodetect": prop.get("x-autodetect", ""),
                "multiline": bool(prop.get("x-multiline")),
                "actions": list(prop.get("x-actions", [])),
            }
        )
    return fields


@bp.get("/options")
def options() -> Any:
    panels = _host().options.panels()
    if not panels:
        return render_template("console/options.html", panels=[], current=None)
    return redirect(url_for("console.panel", name=panels[0][1].name))


@bp.route("/options/<name>", methods=["GET", "POST"])
def panel(name: str) -> Any:
    host = _host()
    ext, spec = host.options.panel(name)
    errors: dict[str, str] = {}
    warnings: dict[str, list[str]] = {}
    submitted: dict[str, Any] = {}
    status = 200
    if request.method == "POST":
        for field in _fields(spec):
            key = field["key"]
            text = request.form.get(key, "")
            if field["type"] == "boolean":
                submitted[key] = text == "1"
            elif text.strip() or field["type"] in ("string", None):
                submitted[key] = text
            # An empty number field is left as it was: the store has no "unset".
        try:
            problems = host.options.set(name, submitted)
        except ValidationError as exc:
            errors = exc.fields
            status = 400
        else:
            for p in problems:
                warnings.setdefault(p.field, []).append(p.message)
            if not warnings:
                flash(f"已保存 Saved {spec.label}", "ok")
                return redirect(url_for("console.panel", name=name), 303)
            flash(f"已保存，但有警告 Saved {spec.label}, with warnings", "warn")
    values = host.options.public(name)
    if errors:
        # Show what was typed (never a secret) so nothing is lost.
        values.update(
            {k: v for k, v in submitted.items() if k not in spec.secret_fields}
        )
    return render_template(
        "console/options.html",
        panels=host.options.panels(),
        current=spec,
        ext=ext,
        fields=_fields(spec),
        placed={a for f in _fields(spec) for a in f["actions"]},
        values=values,
        mask=MASK,
        errors=errors,
        warnings=warnings,
        host_url=request.host_url.rstrip("/"),
    ), status


def _scrub(value: Any, secrets: list[str]) -> Any:
    """``value`` (JSON-able) with every secret replaced by ``***``."""
    text = json.dumps(value, ensure_ascii=False)
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(json.dumps(secret)[1:-1], "***")
    return json.loads(text)


def _secret_values(host: Host, name: str) -> list[str]:
    _, spec = host.options.panel(name)
    stored = host.options.get(name)
    found = []
    for key in spec.secret_fields:
        value = str(stored.get(key) or "")
        pieces = [value, *value.replace(",", ";").split(";")]
        found += [p.strip() for p in pieces if len(p.strip()) >= 6]
    return found


@bp.post("/options/<name>/actions/<action>")
@_json_action
def panel_action(name: str, action: str) -> Any:
    host = _host()
    result = host.options.run_action(name, action)
    body = {"ok": result.ok, "message": result.message, "data": dict(result.data)}
    return jsonify(_scrub(body, _secret_values(host, name)))


# -- users -----------------------------------------------------------------------------


def _user_fields() -> list[dict[str, Any]]:
    return [
        {"key": key, "label": spec.label, "help": spec.help, "ext": ext}
        for key, (ext, spec) in _host().users.fields().items()
    ]


@bp.get("/users")
def users() -> Any:
    host = _host()
    return render_template(
        "console/users.html", users=host.users.all(), fields=_user_fields()
    )


def _user_form(user: User | None) -> tuple[dict[str, Any], dict[str, str]]:
    form = request.form
    values: dict[str, Any] = {
        "name": form.get("name", "").strip() if user is None else user.name,
        "alias": form.get("alias", "").strip(),
        "phone": form.get("phone", "").strip(),
        "enabled": form.get("enabled") == "1",
        "admin": form.get("admin") == "1",
        "fields": {f["key"]: form.get(f"field:{f['key']}", "") for f in _user_fields()},
    }
    errors: dict[str, str] = {}
    password = form.get("password", "")
    if password != form.get("password2", ""):
        errors["password2"] = "两次输入的密码不一致 The passwords do not match"
    if values["admin"] and not password and (user is None or not user.is_admin):
        errors["password"] = "管理员需要密码 An administrator needs a password"  # noqa: S105
    values["password"] = password
    return values, errors


@bp.route("/users/new", methods=["GET", "POST"])
def user_new() -> Any:
    host = _host()
    values: dict[str, Any] = {"enabled": True, "fields": {}}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values, errors = _user_form(None)
        if not errors:
            try:
                host.users.add(
                    values["name"],
                    password=values["password"] or None,
                    alias=values["alias"],
                    phone=values["phone"],
                    enabled=values["enabled"],
                    admin=values["admin"],
                    fields={k: v for k, v in values["fields"].items() if v.strip()},
                )
            except ValidationError as exc:
                errors = exc.fields
            else:
                flash(f"已创建用户 Created user {values['name']}", "ok")
                return redirect(url_for("console.users"), 303)
    return render_template(
        "console/user_form.html",
        user=None,
        values=values,
        errors=errors,
        fields=_user_fields(),
    ), (400 if errors else 200)


@bp.route("/users/<name>", methods=["GET", "POST"])
def user_edit(name: str) -> Any:
    host = _host()
    user = host.users.get(name)
    values: dict[str, Any] = {**user.as_dict(), "fields": dict(user.fields)}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values, errors = _user_form(user)
        me = _admin()
        demoted = not values["enabled"] or not values["admin"]
        if me is not None and me.name == user.name and demoted:
            errors["enabled"] = (
                "不能停用自己的管理员账号 You cannot disable or demote yourself"
            )
        if not errors:
            try:
                host.users.update(
                    name,
                    alias=values["alias"],
                    phone=values["phone"],
                    enabled=values["enabled"],
                    admin=values["admin"],
                    password=values["password"] or None,
                    fields=values["fields"],
                )
            except ValidationError as exc:
                errors = exc.fields
            else:
                flash(f"已保存用户 Saved user {name}", "ok")
                return redirect(url_for("console.users"), 303)
    return render_template(
        "console/user_form.html",
        user=user,
        values=values,
        errors=errors,
        fields=_user_fields(),
    ), (400 if errors else 200)


@bp.post("/users/<name>/enabled")
def user_enabled(name: str) -> Any:
    host = _host()
    enable = request.form.get("enabled") == "1"
    me = _admin()
    if me is not None and me.name == name and not enable:
        flash("不能停用自己 You cannot disable yourself", "error")
    else:
        host.users.update(name, enabled=enable)
        verb = "启用 Enabled" if enable else "停用 Disabled"
        flash(f"{verb} {name}", "ok")
    return redirect(url_for("console.users"), 303)


# -- resources, context menus and their dialogs --------------------------------------------


def _report_tree(reports: list[Any]) -> dict[str, Any]:
    """Nested folders from each report's path; reports under the key ``""``."""
    root: dict[str, Any] = {"": []}
    for report in reports:
        node = root
        for part in [p for p in report.folder.split("/") if p]:
            node = node.setdefault(part, {"": []})
        node[""].append(report)
    return root


@bp.get("/resources")
def resources() -> Any:
    return render_template(
        "console/resources.html", tree=_report_tree(_host().reports.all())
    )


@bp.get("/menus/<kind>/<resource_id>")
@_json_action
def menu(kind: str, resource_id: str) -> Any:
    host = _host()
    host.menus.resource(kind, resource_id)
    items = [
        {"id": item.id, "label": item.label, "ext": ext, "dialog": bool(item.dialog)}
        for ext, item in host.menus.items(kind)
    ]
    return jsonify(ok=True, items=items)


@bp.get("/menus/<kind>/<resource_id>/<item_id>")
@_json_action
def menu_dialog(kind: str, resource_id: str, item_id: str) -> Any:
    host = _host()
    _, item = host.menus.item(kind, item_id)
    resource = host.menus.resource(kind, resource_id)
    return jsonify(
        ok=True,
        label=item.label,
        resource=getattr(resource, "name", resource_id),
        schema=item.dialog or {},
        # JSON objects lose their order on the way; the dialog keeps the schema's.
        order=list((item.dialog or {}).get("properties", {})),
        values=host.menus.prefill(kind, item_id, resource_id),
        choices=host.menus.choices(kind, item_id, resource_id),
    )


@bp.post("/menus/<kind>/<resource_id>/<item_id>")
@_json_action
def menu_run(kind: str, resource_id: str, item_id: str) -> Any:
    host = _host()
    values = request.get_json(silent=True)
    if not isinstance(values, dict):
        raise ValidationError("send the dialog's values as a JSON object")
    admin = _admin()
    result = host.menus.run(
        kind, item_id, resource_id, values, actor=admin.name if admin else None
    )
    return jsonify(ok=result.ok, message=result.message, data=dict(result.data))


@bp.post("/uploads")
@_json_action
def upload_picture() -> Any:
    host = _host()
    file = request.files.get("file")
    if file is None or not file.filename:
        raise ValidationError("choose a JPG or PNG picture first")
    recommended = None
    hint = request.form.get("recommended", "")
    width, sep, height = hint.lower().partition("x")
    if sep and width.isdigit() and height.isdigit() and int(height):
        recommended = (int(width), int(height))
    picture = uploads.save_picture(host, file.read(), file.filename, recommended)
    log.info(
        "console: picture %s uploaded (%dx%d)",
        picture.name,
        picture.width,
        picture.height,
    )
    return jsonify(ok=True, picture=picture.as_dict())
