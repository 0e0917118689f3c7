"""What the benchmarks share: rows and the table, timing, and a configured
host + sandbox on loopback built the way an administrator would."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SANDBOX_CORP = REPO / "config" / "sandbox-corp.yaml"
HOST_CONFIG = REPO / "config" / "host.yaml"
#: A member of app DEMO's visible range, bound to a host user by :func:`configure`.
MEMBER = "chendongping"
AGENTID = 1000008
APP = "DEMO"
REPORT = "group-report"


@dataclass
class Row:
    """One line of the table: a measured case against its floor."""

    bench: str
    case: str
    value: str
    floor: str = ""
    ratio: float | None = None
    goal: float | None = None
    note: str = ""

    @property
    def verdict(self) -> str:
        if self.ratio is None or self.goal is None:
            return ""
        return "ok" if self.ratio <= self.goal else "MISS"

    @classmethod
    def of(cls, item: Any) -> Row:
        """A :class:`Row` from what a benchmark returned (a Row, a dict, a tuple)."""
        if isinstance(item, Row):
            return item
        if isinstance(item, dict):
            known = {k: item[k] for k in cls.__dataclass_fields__ if k in item}
            extra = {k: v for k, v in item.items() if k not in known}
            row = cls(
                bench=str(known.pop("bench", "?")),
                case=str(known.pop("case", "?")),
                value=str(known.pop("value", "")),
                **known,
            )
            if extra:
                more = ", ".join(f"{k}={v}" for k, v in extra.items())
                row.note = f"{row.note}; {more}" if row.note else more
            return row
        values = [str(v) for v in item]
        return cls(*(values + ["", "", ""])[:3], note=" ".join(values[3:]))


def format_table(rows: Sequence[Row]) -> str:
    header = ("benchmark", "case", "result", "floor", "ratio", "goal", "", "note")
    lines = [
        (
            r.bench,
            r.case,
            r.value,
            r.floor,
            "" if r.ratio is None else f"{r.ratio:.2f}x",
            "" if r.goal is None else f"<= {r.goal:g}x",
            r.verdict,
            r.note,
        )
        for r in rows
    ]
    widths = [max(len(str(c)) for c in col) for col in zip(header, *lines, strict=True)]

    def fmt(cells: Sequence[str]) -> str:
        return " | ".join(
            str(c).ljust(w) for c, w in zip(cells, widths, strict=True)
        ).rstrip()

    out = [fmt(header), "-+-".join("-" * w for w in widths)]
    out += [fmt(line) for line in lines]
    return "\n".join(out)


# -- timing ----------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def quantile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, nearest rank."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for a measured child: no EXT_HOST_* settings leak in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXT_HOST_")}
    env.update(extra)
    return env


def time_process(argv: Sequence[str], env: dict[str, str] | None = None) -> float:
    """Wall time of one run of ``argv``; raises with its stderr when it fails."""
    start = time.perf_counter()
    proc = subprocess.run(
        list(argv), env=env or clean_env(), capture_output=True, text=True, timeout=120
    )
    took = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv[:4])}... exited {proc.returncode}: {proc.stderr[-800:]}"
        )
    return took


def interleaved(
    runs: dict[str, Callable[[], float]], times: int
) -> dict[str, list[float]]:
    """Run each callable ``times`` times, round-robin, so drift in the
    machine's speed hits every case alike."""
    results: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(times):
        for name, run in runs.items():
            results[name].append(run())
    return results


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ext_host_argv() -> list[str]:
    """How an operator starts the CLI: the installed console script."""
    script = Path(sys.executable).with_name("ext-host")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "ext_host.cli"]


# -- a configured stack ------------------------------------------------------------


@dataclass
class Site:
    """A data folder and extension folder configured against a running sandbox."""

    data_dir: Path
    ext_dir: Path
    sandbox: Any
    server_url: str
    card_url: str  # the link of the card pushed to MEMBER

    def cli_args(self) -> list[str]:
        return [
            "--config",
            str(HOST_CONFIG),
            "--data-dir",
            str(self.data_dir),
            "--extensions-dir",
            str(self.ext_dir),
        ]


def configure(root: Path, sandbox: Any, server_url: str) -> Site:
    """Pack wecom.ext into ``root/ext``, configure the WeChat settings for the
    host that will serve at ``server_url``, bind MEMBER, push once (which
    caches the token and the app), and stop the host."""
    from ext_host.archive import pack
    from ext_host.config import load_config
    from ext_host.host import Host

    data_dir, ext_dir = root / "data", root / "ext"
    pack(REPO / "ext_wecom", out_dir=ext_dir)
    config = load_config(HOST_CONFIG, env={}, data_dir=data_dir, extensions_dir=ext_dir)
    host = Host(config).start()
    try:
        app = sandbox.app(AGENTID)
        sandbox.set_trusted_domain(AGENTID, server_url.split("://", 1)[1])
        host.options.set(
            "wecom",
            {
                "corpid": sandbox.corpid,
                "app_secrets": app.secret,
                "contacts_secret": sandbox.corp.contacts_secret,
                "server_address": server_url,
                "api_base": sandbox.url,
                "oauth_base": sandbox.url,
            },
        )
        host.users.add(MEMBER, alias="陈东平", fields={"wecom.account": MEMBER})
        host.menus.run(
            "report",
            "wecom.push",
            REPORT,
            {"app": APP, "title": "bench", "users": MEMBER},
            actor="bench",
        )
    finally:
        host.stop()
    card = sandbox.inbox(MEMBER)[-1]["news"]["articles"][0]["url"]
    return Site(data_dir, ext_dir, sandbox, server_url, card)


def start_sandbox() -> Any:
    from wecom_sandbox import Sandbox

    sandbox = Sandbox.from_yaml(SANDBOX_CORP)
    sandbox.start(host="127.0.0.1", port=0)
    return sandbox
