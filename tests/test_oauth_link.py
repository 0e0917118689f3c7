"""生成微信链接: the OAuth link in WeCom's exact format."""

from ext_wecom.oauth import authorize_url, portal_url, wechat_link

#: The link the product guide generates for its CorpID and server address.
GUIDE_LINK = (
    "https://open.weixin.qq.com/connect/oauth2/authorize?appid=ww74a64be8259678d1"
    "&redirect_uri=http%3A%2F%2Fdemo.smartbi.com.cn%2Fvision%2Fwechat%2F"
    "wechatportal.html%3Fwechat%3Dtrue&response_type=code&scope=snsapi_base"
    "&state=smartbi#wechat_redirect"
)


def test_link_matches_the_guide_for_its_corp_and_server():
    link = wechat_link(
        "https://open.weixin.qq.com",
        "ww74a64be8259678d1",
        "http://demo.smartbi.com.cn",
        state="smartbi",
    )
    assert link == GUIDE_LINK


def test_home_link_ends_in_a_literal_fragment_and_a_url_safe_state():
    link = wechat_link(
        "https://open.weixin.qq.com", "ww74a64be8259678d1", "https://bi.example.com/"
    )
    assert link.endswith("&state=home#wechat_redirect")
    assert "%2Fwechat_redirect" not in link


def test_report_link_carries_the_report_and_the_app():
    link = wechat_link(
        "https://open.weixin.qq.com",
        "ww74a64be8259678d1",
        "https://bi.example.com",
        report="group-report",
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
    import pytest

    with pytest.raises(ValueError, match="state must be 1-128 letters or digits"):
        authorize_url("https://open.weixin.qq.com", "ww1", "https://x", state="a/b")
