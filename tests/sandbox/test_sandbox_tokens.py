from sandbox_corp import CONTACTS_SECRET, CORPID, DEMO_SECRET, OTHER_SECRET


def test_gettoken_success_returns_same_token_with_remaining_lifetime(sb, client):
    first = client.get("gettoken", corpid=CORPID, corpsecret=DEMO_SECRET)
    assert first["errcode"] == 0 and first["errmsg"] == "ok"
    assert first["expires_in"] == 7200
    assert len(first["access_token"]) <= 512

    sb.clock.advance(1000)
    second = client.get("gettoken", corpid=CORPID, corpsecret=DEMO_SECRET)
    assert second["access_token"] == first["access_token"]
    assert second["expires_in"] == 6200


def test_each_secret_has_its_own_token(client):
    tokens = {client.token(s) for s in (DEMO_SECRET, OTHER_SECRET, CONTACTS_SECRET)}
    assert len(tokens) == 3


def test_gettoken_tolerates_post(sb):
    import requests

    body = requests.post(
        f"{sb.url}/cgi-bin/gettoken",
        params={"corpid": CORPID, "corpsecret": DEMO_SECRET},
        timeout=5,
    ).json()
    assert body["errcode"] == 0


def test_gettoken_errors(client):
    assert client.get("gettoken", corpsecret=DEMO_SECRET)["errcode"] == 41002
    assert client.get("gettoken", corpid=CORPID)["errcode"] == 41004
    unknown = client.get("gettoken", corpid="wwnope", corpsecret=DEMO_SECRET)
    assert (unknown["errcode"], unknown["errmsg"]) == (40013, "invalid corpid")
    wrong = client.get("gettoken", corpid=CORPID, corpsecret="wrong")
    assert (wrong["errcode"], wrong["errmsg"]) == (40001, "invalid credential")


def test_ten_wrong_secrets_block_the_ip_for_an_hour(sb, client):
    for _ in range(10):
        assert client.get("gettoken", corpid=CORPID, corpsecret="x")["errcode"] == 40001
    blocked = client.get("gettoken", corpid=CORPID, corpsecret=DEMO_SECRET)
    assert blocked["errcode"] == 45009

    sb.clock.advance(3601)
    assert client.get("gettoken", corpid=CORPID, corpsecret=DEMO_SECRET)["errcode"] == 0


def test_token_expires_after_7200_seconds(sb, client):
    token = client.token()
    assert client.get("agent/list", access_token=token)["errcode"] == 0

    sb.clock.advance(7200)
    expired = client.get("agent/list", access_token=token)
    assert (expired["errcode"], expired["errmsg"]) == (42001, "access_token expired")
    assert client.token() != token


def test_expired_errcode_can_emulate_2024_behaviour(sb, client):
    token = client.token()
    sb.faults.expired_token_errcode = 40014
    sb.faults.expire_tokens()
    assert client.get("agent/list", access_token=token)["errcode"] == 40014


def test_business_call_token_errors(client):
    missing = client.get("agent/list")
    assert (missing["errcode"], missing["errmsg"]) == (41001, "access_token missing")
    garbled = client.get("agent/list", access_token="not-a-token")
    assert (garbled["errcode"], garbled["errmsg"]) == (40014, "invalid access_token")


def test_errmsg_hint_suffix_when_enabled(corp):
    from wecom_sandbox import Sandbox

    corp["errmsg_hints"] = True
    with Sandbox(corp) as sb:
        import requests

        body = requests.get(f"{sb.url}/cgi-bin/agent/list", timeout=5).json()
    assert body["errmsg"].startswith("access_token missing, hint: [")
    assert body["errmsg"].endswith(
        "more info at https://open.work.weixin.qq.com/devtool/query?e=41001"
    )


def test_agent_list_and_get(client):
    token = client.token()
    listed = client.get("agent/list", access_token=token)
    assert listed["agentlist"] == [
        {"agentid": 1000008, "name": "DEMO", "square_logo_url": ""}
    ]
    got = client.get("agent/get", access_token=token, agentid=1000008)
    assert got["redirect_domain"] == "demo.example.com"
    assert got["allow_partys"] == {"partyid": [2]}
    assert got["allow_tags"] == {"tagid": [1]}
    assert got["allow_userinfos"] == {"user": []}
    assert got["close"] == 0

    assert (
        client.get("agent/get", access_token=token, agentid=1000009)["errcode"]
        == 301002
    )
    assert client.get("agent/get", access_token=token, agentid=42)["errcode"] == 40056
    contacts = client.token(CONTACTS_SECRET)
    assert client.get("agent/list", access_token=contacts)["errcode"] == 48002
