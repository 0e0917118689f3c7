"""The portal (``/vision/wechat/wechatportal.html``): where WeCom's OAuth
redirect lands.  It exchanges the code for the member's userid, finds the host
user bound to that WeChat account, signs them in, and opens the target report
(or the mobile home) at a clean URL."""

from __future__ import annotations

import logging
from typing import Any

from flask import redirect, request, url_for

from ext_host.api import HostError, Route, message_page

from . import apps, settings
from .accounts import FIELD_KEY
from .client import WeComError
from .oauth import PORTAL_PATH, wechat_link

log = logging.getLogger(__name__)


def _target(host: Any, report_id: str | None) -> str:
    if report_id:
        return url_for("report_page", report_id=report_id)
    return url_for("mobile_home")


def portal_view(host: Any) -> Any:
    report_id = request.args.get("report") or None
    agentid = request.args.get("agentid") or None
    code = request.args.get("code")

    if report_id is not None:
        try:
            host.reports.get(report_id)
        except HostError:
            return message_page(
                "报表不存在 Report not found",
                f"此链接指向的报表不存在。 The report {report_id!r} does not exist.",
                404,
            )

    if not code:
        if host.current_user() is not None:
            return redirect(_target(host, report_id))
        conf = settings.load(host)
        return redirect(
            wechat_link(
                conf.oauth_base,
                conf.corpid,
                conf.server_address,
                report_id,
                int(agentid) if agentid and agentid.isdigit() else None,
            )
        )

    try:
        app = apps.find(host, agentid)
        data = app.client.get("auth/getuserinfo", code=code)
    except WeComError as exc:
        log.warning("portal: code exchange failed with errcode %d", exc.errcode)
        if exc.errcode == 40029:
            return message_page(
                "链接已失效 Link expired",
                "登录码已使用或已过期，请从企业微信重新打开。 This sign-in code was "
                "already used or has expired: open the message again from WeCom.",
                400,
            )
        return message_page("登录失败 Sign-in failed", str(exc), 502)
    except HostError as exc:
        return message_page("登录失败 Sign-in failed", str(exc), 502)

    userid = data.get("userid") or data.get("UserId")
    if not userid:
        return message_page(
            "非企业成员 Not a member",
            "您不是本企业的成员，无法登录。 You are not a member of this company.",
            403,
        )
    users = [u for u in host.users.find_by_field(FIELD_KEY, str(userid))]
    if not users:
        return message_page(
            "账号未绑定 Account not bound",
            f"企业微信账号 {userid} 没有绑定用户，请联系管理员。 No user is bound to "
            f"WeChat account {userid}; ask the administrator to bind it.",
            403,
        )
    user = users[0]
    if not user.enabled:
        return message_page(
            "用户已停用 User disabled",
            f"用户 {user.name} 已停用。 User {user.name} is disabled.",
            403,
        )
    host.sign_in(user.name)
    log.info("portal: member %s signed in as %s", userid, user.name)
    return redirect(_target(host, report_id))


def routes(host: Any) -> list[Route]:
    def view() -> Any:
        return portal_view(host)

    view.__name__ = "portal"
    return [Route(PORTAL_PATH, view, endpoint="wecom.portal")]
