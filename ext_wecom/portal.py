"""The portal (``/vision/wechat/wechatportal.html``): where WeCom's OAuth
redirect lands.

It checks the link's signed state, exchanges the code once for the member's
userid with the token of the app that sent the link, finds the host user bound
to that WeChat account, signs them in, and opens the target report (or the
mobile home) at a clean URL.  Every refusal is a page in Chinese and English
that says what the administrator can do, and leaves no session behind.

Also here: :func:`sign_in_url`, the host's hook for a visitor without a
session, which sends WeCom's built-in browser to the authorize page and a
desktop browser to WeCom's web login (QR code).
"""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import make_response, redirect, request, url_for

from ext_host.api import HostError, NotFound, Route, message_page

from . import apps, oauth, settings, state
from .accounts import FIELD_KEY
from .client import WeComError, WeComUnreachable
from .oauth import PORTAL_PATH

log = logging.getLogger(__name__)

#: WeCom errcodes that mean the app's secret (or the CorpID) no longer works.
_SECRET_FAILED = {40001, 40013, 41004}
_REPORT_PATH = re.compile(r"^/vision/reports/([^/]+)$")
_HOME_PATHS = ("/", "/vision/mobile")


class Refusal(Exception):
    """A page to show instead of signing in."""

    def __init__(self, title: str, message: str, status: int, detail: str = ""):
        super().__init__(message)
        self.title = title
        self.message = message
        self.status = status
        self.detail = detail


# -- where a visitor without a session goes ------------------------------------


def sign_in_link(
    host: Any,
    report: str | None,
    agentid: int | None,
    retry: bool = False,
    tag: str = "",
) -> str | None:
    """The sign-in link for this request's browser, or None if there is none.

    Inside WeCom (its user agent says ``wxwork`` or ``MicroMessenger``) that is
    the OAuth authorize link; in any other browser, WeCom's web login (the QR
    code page), which needs the app's agentid.
    """
    if agentid is None:
        try:
            found, problems = apps.resolve(host)
        except HostError as exc:  # not configured
            found, problems = [], [apps.AppProblem(0, str(exc))]
        if found:
            agentid = found[0].agentid
        else:
            log.warning(
                "portal: no app reachable for sign-in: %s",
                "; ".join(p.error for p in problems),
            )
    if oauth.inside_wecom(request.headers.get("User-Agent")):
        return oauth.member_link(host, report, agentid, retry, tag)
    if agentid is None:
        return None
    return oauth.member_web_login(host, report, agentid, retry, tag)


def target_of(path: str) -> tuple[bool, str | None]:
    """``(known, report id)`` for a path on this host: a report page or the
    mobile home (report None); anything else is not a portal target."""
    path = urlsplit(path).path
    if path in _HOME_PATHS:
        return True, None
    match = _REPORT_PATH.match(path)
    if match:
        return True, unquote(match.group(1))
    return False, None


def sign_in_url(host: Any, target: str) -> str | None:
    """The ``sign_in_url`` hook: WeCom sign-in for a report page or the home."""
    conf = settings.load(host)
    if not (conf.corpid and conf.server_address and conf.secrets):
        return None
    known, report = target_of(target)
    if not known:
        return None
    try:
        return sign_in_link(host, report, None)
    except HostError as exc:
        log.warning("portal: cannot build a sign-in link: %s", exc)
        return None


# -- the portal ----------------------------------------------------------------


def _no_store(response: Any) -> Any:
    response = make_response(response)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _landing(report_id: str | None) -> Any:
    if report_id:
        return redirect(url_for("report_page", report_id=report_id))
    return redirect(url_for("mobile_home"))


def _proof(code: str) -> str:
    """What the session keeps of the code that started it: a digest."""
    return hashlib.sha256(f"wecom-code:{code}".encode()).hexdigest()[:32]


def _check_report(host: Any, report_id: str | None, named: bool = True) -> Any:
    """The target report, or a refusal if it is not one of this host's reports
    published to mobile; without ``named`` (nobody signed in yet) the refusal
    does not tell the report's name."""
    if report_id is None:
        return None
    try:
        report = host.reports.get(report_id)
    except NotFound:
        raise Refusal(
            "报表不存在 Report not found",
            "此链接指向的不是本服务器上的报表。 This link does not point to a "
            "report of this server.",
            404,
            "请管理员重新推送该报表。 Ask the administrator to push the report again.",
        ) from None
    if not report.mobile:
        raise Refusal(
            "报表未发布到移动端 Report not published to mobile",
            f"报表 {report.name} 没有发布到移动端。 The report {report.name} is not "
            "published to mobile."
            if named
            else "此报表没有发布到移动端。 This report is not published to mobile.",
            403,
            "管理员可在报表设置中发布到移动端 (mobile: true)。 The administrator can "
            "publish it to mobile (mobile: true in the report's settings).",
        )
    return report


