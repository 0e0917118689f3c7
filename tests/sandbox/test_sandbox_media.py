import requests
from sandbox_corp import DEMO_SECRET

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def upload(sb, token, kind, data, api="media/upload"):
    resp = requests.post(
        f"{sb.url}/cgi-bin/{api}",
        params={"access_token": token, "type": kind},
        files={"media": ("pic.png", data, "image/png")},
        timeout=10,
    )
    return resp.json()


def test_upload_image_then_send_it(sb, client):
    token = client.token(DEMO_SECRET)
    result = upload(sb, token, "image", PNG)
    assert result["errcode"] == 0 and result["errmsg"] == ""
    assert result["type"] == "image" and isinstance(result["created_at"], str)

    body = {
        "touser": "zhangsan",
        "agentid": 1000008,
        "msgtype": "image",
        "image": {"media_id": result["media_id"]},
    }
    assert client.post("message/send", body, token)["errcode"] == 0
    fetched = requests.get(
        f"{sb.url}/cgi-bin/media/get",
        params={"access_token": token, "media_id": result["media_id"]},
        timeout=5,
    )
    assert fetched.content == PNG

    sb.clock.advance(3 * 86400)
    token = client.token(DEMO_SECRET)
    assert client.post("message/send", body, token)["errcode"] == 40007


def test_upload_errors(sb, client):
    token = client.token(DEMO_SECRET)
    assert upload(sb, token, "gif", PNG)["errcode"] == 40005
    assert upload(sb, token, "image", b"")["errcode"] == 44001
    assert upload(sb, token, "image", b"\x89PNG")["errcode"] == 40006
    assert upload(sb, token, "image", b"GIF89a" + b"\x00" * 10)["errcode"] == 40004
    assert (
        upload(sb, token, "image", PNG + b"\x00" * (10 * 1024 * 1024))["errcode"]
        == 40009
    )
    assert (
        upload(sb, token, "voice", b"#!AMR" + b"\x00" * (2 * 1024 * 1024))["errcode"]
        == 45001
    )
    missing = requests.post(
        f"{sb.url}/cgi-bin/media/upload",
        params={"access_token": token, "type": "file"},
        files={"other": ("a.txt", b"hello world")},
        timeout=5,
    ).json()
    assert missing["errcode"] == 44001


def test_uploadimg_returns_a_url_served_by_the_sandbox(sb, client):
    token = client.token(DEMO_SECRET)
    result = upload(sb, token, None, PNG, api="media/uploadimg")
    assert result["errcode"] == 0 and result["url"].startswith(sb.url + "/sandbox/img/")
    assert requests.get(result["url"], timeout=5).content == PNG
    too_big = upload(
        sb, token, None, PNG + b"\x00" * (2 * 1024 * 1024), api="media/uploadimg"
    )
    assert too_big["errcode"] == 40009
