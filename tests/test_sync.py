"""Member sync against a seeded corp of a few hundred members: the exact plan,
apply, the empty second run, and each way a binding can go wrong."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import requests
from click.testing import CliRunner, Result

from ext_host.errors import HostError
from wecom_sandbox import Sandbox

CORPID = "wwsync00000000000a"
CONTACTS_SECRET = "contacts_sync-secret-00000000000000000000000"
DEMO_SECRET = "demo_app-secret-000000000000000000000000000a"
NEW_SECRET = "new_app-secret-0000000000000000000000000000b"

ROOT = "示例集团"
SALES, EAST, SOUTH = f"{ROOT}/销售部", f"{ROOT}/销售部/华东区", f"{ROOT}/销售部/华南区"
RD, PLATFORM = f"{ROOT}/研发部", f"{ROOT}/研发部/平台组"
MOBILE, IOS, FINANCE = (
    f"{ROOT}/研发部/移动组",
    f"{ROOT}/研发部/移动组/iOS",
    f"{ROOT}/财务部",
)
LEAVES = [3, 4, 6, 8, 9]
GROUP_OF = {3: EAST, 4: SOUTH, 6: PLATFORM, 8: IOS, 9: FINANCE}
BULK = 300


def seeded_corp() -> dict[str, Any]:
    members: list[dict[str, Any]] = [
        {
            "userid": f"u{i:03d}",
            "name": f"成员{i:03d}",
            "department": [LEAVES[i % len(LEAVES)]],
            "mobile": f"139{i:08d}",
        }
        for i in range(BULK)
    ]
    members += [
        {
            "userid": "ChenDongPing",
            "name": "陈东平",
            "department": [3, 6],
            "mobile": "13800000002",
        },
        {
            "userid": "zhangsan",
            "name": "张三",
            "department": [2],
            "mobile": "13800000001",
        },
        {"userid": "disabled", "name": "停用", "department": [9], "status": 2},
        {
            "userid": "gone",
            "name": "离职",
            "department": [9],
            "status": 5,
            "mobile": "13800000009",
        },
        {"userid": "notyet", "name": "未激活", "department": [8], "status": 4},
    ]
    return {
        "corpid": CORPID,
        "name": ROOT,
        "contacts_secret": CONTACTS_SECRET,
        "errmsg_hints": True,
        "seats": 400,
        "departments": [
            {"id": 1, "name": ROOT, "parentid": 0, "order": 1},
            {"id": 2, "name": "销售部", "parentid": 1, "order": 1},
            {"id": 3, "name": "华东区", "parentid": 2, "order": 1},
            {"id": 4, "name": "华南区", "parentid": 2, "order": 2},
            {"id": 5, "name": "研发部", "parentid": 1, "order": 2},
            {"id": 6, "name": "平台组", "parentid": 5, "order": 1},
            {"id": 7, "name": "移动组", "parentid": 5, "order": 2},
            {"id": 8, "name": "iOS", "parentid": 7, "order": 1},
            {"id": 9, "name": "财务部", "parentid": 1, "order": 3},
        ],
        "members": members,
        "apps": [
            {
                "agentid": 1000008,
                "name": "DEMO",
                "secret": DEMO_SECRET,
                "allow_partys": [1],
            },
            {
                "agentid": 1000010,
                "name": "新应用",
                "secret": NEW_SECRET,
                "allow_partys": [1],
                "created_after_2022": True,
            },
        ],
    }


@pytest.fixture
def corp() -> dict[str, Any]:
    return seeded_corp()


@pytest.fixture
def sandbox(corp):
    with Sandbox(corp) as sb:
        yield sb


def configure(host, sb: Sandbox, **extra: Any) -> None:
    values = {
        "corpid": sb.corpid,
        "app_secrets": DEMO_SECRET,
        "contacts_secret": CONTACTS_SECRET,
        "server_address": "http://127.0.0.1:8080",
        "api_base": sb.url,
        "oauth_base": sb.url,
    }
    host.options.set("wecom", {**values, **extra})


@pytest.fixture
def host(make_host, wecom_archive, sandbox):
    host = make_host([wecom_archive])
    configure(host, sandbox)
    return host


def seed_users(host) -> None:
    host.users.add("admin", admin=True)
    host.users.add("chen", fields={"wecom.account": "chendongping"})
    host.users.add("zs", phone="+86 138-0000-0001")
    host.users.add("leaver", alias="离职", fields={"wecom.account": "gone"})
    host.users.add("stopped", alias="停用", fields={"wecom.account": "disabled"})


def sync(host, apply: bool = False, seats: int | None = None):
    return host.options.run_action("wecom", "sync_apply" if apply else "sync_preview")


def plan_of(host, apply: bool = False):
    from_panel = sync(host, apply)
    assert from_panel.ok, from_panel.message
    return from_panel.data


def users_table(host) -> dict[str, tuple]:
    return {
        u.name: (u.alias, u.phone, u.enabled, u.fields.get("wecom.account"), u.groups)
        for u in host.users.all()
    }


#: Member ``disabled`` gets no host user unless one is bound to it already.
DISABLED_SKIP = {"what": "member", "name": "disabled", "reason": "disabled in WeCom"}
EMPTY_USERS = {
    "create": [],
    "update": [],
    "bind": [],
    "disable": [],
    "ambiguous": [],
    "skipped": [],
}
SEATS_NOTE = (
    "授权账号数 (seats) is not set; the mobile lookup budget assumes 304 seats "
    "(the member count); set it in 微信设置 or pass --seats for the corp's full budget"
)


def expected_creates() -> list[dict[str, Any]]:
    bulk = [
        {
            "user": f"u{i:03d}",
            "member": f"u{i:03d}",
            "alias": f"成员{i:03d}",
            "phone": f"139{i:08d}",
            "groups": [GROUP_OF[LEAVES[i % len(LEAVES)]]],
            "enabled": True,
        }
        for i in range(BULK)
    ]
    notyet = {
        "user": "notyet",
        "member": "notyet",
        "alias": "未激活",
        "phone": "",
        "groups": [IOS],
        "enabled": True,
    }
    return [notyet] + bulk


def test_dry_run_gives_the_exact_plan_and_changes_nothing(host):
    seed_users(host)
    before = users_table(host)

    plan = plan_of(host)

    assert plan["applied"] is False
    assert plan["counts"] == {
        "group_create": 9,
        "group_update": 0,
        "create": 301,
        "update": 1,
        "bind": 1,
        "disable": 2,
        "ambiguous": 0,
        "skipped": 0,
    }
    parents = [None, ROOT, SALES, SALES, ROOT, RD, RD, MOBILE, ROOT]
    names = [ROOT, SALES, EAST, SOUTH, RD, PLATFORM, MOBILE, IOS, FINANCE]
    assert plan["groups"] == {
        "create": [
            {"department": d, "name": n, "parent": p}
            for d, n, p in zip(range(1, 10), names, parents, strict=True)
        ],
        "update": [],
    }
    users = plan["users"]
    assert users["create"] == expected_creates()
    assert users["update"] == [
        {
            "user": "chen",
            "member": "ChenDongPing",
            "changes": {
                "alias": ["", "陈东平"],
                "phone": ["", "13800000002"],
                "groups": [sorted([EAST, PLATFORM]), [], [3, 6]],
            },
        }
    ]
    assert users["bind"] == [
        {
            "user": "zs",
            "member": "zhangsan",
            "by": "phone",
            "changes": {"alias": ["", "张三"], "groups": [[SALES], [], [2]]},
        }
    ]
    assert users["disable"] == [
        {"user": "leaver", "reason": "no longer in WeCom's contacts (left the corp)"},
        {"user": "stopped", "reason": "disabled in WeCom"},
    ]
    assert plan["notes"] == [SEATS_NOTE]
    assert users_table(host) == before
    assert host.users.groups() == []


def test_apply_then_a_second_run_changes_nothing(host, sandbox, wecom_archive):
    seed_users(host)
    preview = plan_of(host)

    applied = plan_of(host, apply=True)

    assert applied["applied"] is True
    assert applied["groups"] == preview["groups"]
    assert applied["users"] == preview["users"]
    table = users_table(host)
    assert len(table) == 5 + 301
    assert table["chen"] == (
        "陈东平",
        "13800000002",
        True,
        "chendongping",
        sorted([EAST, PLATFORM]),
    )
    assert table["zs"] == ("张三", "+86 138-0000-0001", True, "zhangsan", [SALES])
    assert table["leaver"] == ("离职", "", False, "gone", [])
    assert table["stopped"] == ("停用", "", False, "disabled", [])
    assert table["admin"] == ("", "", True, None, [])
    assert table["u007"] == ("成员007", "13900000007", True, "u007", [PLATFORM])
    groups = {g.name: g for g in host.users.groups("wecom")}
    assert {n: (g.external_id, g.parent_id) for n, g in groups.items()} == {
        ROOT: ("1", None),
        SALES: ("2", groups[ROOT].id),
        EAST: ("3", groups[SALES].id),
        SOUTH: ("4", groups[SALES].id),
        RD: ("5", groups[ROOT].id),
        PLATFORM: ("6", groups[RD].id),
        MOBILE: ("7", groups[RD].id),
        IOS: ("8", groups[MOBILE].id),
        FINANCE: ("9", groups[ROOT].id),
    }

    again = plan_of(host, apply=True)
    assert again["counts"] == dict.fromkeys(again["counts"], 0)
    assert again["groups"] == {"create": [], "update": []}
    assert again["users"] == EMPTY_USERS
    assert again["notes"] == []
    assert users_table(host) == table


def test_a_renamed_department_updates_its_group_and_the_path_below(
    host, corp, make_host, wecom_archive
):
    plan_of(host, apply=True)
    before = {g.external_id: g.id for g in host.users.groups("wecom")}
    renamed = copy.deepcopy(corp)
    renamed["departments"][1]["name"] = "市场部"
    with Sandbox(renamed) as sb:
        configure(host, sb)
        plan = plan_of(host, apply=True)
    new = f"{ROOT}/市场部"
    assert plan["groups"]["update"] == [
        {"department": 2, "name": new, "parent": ROOT, "was": SALES},
        {"department": 3, "name": f"{new}/华东区", "parent": new, "was": EAST},
        {"department": 4, "name": f"{new}/华南区", "parent": new, "was": SOUTH},
    ]
    assert plan["users"] == {**EMPTY_USERS, "skipped": [DISABLED_SKIP]}
    after = {g.external_id: g.id for g in host.users.groups("wecom")}
    assert after == before
    assert host.users.get("u000").groups == [f"{new}/华东区"]


def test_two_users_with_one_phone_are_both_ambiguous(host, sandbox):
    host.users.add("a1", phone="13800000001")
    host.users.add("a2", phone="138 0000 0001")
    plan = plan_of(host, apply=True)
    assert plan["users"]["ambiguous"] == [
        {
            "user": "a1",
            "phone": "13800000001",
            "others": ["a2"],
            "reason": "phone 13800000001 is also the phone of a2; set the WeChat "
            "account by hand",
        },
        {
            "user": "a2",
            "phone": "13800000001",
            "others": ["a1"],
            "reason": "phone 13800000001 is also the phone of a1; set the WeChat "
            "account by hand",
        },
    ]
    assert plan["users"]["bind"] == []
    assert "zhangsan" in [u["user"] for u in plan["users"]["create"]]
    assert sandbox.call_count("user/getuserid") == 0
    assert host.users.get("a1").fields == {}


@pytest.mark.parametrize(
    ("phone", "outcome"),
    [
        ("+86 138 0000 0001", "bind"),
        ("86-138-0000-0001", "bind"),
        ("138-0000-0001", "bind"),
        ("1380000000", "skipped"),
        ("+1 555 010 0000", "skipped"),
        ("23800000001", "skipped"),
    ],
)
def test_phones_are_normalised_before_the_lookup(host, sandbox, phone, outcome):
    host.users.add("p", phone=phone)
    users = plan_of(host)["users"]
    if outcome == "bind":
        assert [(u["user"], u["member"]) for u in users["bind"]] == [("p", "zhangsan")]
        assert sandbox.calls[-1]["body"] == {"mobile": "13800000001"}
    else:
        assert users["skipped"] == [
            {
                "what": "user",
                "name": "p",
                "reason": f"phone {phone!r} is not a mainland China mobile number "
                "(11 digits starting with 1, optionally +86); fix it or set the "
                "WeChat account by hand",
            },
            DISABLED_SKIP,
        ]
        assert sandbox.call_count("user/getuserid") == 0


def test_a_member_who_left_is_disabled_and_keeps_push_history(
    host, corp, sandbox, make_host
):
    host.users.add("lisa", fields={"wecom.account": "u001"})
    host.reports.get("group-report")
    from_push = host.menus.run(
        "report",
        "wecom.push",
        "group-report",
        {"app": "DEMO", "title": "日报", "users": "lisa"},
    )
    assert from_push.ok
    plan_of(host, apply=True)

    left = copy.deepcopy(corp)
    left["members"][1]["status"] = 5
    with Sandbox(left) as sb:
        configure(host, sb)
        plan = plan_of(host, apply=True)
    assert plan["users"]["disable"] == [
        {"user": "lisa", "reason": "no longer in WeCom's contacts (left the corp)"}
    ]
    lisa = host.users.get("lisa")
    assert (lisa.enabled, lisa.fields) == (False, {"wecom.account": "u001"})
    pushes = host.store.query("SELECT touser, state FROM wecom_pushes")
    assert [tuple(r) for r in pushes] == [("u001", "sent")]

    # Back in WeCom: the sync enables the user it disabled.
    configure(host, sandbox)
    back = plan_of(host, apply=True)
    assert back["users"]["update"] == [
        {"user": "lisa", "member": "u001", "changes": {"enabled": [False, True]}}
    ]
    assert host.users.get("lisa").enabled is True


def test_a_user_disabled_by_hand_stays_disabled(host):
    host.users.add(
        "hand", alias="成员001", enabled=False, fields={"wecom.account": "u001"}
    )
    host.users.update("hand", phone="13900000001")
    plan = plan_of(host, apply=True)
    assert [u for u in plan["users"]["update"] if u["user"] == "hand"] == [
        {
            "user": "hand",
            "member": "u001",
            "changes": {"groups": [[SOUTH], [], [4]]},
        }
    ]
    assert host.users.get("hand").enabled is False


def test_an_app_without_phone_access_still_syncs(make_host, wecom_archive, corp):
    corp["contacts_new_ip"] = True
    with Sandbox(corp) as sb:
        host = make_host([wecom_archive])
        configure(host, sb, app_secrets=NEW_SECRET)
        host.users.add("zs", phone="13800000001")
        plan = plan_of(host, apply=True)
    assert plan["notes"] == [
        "WeCom lets the contacts secret list only ids from this server's IP "
        "(errcode 48009); member details were read with app 新应用, within its "
        "visible range (可见范围)",
        "phones unavailable: WeCom gives 新应用 no phone numbers (apps created after "
        "2022-06-20 get none); host users' phones were left as they are and binding "
        "by phone used WeCom's mobile lookup",
        SEATS_NOTE,
    ]
    assert plan["counts"]["create"] == 302
    assert plan["users"]["bind"] == [
        {
            "user": "zs",
            "member": "zhangsan",
            "by": "phone",
            "changes": {"alias": ["", "张三"], "groups": [[SALES], [], [2]]},
        }
    ]
    u5 = host.users.get("u005")
    assert (u5.alias, u5.phone, u5.groups) == ("成员005", "", [EAST])


def test_the_lookup_stops_before_wecom_blocks_it(host, sandbox):
    # 400 seats configured: WeCom blocks past 80 misses; the sync stops at 79.
    host.options.set("wecom", {"seats": "400"})
    for i in range(82):
        host.users.add(f"x{i:02d}", phone=f"137{i:08d}")
    plan = plan_of(host)
    skipped = plan["users"]["skipped"]
    assert skipped.pop() == DISABLED_SKIP
    assert [s["name"] for s in skipped] == [f"x{i:02d}" for i in range(82)]
    assert {s["reason"] for s in skipped[:79]} == {"no WeCom member has this phone"}
    assert {s["reason"] for s in skipped[79:]} == {
        "not looked up: the mobile lookup stopped to stay below WeCom's daily "
        "limit; run the sync again tomorrow"
    }
    assert plan["notes"] == [
        "the mobile lookup stopped after 79 misses today (WeCom blocks it for the "
        "day past 80, a fifth of 400 seats); 3 user(s) were not looked up"
    ]
    assert sandbox.call_count("user/getuserid") == 79

    # The apply that follows asks WeCom nothing it already missed today, and
    # WeCom still answers the lookup.
    host.users.add("zs", phone="13800000001")
    applied = plan_of(host, apply=True)
    zs = {"what": "user", "name": "zs", "reason": skipped[-1]["reason"]}
    assert applied["users"]["skipped"] == [*skipped, zs, DISABLED_SKIP]
    assert applied["users"]["bind"] == []
    assert sandbox.call_count("user/getuserid") == 79
    token = requests.get(
        f"{sandbox.url}/cgi-bin/gettoken",
        params={"corpid": CORPID, "corpsecret": CONTACTS_SECRET},
        timeout=10,
    ).json()["access_token"]
    answer = requests.post(
        f"{sandbox.url}/cgi-bin/user/getuserid",
        params={"access_token": token},
        json={"mobile": "13800000001"},
        timeout=10,
    ).json()
    assert answer == {"errcode": 0, "errmsg": "ok", "userid": "zhangsan"}


def test_seats_set_too_high_meets_wecoms_block_and_says_so(make_host, wecom_archive):
    corp = seeded_corp()
    corp["seats"] = 50  # WeCom blocks after 10 misses
    with Sandbox(corp) as sb:
        host = make_host([wecom_archive])
        configure(host, sb, seats=400)
        for i in range(12):
            host.users.add(f"x{i:02d}", phone=f"137{i:08d}")
        plan = plan_of(host)
    reasons = [s["reason"] for s in plan["users"]["skipped"] if s["what"] == "user"]
    blocked = (
        "not looked up: WeCom has blocked the mobile lookup for today (errcode 45009)"
    )
    assert reasons == ["no WeCom member has this phone"] * 10 + [blocked] * 2
    assert plan["notes"] == [
        "the mobile lookup stopped after 10 misses today (WeCom blocks it for the "
        "day past 80, a fifth of 400 seats); 2 user(s) were not looked up"
    ]


def test_an_app_secret_as_contacts_secret_is_refused(host, sandbox):
    configure(host, sandbox, contacts_secret=DEMO_SECRET, app_secrets=NEW_SECRET)
    host.users.add("kept", fields={"wecom.account": "nobody"})
    result = sync(host, apply=True)
    assert result.ok is False
    assert result.message == (
        "通讯管理Secret: WeCom refused user/list_id (errcode 48002): this is an app's "
        "secret, not the contacts secret; copy the secret of 管理工具 > 通讯录同步 "
        "(contacts sync) into 通讯管理Secret"
    )
    assert host.users.get("kept").enabled is True
    assert host.users.groups() == []


def test_a_wrong_contacts_secret_is_refused(host, sandbox):
    configure(host, sandbox, contacts_secret="wrong_secret-000000000000000000")
    result = sync(host)
    assert result.ok is False
    assert result.message == (
        "通讯管理Secret: WeCom gettoken failed: errcode 40001 (invalid credential); "
        "the secret is wrong or was reset; copy it again from the app's page"
    )
    assert "wrong_secret" not in result.message


def test_no_contacts_secret_says_where_to_get_it(make_host, wecom_archive, sandbox):
    host = make_host([wecom_archive])
    configure(host, sandbox, contacts_secret="")
    result = sync(host)
    assert (result.ok, result.message) == (
        False,
        "微信设置: 通讯管理Secret (contacts secret) is not set; copy it from WeCom's "
        "管理工具 > 通讯录同步 and `ext-host options set wecom contacts_secret=-`",
    )


def run_cli(host, *args: str) -> Result:
    """``ext-host wecom ARGS`` on the command the loaded extension contributes.

    Limitation: main's CLI resolves extension commands before it builds the
    host, so a subprocess cannot reach them yet; the CLI fix on its way runs
    exactly this command.
    """
    wecom = next(c for _, c in host.collect("cli_commands") if c.name == "wecom")
    return CliRunner().invoke(wecom, list(args), catch_exceptions=True)


def test_cli_dry_run_then_apply_then_nothing(host):
    seed_users(host)
    dry = run_cli(host, "sync", "--dry-run", "--seats", "400")
    assert dry.exit_code == 0, dry.output
    lines = dry.stdout.splitlines()
    assert lines[:3] == [
        "member sync: dry run, nothing changed",
        "groups: 9 create, 0 update",
        "users: 301 create, 1 update, 1 bind, 2 disable, 0 ambiguous, 0 skipped",
    ]
    assert lines[3] == f"create group {ROOT} (department 1)"
    assert lines[12] == f"create user notyet (未激活) in {IOS}"
    assert lines[13] == f"create user u000 (成员000) in {EAST}"
    assert lines[-4:] == [
        f"update user chen: alias '' -> '陈东平'; phone '' -> '13800000002'; "
        f"groups +{PLATFORM} +{EAST}",
        f"bind user zs -> member zhangsan (by phone): alias '' -> '张三'; groups +{SALES}",
        "disable user leaver: no longer in WeCom's contacts (left the corp)",
        "disable user stopped: disabled in WeCom",
    ]
    assert "reading WeCom departments" in dry.stderr
    assert "looking up phones in WeCom" in dry.stderr
    assert host.users.find("u000") is None

    applied = run_cli(host, "sync")
    assert applied.exit_code == 0, applied.output
    assert applied.stdout.splitlines()[0] == "member sync: applied"
    assert applied.stdout.splitlines()[1:-1] == lines[1:]
    assert host.users.get("u000").groups == [EAST]

    again = run_cli(host, "sync")
    assert again.stdout.splitlines() == [
        "member sync: applied",
        "groups: 0 create, 0 update",
        "users: 0 create, 0 update, 0 bind, 0 disable, 0 ambiguous, 0 skipped",
    ]
    for out in (dry, applied, again):
        assert CONTACTS_SECRET not in out.stdout + out.stderr


def test_cli_error_names_the_secret_to_fix(host, sandbox):
    configure(host, sandbox, contacts_secret=DEMO_SECRET)
    result = run_cli(host, "sync", "--dry-run")
    assert isinstance(result.exception, HostError)
    assert str(result.exception) == (
        "通讯管理Secret: WeCom refused user/list_id (errcode 48002): this is "
        "an app's secret, not the contacts secret; copy the secret of 管理工具 > "
        "通讯录同步 (contacts sync) into 通讯管理Secret"
    )
    assert result.stdout == ""
    assert run_cli(host, "sync", "--seats", "0").exit_code == 2
