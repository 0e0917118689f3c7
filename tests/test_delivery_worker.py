"""The delivery worker that ``ext-host serve`` runs: what a crashed process left
unsent, or what was deferred for WeCom's per-member limit, goes out when due
without anyone typing ``ext-host push resume``."""

import os
import socket
import subprocess
import sys
import time

from stackkit import MEMBER, REPO

from ext_wecom.clock import MEMBER_LIMITS_ENV, OFFSET_ENV
from ext_wecom.push import push_report
from ext_wecom.worker import DeliveryWorker


def titles(stack):
    return [m["news"]["articles"][0]["title"] for m in stack.sandbox.inbox(MEMBER)]


def defer_one(stack, monkeypatch):
    monkeypatch.setenv(MEMBER_LIMITS_ENV, "1,100")
    push_report(stack.host, "group-report", "DEMO", "m0", users=[MEMBER])
    second = push_report(stack.host, "group-report", "DEMO", "m1", users=[MEMBER])
    assert second.state == "deferred"
    assert titles(stack) == ["m0"]


def test_worker_sends_a_deferred_push_once_it_is_due(stack, monkeypatch):
    defer_one(stack, monkeypatch)
    worker = DeliveryWorker(stack.host)
    worker.run_once()
    assert titles(stack) == ["m0"]  # not due yet
    monkeypatch.setenv(OFFSET_ENV, "61")
    assert worker.run_once() == 1
    assert titles(stack) == ["m0", "m1"]
    assert worker.run_once() == 0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_starts_the_worker(stack, monkeypatch):
    defer_one(stack, monkeypatch)
    env = {**os.environ, MEMBER_LIMITS_ENV: "1,100", OFFSET_ENV: "61"}
    config = stack.host.config
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ext_host.cli",
            "--data-dir",
            str(config.data_dir),
            "--extensions-dir",
            str(config.extensions_dir),
            "serve",
            "--listen",
            f"127.0.0.1:{free_port()}",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while titles(stack) != ["m0", "m1"] and time.monotonic() < deadline:
            assert server.poll() is None, server.stderr.read().decode()
            time.sleep(0.1)
        assert titles(stack) == ["m0", "m1"]
    finally:
        server.terminate()
        server.wait(timeout=10)
    log = server.stderr.read().decode()
    assert "INFO ext_wecom.worker: delivery worker: push 2: sent to 1 member(s)" in log
    assert stack.app.secret not in log
    assert "access_token=" not in log.replace("access_token=***", "")
