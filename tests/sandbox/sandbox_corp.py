"""The small test corp and a minimal WeCom client used by the sandbox tests."""

from __future__ import annotations

from typing import Any

import requests

from wecom_sandbox import Sandbox

CORPID = "wwtest0000000001"
CONTACTS_SECRET = "contacts-secret-0000000000000000000000000000"
DEMO_SECRET = "demo_secret-000000000000000000000000000000a"
OTHER_SECRET = "other_secret-00000000000000000000000000000b"

TEST_CORP: dict[str, Any] = {
    "corpid": CORPID,
    "name": "测试企业",
    "contacts_secret": CONTACTS_SECRET,
    "errmsg_hints": False,
    "departments": [
        {"id": 1, "name": "测试企业", "parentid": 0, "order": 1},
        {"id": 2, "name": "销售部", "parentid": 1, "order": 1},
        {"id": 3, "name": "华东组", "parentid": 2, "order": 1},
        {"id": 4, "name": "财务部", "parentid": 1, "order": 2},
    ],
    "members": [
        {
            "userid": "zhangsan",
            "name": "张三",
            "department": [2],
            "mobile": "13800000001",
            "email": "zs@example.com",
            "gender": "1",
        },
        {
            "userid": "ChenDongPing",
            "name": "陈东平",
            "department": [2],
            "mobile": "13800000002",
        },
        {"userid": "lisi", "name": "李四", "department": [3], "mobile": "13800000003"},
        {
            "userid": "zhaomin",
            "name": "赵敏",
            "department": [4],
            "mobile": "13800000004",
        },
        {"userid": "disabled", "name": "停用", "department": [2], "status": 2},
        {
            "userid": "gone",
            "name": "离职",
            "department": [3],
            "status": 5,
            "mobile": "13800000009",
        },
    ],
    "tags": [
        {"tagid": 1, "tagname": "管理层", "userlist": ["zhangsan"], "partylist": []},
        {"tagid": 2, "tagname": "财务", "userlist": ["zhaomin"], "partylist": []},
    ],
    "apps": [
        {
            "agentid": 1000008,
            "name": "DEMO",
            "secret": DEMO_SECRET,
            "trusted_domain": "demo.example.com",
            "allow_users": [],
            "allow_partys": [2],
            "allow_tags": [1],
        },
        {
            "agentid": 1000009,
            "name": "报表推送测试",
            "secret": OTHER_SECRET,
            "trusted_domain": "other.example.com",
            "allow_users": ["zhangsan"],
            "allow_partys": [4],
            "allow_tags": [],
            "created_after_2022": True,
        },
    ],
    "external": [{"openid": "oEXTERNAL0001", "name": "访客"}],
}


class Client:
    """A few lines of WeCom client, enough for tests to read as usage."""

    def __init__(self, sb: Sandbox) -> None:
        self.sb = sb
        self.http = requests.Session()

    def token(self, secret: str = DEMO_SECRET) -> str:
        body = self.get("gettoken", corpid=CORPID, corpsecret=secret)
        assert body["errcode"] == 0, body
        return body["access_token"]

    def get(self, api: str, **params: Any) -> dict[str, Any]:
        resp = self.http.get(f"{self.sb.url}/cgi-bin/{api}", params=params, timeout=10)
        assert resp.status_code == 200
        return resp.json()

    def post(self, api: str, body: Any, token: str | None = None, **params: Any):
        if token is not None:
            params["access_token"] = token
        resp = self.http.post(
            f"{self.sb.url}/cgi-bin/{api}", params=params, json=body, timeout=10
        )
        assert resp.status_code == 200
        return resp.json()
