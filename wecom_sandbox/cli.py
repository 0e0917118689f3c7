"""``python -m wecom_sandbox``: run a sandbox in the foreground."""

from __future__ import annotations

import argparse
import logging
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .sandbox import Sandbox

DEFAULT_SEED = "config/sandbox-corp.yaml"


def serve_forever(sandbox: Sandbox, host: str = "127.0.0.1", port: int = 9800) -> None:
    """Start ``sandbox``, print its address, and serve until Ctrl-C."""
    url = sandbox.start(host=host, port=port)
    apps = ", ".join(f"{a.name} ({a.agentid})" for a in sandbox.corp.apps.values())
    seed = sandbox.seed_path or "(a seed dict)"
    print(
        f"WeCom sandbox for {sandbox.corpid} at {url} — apps: {apps}; "
        f"seed {seed}; console {url}/sandbox/",
        flush=True,
    )
    stop = threading.Event()
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and serve; returns the process exit status."""
    from .corp import SeedError
    from .sandbox import Sandbox

    parser = argparse.ArgumentParser(
        prog="python -m wecom_sandbox",
        description="Serve a local stand-in for the WeCom API and OAuth pages.",
    )
    parser.add_argument("--corp", default=DEFAULT_SEED, help="corp seed YAML file")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9800)
    parser.add_argument(
        "--trusted-domain",
        action="append",
        default=[],
        metavar="AGENTID=HOST[:PORT]",
        help="override an app's trusted domain (repeatable)",
    )
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    try:
        sandbox = Sandbox.from_yaml(args.corp)
    except FileNotFoundError:
        parser.error(f"no seed file at {args.corp}; pass --corp PATH")
    except SeedError as exc:
        parser.error(str(exc))
    for item in args.trusted_domain:
        agentid, _, domain = item.partition("=")
        try:
            sandbox.set_trusted_domain(int(agentid), domain)
        except (KeyError, ValueError):
            parser.error(f"--trusted-domain {item!r}: expected AGENTID=HOST[:PORT]")
    serve_forever(sandbox, args.host, args.port)
    return 0
