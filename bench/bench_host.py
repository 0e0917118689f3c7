"""Host start with 1, 10 and 100 generated extensions, cold (nothing unpacked
yet) and warm (the cache in the data folder present), against importing the
same modules directly from the warm cache.

Each measurement is a fresh process (imports are what is measured), timing
``Host(config).start()`` inside it; the same start with no extension is the
host's fixed cost, subtracted to get the time per extension.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .common import HOST_CONFIG, REPO, Row, clean_env, median, ms

GOAL = 1.5

START = """
import json, sys, time
from ext_host.config import load_config
from ext_host.host import Host
config = load_config(sys.argv[1], env={}, data_dir=sys.argv[2], extensions_dir=sys.argv[3])
host = Host(config)
load, timed = host.load_extensions, []
def load_timed():
    t = time.perf_counter()
    load()
    timed.append(time.perf_counter() - t)
host.load_extensions = load_timed
t0 = time.perf_counter()
host.start()
took = time.perf_counter() - t0
loaded = len(host.loaded())
host.stop()
print(json.dumps({"seconds": took, "loading": timed[0], "loaded": loaded}))
"""

#: The floor: the same modules, imported and instantiated straight from the
#: warm cache (with ext_host.api, which they import, already loaded).
IMPORT = """
import importlib, json, sys, time
import ext_host.api
folders, modules = json.loads(sys.argv[1])
t0 = time.perf_counter()
sys.path[:0] = folders
for name in modules:
    importlib.import_module(name).Plugin()
print(json.dumps({"seconds": time.perf_counter() - t0, "loaded": len(modules)}))
"""

PLUGIN = '''"""Generated for the host-start benchmark."""

from ext_host.api import hookimpl


class Plugin:
    @hookimpl
    def startup(self, host):
        pass
'''


def make_archives(root: Path, count: int) -> Path:
    """``count`` small valid archives, packed with ``ext_host.archive.pack``."""
    from ext_host.archive import pack

    src, out = root / "src", root / f"ext-{count}"
    out.mkdir(parents=True)
    for i in range(count):
        name = f"benchext_{i:03d}"
        package = src / name
        if not package.exists():
            package.mkdir(parents=True)
            (package / "__init__.py").write_text(PLUGIN)
            (package / "extension.yaml").write_text(
                f"name: bench-{i:03d}\nversion: 1.0.0\nentry: {name}:Plugin\n"
            )
        pack(package, out_dir=out)
    return out


def run_json(argv: list[str]) -> dict[str, float]:
    proc = subprocess.run(
        argv, env=clean_env(), capture_output=True, text=True, timeout=300, cwd=REPO
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[:3]} exited {proc.returncode}: {proc.stderr[-800:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def start(data_dir: Path, ext_dir: Path, expect: int) -> tuple[float, float]:
    """``Host.start()`` in a fresh process: (whole start, extension loading)."""
    result = run_json(
        [sys.executable, "-c", START, str(HOST_CONFIG), str(data_dir), str(ext_dir)]
    )
    if result["loaded"] != expect:
        raise RuntimeError(f"{result['loaded']} extensions loaded, expected {expect}")
    return result["seconds"], result["loading"]


def main(smoke: bool = False) -> list[Row]:
    counts = (2,) if smoke else (1, 10, 100)
    times = 1 if smoke else 5
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-host-") as tmp:
        root = Path(tmp)
        empty = root / "ext-0"
        empty.mkdir()
        # The first start of a data folder builds the report datasets too.
        start(root / "data-0", empty, 0)
        fixed = median([start(root / "data-0", empty, 0)[0] for _ in range(times)])
        rows.append(Row("host start", "0 extensions (whole start)", ms(fixed)))
        for count in counts:
            ext_dir = make_archives(root, count)
            cold, warm, cold_load, warm_load, floor = [], [], [], [], []
            data = root / f"data-{count}"
            start(data, empty, 0)  # datasets built: cold means no unpacked copy
            for _ in range(times):
                shutil.rmtree(data / "ext-cache", ignore_errors=True)
                whole, loading = start(data, ext_dir, count)
                cold.append(whole)
                cold_load.append(loading)
                whole, loading = start(data, ext_dir, count)
                warm.append(whole)
                warm_load.append(loading)
            cache = sorted((data / "ext-cache").iterdir())
            folders = [str(p) for p in cache if p.is_dir() and p.name[0] != "."]
            modules = [f"benchext_{i:03d}" for i in range(count)]
            arg = json.dumps([folders, modules])
            for _ in range(times):
                floor.append(run_json([sys.executable, "-c", IMPORT, arg])["seconds"])
            shutil.rmtree(data, ignore_errors=True)
            cl, wl, f = median(cold_load), median(warm_load), median(floor)
            rows.append(
                Row(
                    "host start",
                    f"{count} ext cold (loading)",
                    ms(cl),
                    note=f"{cl / count * 1000:.2f} ms/ext; whole start {ms(median(cold))}",
                )
            )
            rows.append(
                Row(
                    "host start",
                    f"{count} ext warm (loading)",
                    ms(wl),
                    f"{ms(f)} import",
                    wl / f if f > 0 else None,
                    GOAL if count == counts[-1] else None,
                    f"{wl / count * 1000:.2f} ms/ext; whole start {ms(median(warm))}",
                )
            )
    return rows
