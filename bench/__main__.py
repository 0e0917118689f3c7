"""``python -m bench``: run every benchmark and print one table.

``--smoke`` runs each in a tiny mode; ``--only cli,host`` picks some.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import inspect
import sys
import time
import traceback

from .common import Row, format_table

#: Benchmark modules, in the order of the table; bench_push comes from the
#: delivery work and is skipped with a note while it is absent.
BENCHMARKS = {
    "cli": "bench.bench_cli",
    "host": "bench.bench_host",
    "portal": "bench.bench_portal",
    "push": "bench.bench_push",
}


def run_one(key: str, module_name: str, smoke: bool) -> list[Row]:
    if importlib.util.find_spec(module_name) is None:
        return [Row(key, "-", "skipped", note=f"{module_name} is not there yet")]
    try:
        module = importlib.import_module(module_name)
        main = getattr(module, "bench_rows", None) or module.main
        takes_smoke = "smoke" in inspect.signature(main).parameters
        rows = main(smoke=smoke) if takes_smoke else main()
        return [Row.of(r) for r in rows]
    except Exception as exc:
        traceback.print_exc()
        return [Row(key, "-", "FAILED", note=f"{type(exc).__name__}: {exc}")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--smoke", action="store_true", help="tiny mode: prove each still works"
    )
    parser.add_argument(
        "--only", default="", help=f"comma-separated subset of {', '.join(BENCHMARKS)}"
    )
    args = parser.parse_args(argv)
    chosen = [k.strip() for k in args.only.split(",") if k.strip()] or list(BENCHMARKS)
    unknown = [k for k in chosen if k not in BENCHMARKS]
    if unknown:
        parser.error(
            f"unknown benchmark {unknown[0]!r}; choose from {', '.join(BENCHMARKS)}"
        )
    rows: list[Row] = []
    started = time.perf_counter()
    for key in chosen:
        print(f"running {key} ...", file=sys.stderr, flush=True)
        for row in run_one(key, BENCHMARKS[key], args.smoke):
            if args.smoke:
                row.goal = None  # a few iterations say nothing about speed
            rows.append(row)
    print(format_table(rows))
    mode = "smoke" if args.smoke else "full"
    print(
        f"\n({mode} run, {time.perf_counter() - started:.1f} s; ratios are "
        "against the floor measured in the same run)"
    )
    return 1 if any(r.value == "FAILED" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
