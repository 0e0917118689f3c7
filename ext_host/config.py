"""Host configuration: ``config/host.yaml``, then environment, then CLI flags.

Every path in the file is resolved relative to the file itself, so the host
behaves the same whatever the current directory is.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError

#: The configuration shipped with the project, used when nothing else is named.
DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config" / "host.yaml"

#: Environment variables that override a setting, and the setting they set.
ENV_OVERRIDES = {
    "EXT_HOST_DATA_DIR": "data_dir",
    "EXT_HOST_EXTENSIONS_DIR": "extensions_dir",
    "EXT_HOST_LISTEN": "listen",
    "EXT_HOST_PUBLIC_URL": "public_url",
    "EXT_HOST_STRICT": "strict",
    "EXT_HOST_TRACE": "trace",
}

#: Names the extensions allowed to load, comma-separated; empty loads none.
LOAD_ENV = "EXT_HOST_LOAD_EXTENSIONS"


@dataclass(frozen=True)
class Limits:
    """How much an archive may hold (``archive_limits`` in host.yaml)."""

    entries: int = 2000
    bytes: int = 64 * 1024 * 1024


@dataclass(frozen=True)
class HostConfig:
    """Resolved settings of one host. Build it with :func:`load_config`."""

    config_file: Path | None
    data_dir: Path
    extensions_dir: Path
    reports_file: Path | None
    listen: str = "127.0.0.1:8080"
    public_url: str = ""
    strict: bool = False
    trace: bool = False
    max_archive_entries: int = 2000
    max_archive_bytes: int = 64 * 1024 * 1024
    load_only: frozenset[str] | None = None
    session_lifetime: int = 8 * 3600
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def database(self) -> Path:
        return self.data_dir / "host.sqlite3"

    @property
    def listen_host(self) -> str:
        return self.listen.rpartition(":")[0] or "127.0.0.1"

    @property
    def listen_port(self) -> int:
        return int(self.listen.rpartition(":")[2])

    def with_overrides(self, **values: Any) -> HostConfig:
        """A copy with the given settings replaced (``None`` keeps the old one)."""
        kept = {k: v for k, v in values.items() if v is not None}
        for key in ("data_dir", "extensions_dir", "reports_file"):
            if key in kept:
                kept[key] = Path(kept[key]).expanduser().resolve()
        return replace(self, **kept)


def _as_bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{name}: expected true or false, got {value!r}")


def load_config(
    path: str | os.PathLike[str] | None = None,
    env: dict[str, str] | None = None,
    **overrides: Any,
) -> HostConfig:
    """Read the YAML file, apply environment variables, then ``overrides``."""
    env = dict(os.environ if env is None else env)
    config_path = Path(path or env.get("EXT_HOST_CONFIG") or DEFAULT_CONFIG)
    config_path = config_path.expanduser().resolve()
    if not config_path.is_file():
        raise ConfigError(
            f"configuration file {config_path} not found: pass --config PATH "
            "or set EXT_HOST_CONFIG"
        )
    try:
        raw = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{config_path}: not valid YAML ({exc})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{config_path}: expected a mapping of settings")

    for var, key in ENV_OVERRIDES.items():
        if env.get(var):
            raw[key] = env[var]

    base = config_path.parent

    def path_of(key: str, default: str | None) -> Path | None:
        value = raw.get(key, default)
        if value in (None, ""):
            return None
        return (base / str(value)).expanduser().resolve()

    limits = raw.get("archive_limits") or {}
    load_only: frozenset[str] | None = None
    if LOAD_ENV in env:
        names = [n.strip() for n in env[LOAD_ENV].split(",")]
        load_only = frozenset(n for n in names if n)

    try:
        config = HostConfig(
            config_file=config_path,
            data_dir=path_of("data_dir", "../var") or base,
            extensions_dir=path_of("extensions_dir", "../ext_packages") or base,
            reports_file=path_of("reports", "reports.yaml"),
            listen=str(raw.get("listen", "127.0.0.1:8080")),
            public_url=str(raw.get("public_url", "") or ""),
            strict=_as_bool(raw.get("strict", False), "strict"),
            trace=_as_bool(raw.get("trace", False), "trace"),
            max_archive_entries=int(limits.get("entries", 2000)),
            max_archive_bytes=int(limits.get("bytes", 64 * 1024 * 1024)),
            load_only=load_only,
            session_lifetime=int(raw.get("session_lifetime", 8 * 3600)),
            extra={k: v for k, v in raw.items() if k == "extensions"},
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{config_path}: {exc}") from None
    if ":" not in config.listen or not config.listen.rpartition(":")[2].isdigit():
        raise ConfigError(
            f"{config_path}: listen must be HOST:PORT, got {config.listen!r}"
        )
    return config.with_overrides(**overrides)
