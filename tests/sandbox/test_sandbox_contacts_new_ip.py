"""The 2022-08-15 rule: a contacts secret used from a new IP may list ids only."""

import copy

import pytest
from sandbox_corp import CONTACTS_SECRET, TEST_CORP, Client

from wecom_sandbox import Sandbox


@pytest.fixture
def client():
    corp = copy.deepcopy(TEST_CORP)
    corp["contacts_new_ip"] = True
    with Sandbox(corp) as sb:
        yield Client(sb)


def test_contacts_secret_from_a_new_ip_gets_48009_for_details(client):
    contacts = client.token(CONTACTS_SECRET)
    refused = [
        client.get("department/list", access_token=contacts)["errcode"],
        client.get("user/get", access_token=contacts, userid="zhangsan")["errcode"],
        client.get("user/list", access_token=contacts, department_id=1)["errcode"],
    ]
    assert refused == [48009, 48009, 48009]

    simple = client.get("department/simplelist", access_token=contacts)
    assert [d["id"] for d in simple["department_id"]] == [1, 2, 3, 4]
    ids = client.post("user/list_id", {"limit": 10}, contacts)
    assert [d["userid"] for d in ids["dept_user"]] == [
        "zhangsan",
        "ChenDongPing",
        "lisi",
        "zhaomin",
        "disabled",
    ]
    found = client.post("user/getuserid", {"mobile": "13800000003"}, contacts)
    assert found["userid"] == "lisi"


def test_app_tokens_are_not_affected(client):
    demo = client.token()
    assert client.get("user/get", access_token=demo, userid="zhangsan")["errcode"] == 0
