"""The console in headless Chromium, against the host and the sandbox on
loopback: sign in, upload the archive, the WeChat settings with a wrong
secret, a user with a bad then a good account, right-click a report and push
it with a picture into a member's sandbox inbox."""

from __future__ import annotations

import io
import re

import requests
from browserkit import ADMIN, PASSWORD, sign_in
from PIL import Image
from playwright.sync_api import expect
from stackkit import AGENTID, MEMBER

from ext_host.config import load_config
from ext_host.host import Host
from ext_host.web import start_server
from ext_wecom import oauth

WRONG_SECRET = "WrongSecret-0123456789abcdef"


def test_sign_in_then_upload_the_archive_and_see_it_loaded(
    make_host, wecom_archive, page, shot
):
    host = make_host()
    host.users.add(ADMIN, password=PASSWORD, admin=True)
    server = start_server(host)
    try:
        page.goto(server.url + "/console/config")
        assert page.url == server.url + "/console/login?next=/console/config"
        page.fill("input[name=name]", ADMIN)
        page.fill("input[name=password]", "wrong")
        page.click("button[type=submit]")
        assert page.text_content("#login-error") == (
            "用户名或密码错误，或不是管理员 Wrong name or password, or not an "
            "administrator"
        )
        shot(page, "01-login")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(server.url + "/console/config")

        page.set_input_files("#upload-form input[type=file]", str(wecom_archive))
        page.click("#upload-form button[type=submit]")
        target = host.config.extensions_dir / "wecom.ext"
        assert page.text_content("p.flash.ok") == (
            f"installed wecom 1.0.0 as {target}; reloaded: wecom is loaded; restart "
            "the host to serve its new HTTP routes"
        )
        shot(page, "02-config-uploaded")
    finally:
        server.stop()

    # The operator restarts the host; the session survives (same data folder).
    host.stop()
    restarted = Host(
        load_config(
            host.config.config_file,
            env={},
            data_dir=host.config.data_dir,
            extensions_dir=host.config.extensions_dir,
        )
    ).start()
    server = start_server(restarted)
    try:
        page.goto(server.url + "/console/config")
        row = page.locator('tr[data-extension="wecom"]')
        assert row.locator(".state").text_content() == "loaded"
        assert "企业微信" in row.text_content()
        shot(page, "03-config-loaded")
    finally:
        server.stop()
        restarted.stop()


def test_wechat_settings_with_a_wrong_secret(stack, page, shot):
    stack.host.users.add(ADMIN, password=PASSWORD, admin=True)
    stack.host.store.execute("DELETE FROM options")
    sign_in(page, stack.url, "/console/options/wecom")

    page.fill("#f-corpid", stack.sandbox.corpid)
    page.fill("#f-app_secrets", f"{stack.app.secret};{WRONG_SECRET}")
    page.fill("#f-contacts_secret", stack.sandbox.corp.contacts_secret)
    page.click("button.autodetect")
    assert page.input_value("#f-server_address") == stack.url
    page.fill("#f-api_base", stack.sandbox.url)
    page.fill("#f-oauth_base", stack.sandbox.url)
    page.click("#panel-form button[type=submit]")

    assert page.text_content("#warning-server_address") == (
        "服务器地址: 127.0.0.1 is an IP address; WeCom accepts only a registered "
        "domain name as trusted domain (the sandbox accepts it)"
    )
    assert page.input_value("#f-app_secrets") == ""
    assert page.get_attribute("#f-app_secrets", "placeholder") == (
        "已设置，留空保持不变 set; leave empty to keep it"
    )
    assert stack.app.secret not in page.content()

    page.click("#panel-form .buttons button[data-action=test_connection]")
    result = page.locator("#action-result")
    result.locator("p.message.error").wait_for()
    assert result.locator("p.message").all_text_contents() == [
        "企业应用Secret #1: app DEMO (agentid 1000008) ok",
        "通讯管理Secret: ok",
        "secret #2: WeCom gettoken failed: errcode 40001 (invalid credential); the "
        "secret is wrong or was reset; copy it again from the app's page",
    ]
    assert result.locator("p.message.error").count() == 1
    assert WRONG_SECRET not in page.content()
    shot(page, "04-wechat-settings-test-connection")

    page.click("button.link-button[data-action=generate_link]")
    link = oauth.member_link(stack.host)  # signed: see ext_wecom/state.py
    page.locator("#generated-link").wait_for()
    assert page.input_value("#generated-link") == link
    page.click("#action-result button.copy")
    expect(page.locator("#action-result button.copy")).to_have_text("已复制 Copied")
    assert page.evaluate("navigator.clipboard.readText()") == link
    assert "must be the app's trusted domain" in page.text_content(
        "#action-result .note"
    )
    shot(page, "05-wechat-settings-link")


