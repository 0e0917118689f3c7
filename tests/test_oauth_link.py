"""生成微信链接: the OAuth link in WeCom's exact format."""

import re
from types import SimpleNamespace

import pytest

from ext_host.secretbox import SecretBox
from ext_wecom import state
from ext_wecom.oauth import authorize_url, inside_wecom, portal_url
from wecom_sandbox.browser import DESKTOP_UA, WECOM_UA

#: The link the product guide generates for its CorpID and server address.
GUIDE_LINK = (
    "https://open.weixin.qq.com/connect/oauth2/authorize?appid=ww74a64be8259678d1"
    "&redirect_uri=http%3A%2F%2Fdemo.smartbi.com.cn%2Fvision%2Fwechat%2F"
    "wechatportal.html%3Fwechat%3Dtrue&response_type=code&scope=snsapi_base"
    "&state=smartbi#wechat_redirect"
)


def test_link_matches_the_guide_for_its_corp_and_server():
    # The composition member_link uses, with the guide's plain state.
    link = authorize_url(
        "https://open.weixin.qq.com",
        "ww74a64be8259678d1",
        portal_url("http://demo.smartbi.com.cn"),
        state="smartbi",
    )
    assert link == GUIDE_LINK


def test_home_link_ends_in_a_literal_fragment_and_a_url_safe_state():
    link = authorize_url(
        "https://open.weixin.qq.com",
        "ww74a64be8259678d1",
        portal_url("https://bi.example.com/"),
    )
    assert link.endswith("&state=home#wechat_redirect")
    assert "%2Fwechat_redirect" not in link


def test_report_link_carries_the_report_and_the_app():
    link = authorize_url(
        "https://open.weixin.qq.com",
        "ww74a64be8259678d1",
        portal_url("https://bi.example.com", "group-report", 1000008),
        state="report",
        agentid=1000008,
    )
    assert link == (
        "https://open.weixin.qq.com/connect/oauth2/authorize?appid=ww74a64be8259678d1"
        "&redirect_uri=https%3A%2F%2Fbi.example.com%2Fvision%2Fwechat%2F"
        "wechatportal.html%3Fwechat%3Dtrue%26agentid%3D1000008%26report%3Dgroup-report"
        "&response_type=code&scope=snsapi_base&state=report&agentid=1000008"
        "#wechat_redirect"
    )


def test_portal_url_keeps_a_path_prefix():
    assert portal_url("https://bi.example.com/bi/", "r1") == (
        "https://bi.example.com/bi/vision/wechat/wechatportal.html?wechat=true&report=r1"
    )


def test_state_must_be_url_safe():
    with pytest.raises(ValueError, match="state must be 1-128 letters or digits"):
        authorize_url("https://open.weixin.qq.com", "ww1", "https://x", state="a/b")


def test_web_login_link_names_the_app_and_the_portal():
    from ext_wecom.oauth import web_login_url

    redirect = portal_url("https://bi.example.com", "r1", 1000008)
    assert web_login_url(
        "https://login.work.weixin.qq.com",
        "ww74a64be8259678d1",
        redirect,
        "s1AB",
        1000008,
    ) == (
        "https://login.work.weixin.qq.com/wwlogin/sso/login?login_type=CorpApp"
        "&appid=ww74a64be8259678d1&agentid=1000008&redirect_uri=https%3A%2F%2F"
        "bi.example.com%2Fvision%2Fwechat%2Fwechatportal.html%3Fwechat%3Dtrue"
        "%26agentid%3D1000008%26report%3Dr1&state=s1AB"
    )


def test_retry_marker_rides_in_the_portal_url():
    assert portal_url("https://bi.example.com", None, 1000008, retry=True) == (
        "https://bi.example.com/vision/wechat/wechatportal.html?wechat=true"
        "&agentid=1000008&retry=1"
    )


@pytest.mark.parametrize(
    ("agent", "inside"),
    [
        (WECOM_UA, True),
        ("Mozilla/5.0 (Linux; Android 14) Chrome/124 MicroMessenger/8.0.49", True),
        ("Mozilla/5.0 (Windows NT 10.0) wxwork/4.1.22 Chrome/124", True),
        (DESKTOP_UA, False),
        ("", False),
        (None, False),
    ],
)
def test_wecom_browser_is_told_by_its_user_agent(agent, inside):
    assert inside_wecom(agent) is inside


def host_with_key(tmp_path, name):
    return SimpleNamespace(secrets=SecretBox(tmp_path / name, env={}))


def test_state_is_url_safe_short_and_bound_to_target_app_and_host(tmp_path):
    host = host_with_key(tmp_path, "a")
    signed = state.sign(host, "a-report-with-a-rather-long-id" * 4, 1000008)
    assert re.fullmatch(r"s1[A-Z2-7]{24}", signed)
    assert state.verify(host, signed, "a-report-with-a-rather-long-id" * 4, 1000008)

    home = state.sign(host, None, None)
    assert state.verify(host, home, None, None)
    assert not state.verify(host, home, "r1", None)
    assert not state.verify(host, home, None, 1000008)
    assert not state.verify(host_with_key(tmp_path, "b"), home, None, None)
    assert not state.verify(host, home.lower(), None, None)
    assert not state.verify(host, "", None, None)
    assert not state.verify(host, "é" * 26, None, None)
    # Signed links are accepted by WeCom's state rule.
    authorize_url("https://open.weixin.qq.com", "ww1", "https://x", state=home)
