"""WeCom OAuth2 links (生成微信链接) in WeCom's exact format.

``https://open.weixin.qq.com/connect/oauth2/authorize?appid=CORPID&redirect_uri=
ENCODED&response_type=code&scope=snsapi_base&state=STATE[&agentid=ID]#wechat_redirect``

The state is URL-safe (letters and digits); the ``#wechat_redirect`` fragment is
literal.  The redirect URI is this server's portal, which carries the target
report and the app in its own query string.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlencode

PORTAL_PATH = "/vision/wechat/wechatportal.html"
_STATE = re.compile(r"^[A-Za-z0-9]{1,128}$")


def portal_url(
    server_address: str, report: str | None = None, agentid: int | None = None
) -> str:
    params: list[tuple[str, str]] = [("wechat", "true")]
    if agentid is not None:
        params.append(("agentid", str(agentid)))
    if report:
        params.append(("report", report))
    return f"{server_address.rstrip('/')}{PORTAL_PATH}?{urlencode(params)}"


def authorize_url(
    oauth_base: str,
    corpid: str,
    redirect_uri: str,
    state: str = "home",
    agentid: int | None = None,
    scope: str = "snsapi_base",
) -> str:
    if not _STATE.match(state):
        raise ValueError("state must be 1-128 letters or digits")
    url = (
        f"{oauth_base.rstrip('/')}/connect/oauth2/authorize?appid={corpid}"
        f"&redirect_uri={quote(redirect_uri, safe='')}"
        f"&response_type=code&scope={scope}&state={state}"
    )
    if agentid is not None:
        url += f"&agentid={agentid}"
    return url + "#wechat_redirect"


def wechat_link(
    oauth_base: str,
    corpid: str,
    server_address: str,
    report: str | None = None,
    agentid: int | None = None,
    state: str | None = None,
) -> str:
    """The link a member taps: the app home, or one report when ``report``."""
    redirect = portal_url(server_address, report, agentid)
    return authorize_url(
        oauth_base, corpid, redirect, state or ("report" if report else "home"), agentid
    )
