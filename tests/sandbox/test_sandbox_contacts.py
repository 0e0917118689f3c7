import pytest
from sandbox_corp import CONTACTS_SECRET, OTHER_SECRET


@pytest.fixture
def demo(client):
    return client.token()


@pytest.fixture
def contacts(client):
    return client.token(CONTACTS_SECRET)


def ids(body, key="department"):
    return [d["id"] for d in body[key]]


def test_department_list_is_limited_to_the_visible_range(client, demo, contacts):
    assert ids(client.get("department/list", access_token=contacts)) == [1, 2, 3, 4]
    assert ids(client.get("department/list", access_token=demo)) == [2, 3]
    assert ids(client.get("department/list", access_token=demo, id=2)) == [2, 3]
    assert client.get("department/list", access_token=demo, id=4)["errcode"] == 60011
    assert client.get("department/list", access_token=demo, id=99)["errcode"] == 60003
    dept = client.get("department/list", access_token=contacts, id=3)["department"][0]
    assert dept == {
        "id": 3,
        "name": "华东组",
        "name_en": "",
        "department_leader": [],
        "parentid": 2,
        "order": 1,
    }


def test_department_simplelist_and_get(client, contacts):
    simple = client.get("department/simplelist", access_token=contacts, id=2)
    assert simple["department_id"] == [
        {"id": 2, "parentid": 1, "order": 1},
        {"id": 3, "parentid": 2, "order": 1},
    ]
    got = client.get("department/get", access_token=contacts, id=4)
    assert got["department"]["name"] == "财务部"


def test_user_get(client, demo, contacts):
    zs = client.get("user/get", access_token=demo, userid="ZHANGSAN")
    assert zs["userid"] == "zhangsan" and zs["mobile"] == "13800000001"
    assert zs["department"] == [2] and zs["status"] == 1 and zs["gender"] == "1"
    assert (
        client.get("user/get", access_token=demo, userid="zhaomin")["errcode"] == 60111
    )
    assert (
        client.get("user/get", access_token=contacts, userid="zhaomin")["errcode"] == 0
    )
    assert (
        client.get("user/get", access_token=contacts, userid="gone")["errcode"] == 60111
    )
    assert (
        client.get("user/get", access_token=contacts, userid="nope")["errcode"] == 60111
    )


def test_apps_created_after_2022_get_no_sensitive_fields(client):
    token = client.token(OTHER_SECRET)
    zs = client.get("user/get", access_token=token, userid="zhangsan")
    assert zs["errcode"] == 0 and zs["name"] == "张三"
    for name in (
        "mobile",
        "email",
        "avatar",
        "gender",
        "biz_mail",
        "qr_code",
        "address",
    ):
        assert name not in zs


def test_user_lists(client, demo, contacts):
    simple = client.get("user/simplelist", access_token=demo, department_id=2)
    assert [u["userid"] for u in simple["userlist"]] == [
        "zhangsan",
        "ChenDongPing",
        "disabled",
    ]
    child = client.get("user/list", access_token=demo, department_id=2, fetch_child=1)
    assert [u["userid"] for u in child["userlist"]] == [
        "zhangsan",
        "ChenDongPing",
        "lisi",
        "disabled",
    ]
    assert child["userlist"][0]["mobile"] == "13800000001"
    assert (
        client.get("user/list", access_token=demo, department_id=4)["errcode"] == 60011
    )
    every = client.get(
        "user/list", access_token=contacts, department_id=1, fetch_child=1
    )
    assert "gone" not in [u["userid"] for u in every["userlist"]]


def test_user_list_id_pages_with_a_cursor(client, demo, contacts):
    assert client.post("user/list_id", {"limit": 2}, demo)["errcode"] == 48002
    first = client.post("user/list_id", {"limit": 3}, contacts)
    assert [d["userid"] for d in first["dept_user"]] == [
        "zhangsan",
        "ChenDongPing",
        "lisi",
    ]
    rest = client.post("user/list_id", {"cursor": first["next_cursor"]}, contacts)
    assert [d["userid"] for d in rest["dept_user"]] == ["zhaomin", "disabled"]
    assert rest["next_cursor"] == ""
    assert rest["dept_user"][0] == {"userid": "zhaomin", "department": 4}


def test_getuserid(client, demo, contacts):
    found = client.post("user/getuserid", {"mobile": "13800000001"}, demo)
    assert found == {"errcode": 0, "errmsg": "ok", "userid": "zhangsan"}
    assert (
        client.post("user/getuserid", {"mobile": "13800000004"}, demo)["errcode"]
        == 46004
    )
    assert (
        client.post("user/getuserid", {"mobile": "13800000004"}, contacts)["errcode"]
        == 0
    )


def test_getuserid_misses_are_budgeted_per_day(sb, client, contacts):
    # 6 members -> 100 seats -> 20 misses a day.
    for i in range(20):
        miss = client.post("user/getuserid", {"mobile": f"1390000{i:04d}"}, contacts)
        assert miss["errcode"] == 46004
    blocked = client.post("user/getuserid", {"mobile": "13800000001"}, contacts)
    assert blocked["errcode"] == 45009

    sb.clock.advance(86400)
    contacts = client.token(CONTACTS_SECRET)
    assert (
        client.post("user/getuserid", {"mobile": "13800000001"}, contacts)["errcode"]
        == 0
    )
