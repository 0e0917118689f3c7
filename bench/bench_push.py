"""Push fan-out: WeCom calls, wall time and peak memory of a push to 10,000 and
100,000 members, against a naive client (a token per call, one member per
call), in the same run.

Run alone: ``python bench/bench_push.py``.  The sandbox runs in a separate
process (so its memory is not counted) and is asked for its call counts over
HTTP; the host pushes from this process, its peak memory traced with
tracemalloc.  The naive client is measured on a sample of members and
extrapolated linearly; the table says so.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import requests  # noqa: E402

SIZES = (10_000, 100_000)
NAIVE_SAMPLE = 10_000
AGENTID = 1000100
SECRET = "bench_app_secret_000000000000000000000000000"
CORPID = "ww1b2c3d4e5f607182"


def corp(members: int) -> dict[str, Any]:
    return {
        "corpid": CORPID,
        "name": "bench",
        "errmsg_hints": False,
        "departments": [{"id": 1, "name": "bench", "parentid": 0}],
        "members": [
            {"userid": f"{i:06d}", "name": f"m{i}", "department": [1]}
            for i in range(1, members + 1)
        ],
        "apps": [
            {
                "agentid": AGENTID,
                "name": "BENCH",
                "secret": SECRET,
                "allow_partys": [1],
                "daily_quota": 10 * members,
            }
        ],
    }


class SandboxProcess:
    """``python -m wecom_sandbox`` on a free port, seeded with ``members``."""

    def __init__(self, members: int, work: Path):
        seed = work / f"corp-{members}.json"
        seed.write_text(json.dumps(corp(members)))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "wecom_sandbox", "--corp", str(seed), "--port", "0"],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        self.url = line.split(" at ", 1)[1].split(" ", 1)[0]

    def count(self, path: str) -> int:
        resp = requests.get(
            f"{self.url}/sandbox/api/calls", params={"path": path}, timeout=60
        )
        return int(resp.json()["count"])

    def reset(self) -> None:
        requests.post(f"{self.url}/sandbox/api/reset", timeout=60)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def host_push(sb: SandboxProcess, members: int, work: Path) -> dict[str, Any]:
    from ext_host.archive import pack
    from ext_host.config import DEFAULT_CONFIG, load_config
    from ext_host.host import Host
    from ext_wecom.push import push_report

    data = work / f"host-{members}"
    (data / "ext").mkdir(parents=True)
    pack(REPO / "ext_wecom", out_dir=data / "ext")
    config = load_config(
        DEFAULT_CONFIG, env={}, data_dir=data / "data", extensions_dir=data / "ext"
    )
    host = Host(config).start()
    try:
        host.options.set(
            "wecom",
            {
                "corpid": CORPID,
                "app_secrets": SECRET,
                "server_address": "https://bi.example.com",
                "api_base": sb.url,
                "oauth_base": sb.url,
            },
        )
        host.users.add_group("staff")
        now = time.time()
        with host.store.transaction() as conn:
            (group_id,) = conn.execute(
                "SELECT id FROM groups WHERE name = 'staff'"
            ).fetchone()
            for i in range(1, members + 1):
                uid = conn.execute(
                    "INSERT INTO users (name, created_at) VALUES (?, ?)", (f"u{i}", now)
                ).lastrowid
                conn.execute(
                    "INSERT INTO user_fields VALUES (?, 'wecom.account', ?, ?)",
                    (uid, f"{i:06d}", f"{i:06d}"),
                )
                conn.execute("INSERT INTO user_groups VALUES (?, ?)", (uid, group_id))
        # agent/list resolves the app once (cached afterwards); not counted.
        host.store.execute("DELETE FROM kv WHERE ns = 'wecom.token'")
        sb.reset()
        tracemalloc.start()
        start = time.perf_counter()
        result = push_report(host, "group-report", "BENCH", "日报", groups=["staff"])
        wall = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert result.state == "sent", result.summary()
    finally:
        host.stop()
    return {
        "tokens": sb.count("/cgi-bin/gettoken"),
        "sends": sb.count("/cgi-bin/message/send"),
        "wall": wall,
        "peak": peak,
    }


def naive_push(sb: SandboxProcess, sample: int) -> dict[str, Any]:
    """A token per call and one member per call, as many BI plug-ins do."""
    sb.reset()
    session = requests.Session()
    tracemalloc.start()
    start = time.perf_counter()
    for i in range(1, sample + 1):
        token = session.get(
            f"{sb.url}/cgi-bin/gettoken",
            params={"corpid": CORPID, "corpsecret": SECRET},
            timeout=30,
        ).json()["access_token"]
        body = {
            "touser": f"{i:06d}",
            "msgtype": "news",
            "agentid": AGENTID,
            "news": {"articles": [{"title": "日报", "url": "https://bi.example.com/"}]},
        }
        session.post(
            f"{sb.url}/cgi-bin/message/send",
            params={"access_token": token},
            json=body,
            timeout=30,
        ).raise_for_status()
    wall = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {
        "tokens": sb.count("/cgi-bin/gettoken"),
        "sends": sb.count("/cgi-bin/message/send"),
        "wall": wall,
        "peak": peak,
    }


def main(sizes: tuple[int, ...] = SIZES, sample: int = NAIVE_SAMPLE) -> list[dict]:
    """Measure each size; return one row per (client, size)."""
    rows: list[dict[str, Any]] = []
    naive: dict[int, dict[str, Any]] = {}
    work = Path(tempfile.mkdtemp(prefix="bench-push-"))
    try:
        for members in sizes:
            sb = SandboxProcess(members, work)
            try:
                ours = host_push(sb, members, work)
                assert ours["tokens"] == 1, ours
                assert ours["sends"] == math.ceil(members / 1000), ours
                rows.append(
                    {
                        "client": "host (outbox)",
                        "members": members,
                        **ours,
                        "note": "measured",
                    }
                )
                size = min(sample, members)
                if size not in naive:
                    naive[size] = naive_push(sb, size)
                measured = naive[size]
                scale = members / size
                rows.append(
                    {
                        "client": "naive",
                        "members": members,
                        "tokens": int(measured["tokens"] * scale),
                        "sends": int(measured["sends"] * scale),
                        "wall": measured["wall"] * scale,
                        "peak": measured["peak"],
                        "note": f"extrapolated from {min(sample, members):,} members"
                        if scale > 1
                        else "measured",
                    }
                )
            finally:
                sb.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rows


def table(rows: list[dict]) -> str:
    lines = [
        "| client | members | gettoken | message/send | wall time | peak memory | note |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r['client']} | {r['members']:,} | {r['tokens']:,} | {r['sends']:,} | "
            f"{r['wall']:.2f} s | {r['peak'] / 1e6:.2f} MB | {r['note']} |"
        )
    return "\n".join(lines)


def bench_rows(smoke: bool = False) -> list[dict[str, Any]]:
    """Rows for ``python -m bench``'s table: each size's push by the host against
    the naive client of the same run (the ratio is host wall time / naive)."""
    sizes, sample = ((2_000,), 200) if smoke else (SIZES, NAIVE_SAMPLE)
    raw = main(sizes, sample)
    rows = []
    for ours, naive in zip(raw[::2], raw[1::2], strict=True):
        members = ours["members"]
        rows.append(
            {
                "bench": "push",
                "case": f"push to {members:,} members",
                "value": f"{ours['tokens']} gettoken + {ours['sends']} sends, "
                f"{ours['wall']:.2f} s, peak {ours['peak'] / 1e6:.1f} MB",
                "floor": f"naive: {naive['sends']:,} sends, {naive['wall']:.1f} s",
                "ratio": ours["wall"] / naive["wall"],
                "note": f"calls are the minimum (1 + ceil(N/1000)); naive {naive['note']}",
            }
        )
    return rows


if __name__ == "__main__":
    print(table(main()))
