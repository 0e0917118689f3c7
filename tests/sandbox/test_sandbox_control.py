import requests
from sandbox_corp import CONTACTS_SECRET, DEMO_SECRET


def post(sb, path, body):
    return requests.post(f"{sb.url}/sandbox/api/{path}", json=body, timeout=5)


def push_news(client, url="http://demo.example.com/r/1"):
    body = {
        "touser": "zhangsan",
        "agentid": 1000008,
        "msgtype": "news",
        "news": {
            "articles": [
                {
                    "title": "销售日报",
                    "description": "昨日销售",
                    "url": url,
                    "picurl": "http://p.example/a.png",
                }
            ]
        },
    }
    return client.post("message/send", body, client.token())


def test_console_shows_apps_secrets_and_inbox_cards(sb, client):
    push_news(client)
    page = requests.get(f"{sb.url}/sandbox/", timeout=5)
    assert page.status_code == 200
    assert DEMO_SECRET in page.text and CONTACTS_SECRET in page.text
    assert "销售日报" in page.text and "http://p.example/a.png" in page.text
    assert (
        "/sandbox/open?member=zhangsan&amp;url=http%3A//demo.example.com/r/1"
        in page.text
    )


def test_open_sets_the_member_cookie_and_redirects(sb):
    resp = requests.get(
        f"{sb.url}/sandbox/open",
        params={"member": "zhangsan", "url": "http://demo.example.com/r/1"},
        allow_redirects=False,
        timeout=5,
    )
    assert resp.status_code == 302
    assert resp.headers["Location"] == "http://demo.example.com/r/1"
    assert resp.cookies.get("wecom_sandbox_member") == "zhangsan"


def test_inbox_and_calls_api(sb, client):
    msgid = push_news(client)["msgid"]
    inbox = requests.get(f"{sb.url}/sandbox/api/inbox/ZhangSan", timeout=5).json()
    assert [m["msgid"] for m in inbox["messages"]] == [msgid]
    assert inbox["dropped"] == []
    calls = requests.get(
        f"{sb.url}/sandbox/api/calls", params={"path": "message/send"}, timeout=5
    ).json()
    assert calls["count"] == 1
    assert (
        requests.get(f"{sb.url}/sandbox/api/inbox/nobody", timeout=5).status_code == 404
    )


def test_faults_api(sb, client):
    token = client.token()
    resp = post(
        sb,
        "faults",
        {"action": "errcode", "path": "agent/list", "errcode": -1, "times": 1},
    )
    assert resp.json()["faults"][0]["errcode"] == -1
    assert client.get("agent/list", access_token=token)["errcode"] == -1
    assert post(sb, "faults", {"action": "nonsense"}).status_code == 400
    post(sb, "faults", {"action": "expired_token_errcode", "value": 40014})
    post(sb, "faults", {"action": "expire_tokens"})
    assert client.get("agent/list", access_token=token)["errcode"] == 40014
    post(sb, "faults", {"action": "clear"})
    assert sb.faults.expired_token_errcode == 42001


def test_clock_apps_and_reset_api(sb, client):
    before = sb.clock.now()
    assert post(sb, "clock", {"advance": 7200}).json()["offset"] == 7200
    assert sb.clock.now() - before >= 7200

    app = post(sb, "apps/1000008", {"trusted_domain": "127.0.0.1:5000"}).json()["app"]
    assert app["trusted_domain"] == "127.0.0.1:5000"
    assert sb.app(1000008).trusted_domain == "127.0.0.1:5000"

    push_news(client)
    post(sb, "reset", {})
    assert sb.inbox("zhangsan") == [] and sb.calls == []


def test_cli_main_rejects_a_missing_seed(capsys):
    import pytest

    from wecom_sandbox import main

    with pytest.raises(SystemExit):
        main(["--corp", "/nonexistent/seed.yaml"])
    assert "no seed file" in capsys.readouterr().err


def test_shipped_seed_loads():
    from pathlib import Path

    from wecom_sandbox import Sandbox

    seed = Path(__file__).resolve().parents[2] / "config" / "sandbox-corp.yaml"
    sb = Sandbox.from_yaml(seed)
    assert sb.corpid == "ww74a64be8259678d1"
    assert sb.app(1000008).name == "DEMO"
    assert {m.status for m in sb.corp.members.values()} >= {1, 2, 5}