def _check_viewer(host: Any, user: Any, report: Any) -> None:
    if report is not None and not host.reports.can_view(user, report):
        raise Refusal(
            "无权访问 No access",
            f"用户 {user.name} 无权查看报表 {report.name}。 User {user.name} may not "
            f"view the report {report.name}.",
            403,
            "请管理员把此用户加入报表的查看者。 Ask the administrator to add this "
            "user to the report's viewers.",
        )


def _app_for(host: Any, agentid: int | None) -> list[apps.App]:
    """The apps to exchange the code with: the one that sent the link, or, for
    a link without agentid, every configured app in order."""
    found, problems = apps.resolve(host)
    chosen = [a for a in found if agentid is None or a.agentid == agentid]
    if chosen:
        return chosen
    if problems:
        raise Refusal(
            "应用Secret已失效 App secret no longer works",
            "无法通过发送此消息的应用登录，请联系管理员。 Sign-in through the app that "
            "sent this link does not work at the moment; please tell the "
            "administrator.",
            503,
            "管理员: 在 微信设置 中重新填写该应用的 Secret。 Administrator: copy the "
            "app's Secret again into WeChat settings (微信设置). "
            + "; ".join(p.error for p in problems),
        )
    raise Refusal(
        "应用未配置 App not configured",
        f"发送此链接的应用 (agentid {agentid}) 没有在本服务器配置。 The app that "
        f"sent this link (agentid {agentid}) is not configured on this server.",
        503,
        "管理员: 在 微信设置 中加入该应用的 Secret。 Administrator: add the app's "
        "Secret to WeChat settings (微信设置).",
    )


def _exchange(host: Any, code: str, agentid: int | None) -> dict[str, Any]:
    """``auth/getuserinfo`` with the token of the app behind the link."""
    candidates = _app_for(host, agentid)
    for index, app in enumerate(candidates):
        try:
            return app.client.get("auth/getuserinfo", code=code)
        except WeComError as exc:
            # A code is only usable with an app whose trusted domain it came
            # back to; without an agentid, try the next app (50001 leaves the
            # code usable).
            if exc.errcode == 50001 and index + 1 < len(candidates):
                continue
            raise
    raise AssertionError("unreachable")


def _refusal_for(exc: HostError) -> Refusal:
    if isinstance(exc, WeComUnreachable):
        return Refusal(
            "无法连接企业微信 WeCom unreachable",
            "暂时无法连接企业微信，请稍后再试。 WeCom cannot be reached right now; "
            "try again in a moment.",
            502,
            str(exc),
        )
    if isinstance(exc, WeComError) and (
        exc.errcode in _SECRET_FAILED or exc.path == "gettoken"
    ):
        return Refusal(
            "应用Secret已失效 App secret no longer works",
            "无法通过发送此消息的应用登录，请联系管理员。 Sign-in through the app "
            "that sent this link does not work at the moment; please tell the "
            "administrator.",
            503,
            "管理员: 在 微信设置 中重新填写该应用的 Secret。 Administrator: copy the "
            f"app's Secret again into WeChat settings (微信设置). {exc}",
        )
    if isinstance(exc, WeComError) and exc.errcode == 50001:
        return Refusal(
            "可信域名不一致 Trusted domain mismatch",
            "企业微信拒绝了本服务器的地址。 WeCom refused this server's address for "
            "sign-in.",
            502,
            "管理员: 应用的 可信域名 须与 服务器地址 的主机和端口完全一致。 "
            "Administrator: the app's trusted domain (可信域名) must equal the server "
            "address's host and port exactly.",
        )
    return Refusal("登录失败 Sign-in failed", str(exc), 502)


