"""Many members at once on loopback: the full tap path (authorize -> code ->
portal -> report) and report pages with a session, from 20 threads.

Bounded: every thread does a fixed number of taps and page hits, every request
has a timeout.  Zero errors is asserted; latency is printed (``pytest -s``),
not asserted: speed belongs to the benchmarks.
"""

from __future__ import annotations

import re
import sqlite3
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests
from stackkit import AGENTID, MEMBER, REPO

from ext_wecom import oauth

THREADS = 20
TAPS_PER_THREAD = 3
HITS_PER_THREAD = 10
#: Sandbox members, each bound to a host user of the same name.
MEMBERS = [MEMBER, "zhangsan", "lisi", "wangfang", "zhaomin", "sunli", "wujun"]
REPORTS = ["group-report", "my-orders"]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def orders_by_owner() -> dict[str, list[str]]:
    """Each owner's order numbers, read with SQLite straight from the script."""
    conn = sqlite3.connect(":memory:")
    conn.executescript((REPO / "config" / "data" / "sales.sql").read_text("utf-8"))
    owned: dict[str, list[str]] = {m: [] for m in MEMBERS}
    for owner, order in conn.execute(
        "SELECT owner, order_no FROM orders ORDER BY day, order_no"
    ):
        owned.setdefault(owner, []).append(order)
    return owned


def test_many_members_tap_and_read_at_once(stack):
    owned = orders_by_owner()
    for member in MEMBERS[1:]:
        stack.host.users.add(
            member, alias=f"user-{member}", fields={"wecom.account": member}
        )
    links = {r: oauth.member_link(stack.host, r, AGENTID) for r in REPORTS}
    # The host has pushed before: the app and its token are in the store.
    assert stack.sandbox.follow(links["group-report"], MEMBER).status_code == 200

    taps: list[float] = []
    hits: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def member_session(index: int) -> None:
        member = MEMBERS[index % len(MEMBERS)]
        expected = "陈东平" if member == MEMBER else f"user-{member}"
        browser = requests.Session()
        for tap in range(TAPS_PER_THREAD):
            report = REPORTS[(index + tap) % len(REPORTS)]
            start = time.perf_counter()
            resp = stack.sandbox.follow(links[report], member, session=browser)
            elapsed = time.perf_counter() - start
            ok = (
                resp.status_code == 200
                and resp.url == f"{stack.url}/vision/reports/{report}"
                and expected in resp.text
            )
            with lock:
                taps.append(elapsed)
                if not ok:
                    errors.append(f"tap {member} {report}: {resp.status_code}")
        for _ in range(HITS_PER_THREAD):
            start = time.perf_counter()
            resp = browser.get(
                f"{stack.url}/vision/reports/my-orders",
                allow_redirects=False,
                timeout=30,
            )
            elapsed = time.perf_counter() - start
            rows = re.findall(r"<tr><td>(SO\d+)</td>", resp.text)
            ok = (
                resp.status_code == 200
                and expected in resp.text
                and rows == owned[member]
            )
            with lock:
                hits.append(elapsed)
                if not ok:
                    errors.append(f"hit {member}: {resp.status_code}")

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        for future in [pool.submit(member_session, i) for i in range(THREADS)]:
            future.result(timeout=120)
    wall = time.perf_counter() - started

    assert errors == []
    assert len(taps) == THREADS * TAPS_PER_THREAD
    assert len(hits) == THREADS * HITS_PER_THREAD
    exchanges = stack.sandbox.call_count("/cgi-bin/auth/getuserinfo")
    assert exchanges == THREADS * TAPS_PER_THREAD + 1  # one per tap, never twice
    assert stack.sandbox.call_count("/cgi-bin/gettoken") == 1
    print(
        f"\nportal load: {THREADS} threads, {len(taps)} taps, {len(hits)} report "
        f"hits in {wall:.2f} s, 0 errors\n"
        f"  tap (authorize, code, portal, report): p50 "
        f"{statistics.median(taps) * 1000:.0f} ms, p99 "
        f"{percentile(taps, 0.99) * 1000:.0f} ms\n"
        f"  report page with a session: p50 {statistics.median(hits) * 1000:.0f} ms,"
        f" p99 {percentile(hits, 0.99) * 1000:.0f} ms"
    )


def test_members_signing_in_at_once_on_a_cold_cache_fetch_one_token(stack):
    for member in MEMBERS[1:]:
        stack.host.users.add(member, fields={"wecom.account": member})
    home = oauth.member_link(stack.host, None, AGENTID)
    assert stack.sandbox.call_count("/cgi-bin/gettoken") == 0
    barrier = threading.Barrier(THREADS, timeout=30)

    def first_tap(index: int) -> int:
        barrier.wait()
        member = MEMBERS[index % len(MEMBERS)]
        return stack.sandbox.follow(home, member).status_code

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        statuses = list(pool.map(first_tap, range(THREADS), timeout=120))
    assert statuses == [200] * THREADS
    assert stack.sandbox.call_count("/cgi-bin/gettoken") == 1
