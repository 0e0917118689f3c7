"""Benchmarks of ext-host: each one measures a path against a floor run in the
same command, so the figures that matter are ratios (see docs/benchmarks.md).

``python -m bench`` runs them all and prints one table; ``--smoke`` runs each
in a tiny mode (a few iterations, one second of load) to prove they still
work.  Every benchmark module has ``main(smoke: bool = False) -> list[Row]``
(plain dicts with the keys of :class:`bench.common.Row` are accepted too).
"""