def _member_user(host: Any, data: dict[str, Any]) -> Any:
    userid = data.get("userid") or data.get("UserId")
    if not userid:
        raise Refusal(
            "非企业成员 Not a member",
            "您不是本企业的成员，无法登录。 You opened this link as someone outside "
            "the company; only its members can sign in.",
            403,
            "如果您是成员，请在企业微信中登录后再打开。 If you are a member, sign in "
            "to WeCom and open the link there.",
        )
    users = host.users.find_by_field(FIELD_KEY, str(userid))
    if not users:
        raise Refusal(
            "账号未绑定 Account not bound",
            f"企业微信账号 {userid} 没有绑定用户，请联系管理员。 No user is bound to "
            f"WeChat account {userid}; ask the administrator to bind it.",
            403,
            f"管理员: 在用户的 微信账号 中填写 {userid}。 Administrator: set the user's "
            f"WeChat account (微信账号) to {userid}.",
        )
    if len(users) > 1:  # the field is unique; never guess between people
        log.error("portal: WeChat account %s is bound to several users", userid)
        raise Refusal(
            "账号绑定冲突 Account bound twice",
            f"企业微信账号 {userid} 绑定了多个用户。 WeChat account {userid} is bound "
            "to several users.",
            409,
            "管理员: 只给一个用户填写此账号。 Administrator: keep it on one user only.",
        )
    user = users[0]
    if not user.enabled:
        raise Refusal(
            "用户已停用 User disabled",
            f"用户 {user.name} 已停用。 User {user.name} is disabled.",
            403,
            "管理员可在用户管理中启用此用户。 The administrator can enable the user.",
        )
    return userid, user


def _state_refusal() -> Refusal:
    return Refusal(
        "链接无效 Link not valid",
        "此链接已被修改或不是本服务器生成的。 This link was changed or was not made "
        "by this server.",
        400,
        "请从企业微信重新打开消息或应用。 Open the message or the app again from "
        "WeCom; if it keeps failing, ask the administrator to generate the link "
        "again (生成微信链接).",
    )


def _expired_refusal() -> Refusal:
    return Refusal(
        "链接已失效 Link expired",
        "登录码已使用或已过期，请从企业微信重新打开。 This sign-in code was already "
        "used or has expired: open the message again from WeCom.",
        400,
    )


def _agentid(text: str | None) -> int | None:
    if not text:
        return None
    if not text.isdigit() or len(text) > 12:
        raise _state_refusal()
    return int(text)


def _portal(host: Any) -> Any:
    args = request.args
    report_id = args.get("report") or None
    agentid = _agentid(args.get("agentid"))
    code = args.get("code") or ""
    retried = args.get("retry") == "1"

    if not code:
        # Opened without OAuth (a bookmark, an old home page): reuse the
        # session, else start the sign-in this browser can do.
        user = host.current_user()
        report = _check_report(host, report_id, named=user is not None)
        if user is not None:
            _check_viewer(host, user, report)
            return _landing(report_id)
        link = sign_in_link(host, report_id, agentid)
        if link is None:
            raise Refusal(
                "请从企业微信打开 Open from WeCom",
                "请从企业微信打开此页面。 Open this page from WeCom to sign in.",
                401,
            )
        return redirect(link)

    if not state.verify(host, args.get("state", ""), report_id, agentid):
        log.warning("portal: refused a link whose state does not verify")
        raise _state_refusal()
    report = _check_report(host, report_id)

    # The same landing URL again (reload, back button, a copied tab): the
    # session this code started is still here, so no second exchange.
    user = host.current_user()
    if user is not None and host.session_proof() == _proof(code):
        _check_viewer(host, user, report)
        return _landing(report_id)

    try:
        data = _exchange(host, code, agentid)
    except WeComError as exc:
        if exc.errcode == 40029:
            host.sign_out()
            if not retried:
                log.info("portal: code used or expired, starting sign-in again")
                tag = state.tag_of(args.get("state", ""))
                link = sign_in_link(host, report_id, agentid, retry=True, tag=tag)
                if link is not None:
                    return redirect(link)
            log.warning("portal: code used or expired twice in a row")
            raise _expired_refusal() from None
        log.warning("portal: code exchange failed with errcode %d", exc.errcode)
        raise _refusal_for(exc) from None
    except HostError as exc:
        log.warning("portal: code exchange failed: %s", exc)
        raise _refusal_for(exc) from None

    userid, user = _member_user(host, data)
    _check_viewer(host, user, report)
    secure = settings.load(host).server_address.startswith("https://")
    host.sign_in(user.name, secure=secure, proof=_proof(code))
    log.info(
        "portal: member %s signed in as %s, opening %s",
        userid,
        user.name,
        report_id or "the mobile home",
    )
    return _landing(report_id)


def portal_view(host: Any) -> Any:
    try:
        return _no_store(_portal(host))
    except Refusal as refusal:
        host.sign_out()
        return _no_store(
            message_page(refusal.title, refusal.message, refusal.status, refusal.detail)
        )


def routes(host: Any) -> list[Route]:
    def view() -> Any:
        return portal_view(host)

    view.__name__ = "portal"
    return [Route(PORTAL_PATH, view, endpoint="wecom.portal")]
