"""CLI start: ``ext-host --help`` and ``ext-host push`` (one card to one member,
token already cached) against a bare Python process that imports requests and
makes the same single ``message/send`` call to the sandbox."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import requests

from .common import (
    AGENTID,
    APP,
    MEMBER,
    REPORT,
    Row,
    clean_env,
    configure,
    ext_host_argv,
    free_port,
    interleaved,
    median,
    ms,
    start_sandbox,
    time_process,
)

GOAL = 2.0

#: The floor: what any Python client of WeCom pays for one push.
FLOOR = """
import sys, requests
url, token, body = sys.argv[1], sys.argv[2], sys.argv[3]
r = requests.post(url, params={"access_token": token}, data=body.encode(),
                  headers={"Content-Type": "application/json"}, timeout=10)
assert r.json()["errcode"] == 0, r.text
"""


def main(smoke: bool = False) -> list[Row]:
    times = 1 if smoke else 9
    sandbox = start_sandbox()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
            site = configure(Path(tmp), sandbox, f"http://127.0.0.1:{free_port()}")
            token = requests.get(
                f"{sandbox.url}/cgi-bin/gettoken",
                params={
                    "corpid": sandbox.corpid,
                    "corpsecret": sandbox.app(AGENTID).secret,
                },
                timeout=10,
            ).json()["access_token"]
            body = json.dumps(
                {
                    "touser": MEMBER,
                    "msgtype": "news",
                    "agentid": AGENTID,
                    "news": {"articles": [{"title": "bench", "url": site.card_url}]},
                },
                ensure_ascii=False,
            )
            env = clean_env()
            base = ext_host_argv() + site.cli_args()
            help_argv = base + ["--help"]
            push_argv = base + ["push", REPORT, "--app", APP, "--user", MEMBER]
            floor_argv = [
                sys.executable,
                "-c",
                FLOOR,
                f"{sandbox.url}/cgi-bin/message/send",
                token,
                body,
            ]
            # One untimed round: byte-code caches, the host's caches, the token.
            for argv in (floor_argv, help_argv, push_argv):
                time_process(argv, env)
            results = interleaved(
                {
                    "floor": lambda: time_process(floor_argv, env),
                    "help": lambda: time_process(help_argv, env),
                    "push": lambda: time_process(push_argv, env),
                },
                times,
            )
    finally:
        sandbox.stop()
    floor = median(results["floor"])
    note = f"median of {times} runs"
    return [
        Row("cli", "floor: python + requests, one send", ms(floor), note=note),
        Row(
            "cli",
            "ext-host --help",
            ms(median(results["help"])),
            ms(floor),
            median(results["help"]) / floor,
            GOAL,
            note,
        ),
        Row(
            "cli",
            "ext-host push (1 member)",
            ms(median(results["push"])),
            ms(floor),
            median(results["push"]) / floor,
            GOAL,
            note,
        ),
    ]
