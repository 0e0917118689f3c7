"""WeCom OAuth2 links (生成微信链接) in WeCom's exact format, and the web login.

``https://open.weixin.qq.com/connect/oauth2/authorize?appid=CORPID&redirect_uri=
ENCODED&response_type=code&scope=snsapi_base&state=STATE[&agentid=ID]#wechat_redirect``

The state is URL-safe (letters and digits); the ``#wechat_redirect`` fragment is
literal.  The redirect URI is this server's portal, which carries the target
report and the app in its own query string; the links this host hands out
sign both into the state (:mod:`.state`).

Outside WeCom (a desktop browser) the authorize page cannot identify anyone,
so the portal offers WeCom's web login instead:
``https://login.work.weixin.qq.com/wwlogin/sso/login?login_type=CorpApp&appid=
CORPID&agentid=ID&redirect_uri=ENCODED&state=STATE``, which shows a QR code the
member scans with the WeCom app, then redirects with a code the same way.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlencode

from . import settings, state

PORTAL_PATH = "/vision/wechat/wechatportal.html"
WEB_LOGIN_PATH = "/wwlogin/sso/login"
_STATE = re.compile(r"^[A-Za-z0-9]{1,128}$")
#: User-agent marks of the WeCom client (``wxwork``) and of WeChat, whose
#: built-in browser also opens WeCom links (``MicroMessenger``).
_WECOM_AGENT = re.compile(r"wxwork|MicroMessenger", re.IGNORECASE)


def inside_wecom(user_agent: str | None) -> bool:
    """Whether a request comes from WeCom's (or WeChat's) built-in browser."""
    return bool(user_agent and _WECOM_AGENT.search(user_agent))


def portal_url(
    server_address: str,
    report: str | None = None,
    agentid: int | None = None,
    retry: bool = False,
) -> str:
    params: list[tuple[str, str]] = [("wechat", "true")]
    if agentid is not None:
        params.append(("agentid", str(agentid)))
    if report:
        params.append(("report", report))
    if retry:
        params.append(("retry", "1"))
    return f"{server_address.rstrip('/')}{PORTAL_PATH}?{urlencode(params)}"


def _check_state(value: str) -> None:
    if not _STATE.match(value):
        raise ValueError("state must be 1-128 letters or digits")


def authorize_url(
    oauth_base: str,
    corpid: str,
    redirect_uri: str,
    state: str = "home",
    agentid: int | None = None,
    scope: str = "snsapi_base",
) -> str:
    _check_state(state)
    url = (
        f"{oauth_base.rstrip('/')}/connect/oauth2/authorize?appid={corpid}"
        f"&redirect_uri={quote(redirect_uri, safe='')}"
        f"&response_type=code&scope={scope}&state={state}"
    )
    if agentid is not None:
        url += f"&agentid={agentid}"
    return url + "#wechat_redirect"


def web_login_url(
    web_login_base: str, corpid: str, redirect_uri: str, state: str, agentid: int
) -> str:
    """WeCom's web login (the QR code page) for a desktop browser."""
    _check_state(state)
    return (
        f"{web_login_base.rstrip('/')}{WEB_LOGIN_PATH}?login_type=CorpApp"
        f"&appid={corpid}&agentid={agentid}"
        f"&redirect_uri={quote(redirect_uri, safe='')}&state={state}"
    )


def member_link(
    host: Any,
    report: str | None = None,
    agentid: int | None = None,
    retry: bool = False,
    tag: str = "",
) -> str:
    """The signed OAuth link to ``report`` (None: the mobile home) via ``agentid``:
    what pushed cards (tagged with their push), the app home and *Generate
    WeChat link* use."""
    conf = settings.load(host)
    redirect = portal_url(conf.server_address, report, agentid, retry)
    return authorize_url(
        conf.oauth_base,
        conf.corpid,
        redirect,
        state.sign(host, report, agentid, tag),
        agentid,
    )


def member_web_login(
    host: Any, report: str | None, agentid: int, retry: bool = False, tag: str = ""
) -> str:
    """The signed web-login link (desktop browser) to ``report`` via ``agentid``."""
    conf = settings.load(host)
    redirect = portal_url(conf.server_address, report, agentid, retry)
    return web_login_url(
        conf.web_login_base,
        conf.corpid,
        redirect,
        state.sign(host, report, agentid, tag),
        agentid,
    )
