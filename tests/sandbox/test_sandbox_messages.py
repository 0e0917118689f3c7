import pytest
from sandbox_corp import CONTACTS_SECRET, OTHER_SECRET


def news(**article):
    article = {"title": "销售日报", "url": "http://demo.example.com/r/1", **article}
    return {"articles": [article]}


def send(client, token, **fields):
    body = {"agentid": 1000008, "msgtype": "text", "text": {"content": "hi"}, **fields}
    return client.post("message/send", body, token)


@pytest.fixture
def token(client):
    return client.token()


def test_send_news_lands_in_inbox(sb, client, token):
    result = send(client, token, touser="zhangsan", msgtype="news", news=news())
    assert result["errcode"] == 0
    assert (result["invaliduser"], result["invalidparty"], result["invalidtag"]) == (
        "",
        "",
        "",
    )
    assert result["unlicenseduser"] == ""
    inbox = sb.inbox("zhangsan")
    assert [m["msgid"] for m in inbox] == [result["msgid"]]
    assert inbox[0]["msgtype"] == "news"
    assert inbox[0]["agentid"] == 1000008
    assert inbox[0]["news"] == news()


def test_partly_invalid_recipients_are_listed_lower_cased(sb, client, token):
    result = send(
        client,
        token,
        touser="ZhangSan|NoBody|zhaomin|disabled",
        toparty="2|99|4",
        totag="1|7",
    )
    assert result["errcode"] == 0
    assert result["invaliduser"] == "nobody|zhaomin|disabled"
    assert result["invalidparty"] == "99|4"
    assert result["invalidtag"] == "7"
    # Department 2 includes its sub-department 3; each member gets one copy.
    for userid in ("zhangsan", "chendongping", "lisi"):
        assert len(sb.inbox(userid)) == 1
    assert sb.inbox("zhaomin") == []
    assert sb.inbox("disabled") == []


def test_all_invalid_is_81013(client, token):
    result = send(client, token, touser="zhaomin|nobody", toparty="4")
    assert (result["errcode"], result["errmsg"]) == (
        81013,
        "user & party & tag all invalid",
    )


def test_at_all_reaches_the_visible_range_and_ignores_party(sb, client, token):
    assert send(client, token, touser="@all", toparty="4")["errcode"] == 0
    got = {
        u
        for u in ("zhangsan", "chendongping", "lisi", "zhaomin", "disabled")
        if sb.inbox(u)
    }
    assert got == {"zhangsan", "chendongping", "lisi"}


@pytest.mark.parametrize(
    "fields, errcode",
    [
        ({"agentid": None}, 41011),
        ({"agentid": "abc"}, 40056),
        ({"agentid": 1000009}, 301002),
        ({"msgtype": "video2"}, 40008),
        ({"touser": "", "toparty": "", "totag": ""}, 82001),
        ({"touser": "|".join(f"u{i}" for i in range(1001))}, 40032),
        ({"toparty": "|".join(str(i) for i in range(101))}, 82002),
        ({"totag": "|".join(str(i) for i in range(101))}, 82003),
        ({"text": {"content": ""}}, 44004),
        (
            {
                "msgtype": "news",
                "news": {"articles": [{"title": "t", "url": "http://a"}] * 9},
            },
            45008,
        ),
        (
            {
                "msgtype": "news",
                "safe": 1,
                "news": {"articles": [{"title": "t", "url": "http://a"}]},
            },
            40074,
        ),
        ({"msgtype": "news", "news": {"articles": [{"title": "t"}]}}, 40058),
        (
            {
                "msgtype": "news",
                "news": {"articles": [{"title": "t", "url": "http://a/" + "x" * 2048}]},
            },
            40058,
        ),
        (
            {
                "msgtype": "news",
                "news": {
                    "articles": [
                        {
                            "title": "t",
                            "url": "http://a",
                            "picurl": "http://p/" + "x" * 2048,
                        }
                    ]
                },
            },
            40058,
        ),
        ({"msgtype": "textcard", "textcard": {"title": "t", "url": "http://a"}}, 41033),
    ],
)
def test_send_errors(client, token, fields, errcode):
    body = {"touser": "zhangsan", **fields}
    assert send(client, token, **body)["errcode"] == errcode


def test_agentid_as_string_is_accepted(client, token):
    assert send(client, token, touser="zhangsan", agentid="1000008")["errcode"] == 0


def test_contacts_token_cannot_send(client):
    token = client.token(CONTACTS_SECRET)
    assert send(client, token, touser="zhangsan")["errcode"] == 48002