def test_create_a_user_with_a_bad_then_a_good_account(stack, page, shot):
    stack.host.users.add(ADMIN, password=PASSWORD, admin=True)
    sign_in(page, stack.url, "/console/users")
    page.click("#new-user")
    page.fill("#u-name", "zs")
    page.fill("#u-alias", "张三")
    page.fill("#u-phone", "13800000001")
    page.fill("#u-wecom-account", "@zhangsan")
    page.click("#user-form button[type=submit]")

    assert page.text_content("#error-wecom-account") == (
        "微信账号 WeChat account: must start with a letter or digit"
    )
    assert page.input_value("#u-wecom-account") == "@zhangsan"
    shot(page, "06-user-bad-account")
    assert stack.host.users.find("zs") is None

    page.fill("#u-wecom-account", "zhangsan")
    page.click("#user-form button[type=submit]")
    page.wait_for_url(stack.url + "/console/users")
    row = page.locator('tr[data-user="zs"]')
    assert row.locator("td.field-wecom\\.account").text_content() == "zhangsan"
    assert stack.host.users.get("zs").fields == {"wecom.account": "zhangsan"}
    shot(page, "07-users")


def test_right_click_a_report_and_push_it_with_a_picture(stack, page, shot, tmp_path):
    stack.host.users.add(ADMIN, password=PASSWORD, admin=True)
    stack.host.users.add("nobind", alias="无账号")
    picture = tmp_path / "card.png"
    Image.new("RGB", (900, 500), (200, 60, 40)).save(picture)
    sign_in(page, stack.url, "/console/resources")
    shot(page, "08-resources")
    page.set_viewport_size({"width": 1280, "height": 1500})  # the whole dialog

    page.click('li[data-id="group-report"] .report-name', button="right")
    page.click('#context-menu li[data-item="wecom.push"]')
    page.locator("#dialog-submit").wait_for()
    assert (
        page.text_content("#dialog-title") == "推送到企业号 Push to WeCom · 1分组报表"
    )
    assert page.input_value("#d-title") == "1分组报表"
    assert page.input_value("#d-app") == "DEMO"
    assert page.input_value("#d-url") == oauth.member_link(
        stack.host, "group-report", AGENTID
    )
    assert page.text_content("#count-title") == "13 / 128 字节 bytes (UTF-8)"

    page.fill("#d-title", "报" * 43)  # 129 bytes
    assert page.text_content("#cut-title").startswith(" 超出上限，推送时将被截断")
    page.fill("#d-title", "1分组报表 日报")

    page.set_input_files("#file-picurl", str(picture))
    page.locator("img.preview:not([hidden])").wait_for()
    assert page.text_content("#upload-picurl").startswith("PNG 900×500")
    path = page.input_value("#d-picurl")
    assert re.fullmatch(r"/uploads/[A-Za-z0-9_-]+\.png", path)

    page.check(f'input[name=users][value="{MEMBER}"]')
    page.check('input[name=users][value="nobind"]')
    assert page.text_content("#skipped-users") == (
        "将跳过 Will be skipped: nobind: no WeChat account (未填写微信账号)"
    )
    shot(page, "09-push-dialog", ".dialog")

    page.click("#dialog-submit")
    result = page.locator("#dialog-result ul.lines li")
    result.first.wait_for()
    assert result.all_text_contents() == [
        "已送达 Received: 1 member(s)",
        "跳过 Skipped: nobind — no WeChat account (未填写微信账号)",
    ]
    shot(page, "10-push-result", ".dialog")

    (card,) = stack.sandbox.inbox(MEMBER)
    article = card["news"]["articles"][0]
    assert article["title"] == "1分组报表 日报"
    assert article["picurl"] == stack.url + path
    fetched = requests.get(article["picurl"], timeout=5)
    assert fetched.headers["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(fetched.content)).size == (900, 500)
