import time

import pytest
import requests
from sandbox_corp import CORPID, DEMO_SECRET


def send(client, token):
    body = {
        "touser": "zhangsan",
        "agentid": 1000008,
        "msgtype": "text",
        "text": {"content": "hi"},
    }
    return client.post("message/send", body, token)


def test_errcode_fault_for_n_calls(sb, client):
    token = client.token()
    sb.faults.errcode("message/send", -1, times=2)
    assert send(client, token) == {"errcode": -1, "errmsg": "system busy"}
    assert send(client, token)["errcode"] == -1
    assert send(client, token)["errcode"] == 0
    assert len(sb.inbox("zhangsan")) == 1


def test_errcode_fault_for_one_app_only(sb, client):
    token = client.token()
    sb.faults.errcode("/cgi-bin/message/send", 45009, agentid=1000009)
    assert send(client, token)["errcode"] == 0
    sb.faults.errcode("/cgi-bin/message/send", 45009, agentid=1000008)
    assert send(client, token)["errcode"] == 45009


def test_http_status_fault(sb, client):
    sb.faults.http_status("gettoken", 502)
    params = {"corpid": CORPID, "corpsecret": DEMO_SECRET}
    resp = requests.get(f"{sb.url}/cgi-bin/gettoken", params=params, timeout=5)
    assert resp.status_code == 502
    assert client.get("gettoken", **params)["errcode"] == 0


def test_drop_connection_fault(sb, client):
    token = client.token()
    sb.faults.drop_connection("message/send")
    with pytest.raises(
        (requests.ConnectionError, requests.exceptions.ChunkedEncodingError)
    ):
        send(client, token)
    assert send(client, token)["errcode"] == 0


def test_latency_fault(sb, client):
    sb.faults.latency("gettoken", 0.3, times=1)
    started = time.monotonic()
    client.token()
    assert time.monotonic() - started >= 0.3
    sb.faults.clear()


def test_expire_tokens_then_new_token(sb, client):
    token = client.token()
    sb.faults.expire_tokens()
    assert send(client, token)["errcode"] == 42001
    fresh = client.token()
    assert fresh != token and send(client, fresh)["errcode"] == 0


def test_calls_are_recorded(sb, client):
    token = client.token()
    send(client, token)
    assert sb.call_count("/cgi-bin/gettoken") == 1
    assert sb.call_count("message/send") == 1
    call = [c for c in sb.calls if c["path"] == "/cgi-bin/message/send"][0]
    assert call["method"] == "POST"
    assert call["query"] == {"access_token": token}
    assert call["body"]["touser"] == "zhangsan"


def test_two_sandboxes_in_one_process_are_independent(sb, corp, client):
    from wecom_sandbox import Sandbox

    with Sandbox(corp) as other:
        assert other.url != sb.url
        client.token()
        assert other.call_count("gettoken") == 0


def test_stop_joins_the_server_thread(corp):
    from wecom_sandbox import Sandbox

    sandbox = Sandbox(corp)
    sandbox.start()
    requests.get(sandbox.url + "/sandbox/api/corp", timeout=5)
    thread = sandbox._server._thread
    sandbox.stop()
    assert thread is not None and not thread.is_alive()