def test_long_fields_are_truncated_on_utf8_boundaries(sb, client, token):
    send(client, token, touser="zhangsan", text={"content": "报" * 700})  # 2100 bytes
    text = sb.inbox("zhangsan")[0]["text"]["content"]
    assert text == "报" * 682  # 2046 bytes: the 683rd character would pass 2048

    article = {"title": "标" * 50, "description": "述" * 200, "url": "http://a"}
    send(client, token, touser="zhangsan", msgtype="news", news={"articles": [article]})
    sent = sb.inbox("zhangsan")[1]["news"]["articles"][0]
    assert sent["title"] == "标" * 42
    assert sent["description"] == "述" * 170


def test_textcard_and_markdown(sb, client, token):
    card = {
        "title": "日报",
        "description": '<div class="gray">今日</div>',
        "url": "http://a",
    }
    assert (
        send(client, token, touser="zhangsan", msgtype="textcard", textcard=card)[
            "errcode"
        ]
        == 0
    )
    send(
        client,
        token,
        touser="zhangsan",
        msgtype="markdown",
        markdown={"content": "**b**"},
    )
    inbox = sb.inbox("zhangsan")
    assert inbox[0]["textcard"] == card
    assert inbox[1]["markdown"] == {"content": "**b**"}


def test_duplicate_check_accepts_but_does_not_deliver_again(sb, client, token):
    body = {
        "touser": "zhangsan",
        "enable_duplicate_check": 1,
        "duplicate_check_interval": 60,
    }
    first = send(client, token, **body)
    second = send(client, token, **body)
    assert first["errcode"] == second["errcode"] == 0
    assert len(sb.inbox("zhangsan")) == 1

    sb.clock.advance(61)
    send(client, token, **body)
    assert len(sb.inbox("zhangsan")) == 2


def test_per_member_limit_drops_silently(sb, client, token):
    for i in range(31):
        result = send(client, token, touser="zhangsan", text={"content": f"#{i}"})
        assert result["errcode"] == 0
    assert len(sb.inbox("zhangsan")) == 30
    dropped = sb.dropped("zhangsan")
    assert [d["text"]["content"] for d in dropped] == ["#30"]
    assert dropped[0]["reason"] == "per_minute"

    sb.clock.advance(60)
    send(client, token, touser="zhangsan")
    assert len(sb.inbox("zhangsan")) == 31


def test_member_limit_can_be_lowered(sb, client, token):
    sb.faults.member_limit(per_minute=2)
    for _ in range(3):
        send(client, token, touser="zhangsan")
    assert len(sb.inbox("zhangsan")) == 2
    assert len(sb.dropped("zhangsan")) == 1


def test_daily_quota_of_person_times(corp):
    from sandbox_corp import Client

    from wecom_sandbox import Sandbox

    corp["apps"][0]["daily_quota"] = 3
    with Sandbox(corp) as sb:
        client = Client(sb)
        token = client.token()
        assert send(client, token, toparty="2")["errcode"] == 0  # 3 members
        assert send(client, token, touser="zhangsan")["errcode"] == 45009
        sb.clock.advance(86400)
        assert send(client, client.token(), touser="zhangsan")["errcode"] == 0


def test_recall(sb, client, token):
    msgid = send(client, token, touser="zhangsan|lisi")["msgid"]
    assert client.post("message/recall", {"msgid": msgid}, token)["errcode"] == 0
    assert sb.inbox("zhangsan") == [] and sb.inbox("lisi") == []

    other = client.token(OTHER_SECRET)
    msgid = send(client, token, touser="zhangsan")["msgid"]
    assert client.post("message/recall", {"msgid": msgid}, other)["errcode"] == 40058
    assert client.post("message/recall", {"msgid": "nope"}, token)["errcode"] == 40058

    sb.clock.advance(24 * 3600 + 1)
    token = client.token()
    assert client.post("message/recall", {"msgid": msgid}, token)["errcode"] == 42052


def test_statistics_counts_person_times(sb, client, token):
    send(client, token, touser="zhangsan|lisi")
    today = client.post("message/get_statistics", {"time_type": 0}, token)
    assert today["statistics"] == [{"agentid": 1000008, "app_name": "DEMO", "count": 2}]
    sb.clock.advance(86400)
    token = client.token()
    yesterday = client.post("message/get_statistics", {"time_type": 1}, token)
    assert yesterday["statistics"][0]["count"] == 2


def test_thousand_recipients_is_fast(corp):
    import time

    from sandbox_corp import Client

    from wecom_sandbox import Sandbox

    corp["members"] += [
        {"userid": f"m{i:05d}", "name": f"成员{i}", "department": [2]}
        for i in range(3000)
    ]
    with Sandbox(corp) as sb:
        client = Client(sb)
        token = client.token()
        users = "|".join(f"M{i:05d}" for i in range(1000))
        started = time.monotonic()
        result = send(client, token, touser=users)
        assert time.monotonic() - started < 1.0
        assert result["errcode"] == 0 and result["invaliduser"] == ""
        assert len(sb.inbox("m00999")) == 1
