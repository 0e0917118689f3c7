"""Portal under load: the report page alone for a signed-in member, driven by
wrk, and the tap path (portal with a fresh code, then the report page), driven
by a Python client because codes are single-use; each against ``/healthz`` on
the same server, driven the same way, as the floor.

The host runs as an operator runs it (``ext-host serve``, its own process);
the sandbox stands in for WeCom in this process.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from .common import (
    MEMBER,
    REPORT,
    Row,
    clean_env,
    configure,
    ext_host_argv,
    free_port,
    median,
    quantile,
    start_sandbox,
)

GOAL = 3.0
MEMBER_HEADER = "X-WeCom-Member"
COOKIE = "ext_host_session"


def wait_up(url: str, proc: subprocess.Popen[str], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"ext-host serve exited {proc.returncode}")
        try:
            if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"ext-host serve did not answer at {url} in {seconds} s")


def fresh_code_url(card_url: str, session: requests.Session) -> str:
    """Open the card link as MEMBER's WeCom client: the sandbox answers with
    the portal URL carrying a fresh single-use code."""
    resp = session.get(
        card_url, headers={MEMBER_HEADER: MEMBER}, allow_redirects=False, timeout=10
    )
    if resp.status_code != 302:
        raise RuntimeError(f"authorize answered {resp.status_code}: {resp.text[:200]}")
    return resp.headers["Location"]


# -- wrk ---------------------------------------------------------------------------

_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def _seconds(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def run_wrk(url: str, seconds: int, cookie: str = "", smoke: bool = False) -> dict:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk is not installed: apt-get install -y wrk")
    argv = [wrk, "-t1" if smoke else "-t2", "-c2" if smoke else "-c16"]
    argv += [f"-d{seconds}s", "--latency", "--timeout", "5s"]
    if cookie:
        argv += ["-H", f"Cookie: {COOKIE}={cookie}"]
    out = subprocess.run(
        argv + [url], capture_output=True, text=True, timeout=seconds + 30
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.M))
    errors = 0
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors += int(m.group(1))
    if m := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    ):
        errors += sum(int(g) for g in m.groups())
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return {
        "rps": rps,
        "p50": _seconds(lat["50"]),
        "p99": _seconds(lat["99"]),
        "errors": errors,
        "requests": total,
    }


# -- the Python driver -------------------------------------------------------------


def drive(steps: list[list[str]], base: str, workers: int, use_codes: bool) -> dict:
    """Each worker takes one job (a list of paths, or a fresh-code URL then the
    report page) at a time with its own cookie jar; latency is per job."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    jobs = iter(steps)
    local = threading.local()

    def one() -> None:
        nonlocal errors
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        while True:
            with lock:
                job = next(jobs, None)
            if job is None:
                return
            ok = True
            session.cookies.clear()
            start = time.perf_counter()
            for url in job:
                resp = session.get(url, allow_redirects=False, timeout=10)
                if resp.status_code == 302 and use_codes:
                    resp = session.get(
                        base + resp.headers["Location"],
                        allow_redirects=False,
                        timeout=10,
                    )
                    ok = ok and resp.status_code == 200 and 'id="report"' in resp.text
                else:
                    ok = ok and resp.status_code == 200
            took = time.perf_counter() - start
            with lock:
                latencies.append(took)
                errors += 0 if ok else 1

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        for f in [pool.submit(one) for _ in range(workers)]:
            f.result()
    elapsed = time.perf_counter() - started
    return {
        "rps": len(latencies) / elapsed,
        "p50": median(latencies),
        "p99": quantile(latencies, 0.99),
        "errors": errors,
        "requests": len(latencies),
    }


def fmt(r: dict, unit: str = "req/s") -> str:
    return (
        f"{r['rps']:.0f} {unit}, p50 {r['p50'] * 1000:.1f} ms, "
        f"p99 {r['p99'] * 1000:.1f} ms, {r['errors']} errors / {r['requests']}"
    )


def main(smoke: bool = False) -> list[Row]:
    seconds = 1 if smoke else 5
    taps = 10 if smoke else 600
    workers = 2 if smoke else 8
    sandbox = start_sandbox()
    tmp = Path(tempfile.mkdtemp(prefix="bench-portal-"))
    proc = None
    try:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        site = configure(tmp, sandbox, base)
        proc = subprocess.Popen(
            ext_host_argv()
            + site.cli_args()
            + ["serve", "--listen", f"127.0.0.1:{port}"],
            env=clean_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        wait_up(base, proc)
        # One tap to sign in: its cookie is the signed-in member's for wrk.
        browser = requests.Session()
        first = browser.get(fresh_code_url(site.card_url, browser), timeout=10)
        if first.status_code != 200 or 'id="report"' not in first.text:
            raise RuntimeError(f"the first tap answered HTTP {first.status_code}")
        cookie = browser.cookies.get(COOKIE) or ""
        report = f"{base}/vision/reports/{REPORT}"
        if not smoke:
            run_wrk(f"{base}/healthz", 1, smoke=True)  # warm up the server's threads
        health = run_wrk(f"{base}/healthz", seconds, smoke=smoke)
        page = run_wrk(report, seconds, cookie, smoke=smoke)

        # Codes are fetched before the clock starts: only the host is timed.
        with ThreadPoolExecutor(4) as pool:
            codes = list(
                pool.map(
                    lambda _: fresh_code_url(site.card_url, requests.Session()),
                    range(taps),
                )
            )
        tap = drive([[u] for u in codes], base, workers, use_codes=True)
        floor_pair = drive(
            [[f"{base}/healthz", f"{base}/healthz"]] * taps,
            base,
            workers,
            use_codes=False,
        )
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)
        sandbox.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    wrk_note = f"wrk {'-t1 -c2' if smoke else '-t2 -c16'} -d{seconds}s"
    drv_note = f"{taps} taps, {workers} Python clients"
    rows = [
        Row("portal", "floor: /healthz", fmt(health), note=wrk_note),
        Row(
            "portal",
            "report page, signed in",
            fmt(page),
            f"p50 {health['p50'] * 1000:.1f} ms",
            page["p50"] / health["p50"],
            GOAL,
            wrk_note + ("" if page["errors"] == 0 else "; ERRORS"),
        ),
        Row(
            "portal",
            "floor: 2x /healthz per client",
            fmt(floor_pair, "pairs/s"),
            note=drv_note,
        ),
        Row(
            "portal",
            "tap: portal + code + report",
            fmt(tap, "taps/s"),
            f"p50 {floor_pair['p50'] * 1000:.1f} ms",
            tap["p50"] / floor_pair["p50"],
            None,
            drv_note + ("" if tap["errors"] == 0 else "; ERRORS"),
        ),
    ]
    return rows
