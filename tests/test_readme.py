"""The README's "Trying it by hand", run line by line as a newcomer would:
the sandbox and the host in the background, then the card tapped through the
sandbox console's "open as member" link, landing on the report."""

import os
import re
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
import yaml

REPO = Path(__file__).resolve().parent.parent
MEMBER = "chendongping"


def by_hand_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    section = text.split("## Trying it by hand", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    joined = block.replace("\\\n", " ")
    commands = []
    for line in joined.splitlines():
        line = re.sub(r"\s+#.*$", "", line).strip()
        if line and not line.startswith(". "):
            commands.append(line)
    return commands


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(url: str, log: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1, allow_redirects=False)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError(f"nothing answered at {url}: {Path(log).read_text()}")


def test_trying_it_by_hand_lands_the_member_on_the_report(tmp_path):
    sandbox_port, host_port = free_port(), free_port()
    env = dict(
        os.environ,
        EXT_HOST_DATA_DIR=str(tmp_path / "data"),
        EXT_HOST_EXTENSIONS_DIR=str(tmp_path / "ext"),
        EXT_HOST_LISTEN=f"127.0.0.1:{host_port}",
    )
    corp = yaml.safe_load((REPO / "config" / "sandbox-corp.yaml").read_text())
    secret = corp["apps"][0]["secret"]
    background: list[subprocess.Popen[bytes]] = []
    try:
        for command in by_hand_commands():
            command = command.replace("9800", str(sandbox_port))
            command = command.replace("8080", str(host_port))
            argv = shlex.split(command.rstrip("&").strip())
            assert argv[0] == "ext-host", command
            argv = [sys.executable, "-m", "ext_host.cli", *argv[1:]]
            if command.endswith("&") or argv[3:4] == ["serve"]:
                log = (tmp_path / f"{argv[3]}.log").open("wb")
                background.append(
                    subprocess.Popen(
                        argv,
                        cwd=REPO,
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
                port = sandbox_port if "sandbox" in argv else host_port
                wait_until_up(f"http://127.0.0.1:{port}/", log.name)
                continue
            done = subprocess.run(
                argv,
                cwd=REPO,
                env=env,
                input=secret + "\n",
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == 0, f"{command}: {done.stderr}"
        sandbox = f"http://127.0.0.1:{sandbox_port}"
        inbox = requests.get(f"{sandbox}/sandbox/api/inbox/{MEMBER}", timeout=10)
        link = inbox.json()["messages"][-1]["news"]["articles"][0]["url"]
        # The sandbox console's "open as member" link, in WeCom's browser.
        landed = requests.get(
            f"{sandbox}/sandbox/open",
            params={"member": MEMBER, "url": link},
            headers={"User-Agent": "Mozilla/5.0 wxwork/4.1"},
            timeout=10,
        )
        assert landed.status_code == 200, landed.text[-500:]
        assert landed.url.startswith(
            f"http://127.0.0.1:{host_port}/vision/reports/group-report"
        )
        assert "1分组报表" in landed.text and MEMBER in landed.text
        # A desktop browser is sent to the sandbox's QR-code login, not WeCom's.
        desktop = requests.get(
            f"http://127.0.0.1:{host_port}/vision/reports/group-report",
            allow_redirects=False,
            timeout=10,
        )
        assert desktop.headers["Location"].startswith(f"{sandbox}/wwlogin/sso/login?")
    finally:
        for process in background:
            process.terminate()
            process.wait(timeout=10)
