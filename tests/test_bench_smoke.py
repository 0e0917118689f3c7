"""The benchmarks still run: each in its tiny mode, with no timing asserted."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from stackkit import REPO


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_every_benchmark_runs_in_smoke_mode() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    table = proc.stdout
    for case in (
        "ext-host --help",
        "ext-host push (1 member)",
        "2 ext warm (loading)",
        "report page, signed in",
        "tap: portal + code + report",
    ):
        assert case in table, table
    assert "FAILED" not in table
    assert "ERRORS" not in table
