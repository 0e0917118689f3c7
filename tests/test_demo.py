"""The README's main-job command, as a person runs it."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_demo_runs_end_to_end(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ext_host.cli",
            "--extensions-dir",
            str(tmp_path),
            "demo",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1].endswith("demo finished: push, tap and report all worked")
    text = result.stdout
    assert "extension wecom 1.0.0 loaded" in text
    assert "chendongping received a news card: title '1分组报表'" in text
    assert "landed on report 1分组报表, signed in as chendongping; first rows:" in text
    assert "       区域 | 订单数 | 销售额" in text
    # No secret of the sandbox corp reaches the output.
    import yaml

    corp = yaml.safe_load((REPO / "config" / "sandbox-corp.yaml").read_text())
    for app in corp["apps"]:
        assert app["secret"] not in text
    assert corp["contacts_secret"] not in text
