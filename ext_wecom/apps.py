"""Apps: each app secret resolves, through ``agent/list``, to the app's agentid
and name, so people pick an app by name (the guide's "DEMO")."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from ext_host.api import HostError, NotFound

from . import settings
from .client import WeComClient, WeComError, secret_key

APPS_NS = "wecom.app"
APP_CACHE_SECONDS = 600


@dataclass(frozen=True)
class App:
    agentid: int
    name: str
    position: int  # 1-based place of its secret in the settings
    client: WeComClient

    def as_dict(self) -> dict[str, Any]:
        return {"agentid": self.agentid, "name": self.name, "position": self.position}


@dataclass(frozen=True)
class AppProblem:
    position: int
    error: str


def client_for(
    host: Any, secret: str, conf: settings.Settings | None = None
) -> WeComClient:
    conf = conf or settings.load(host)
    return WeComClient(host.store, conf.api_base, conf.corpid, secret)


def require_configured(conf: settings.Settings) -> None:
    if not conf.corpid:
        raise NotFound(
            "微信设置: CorpID is not set; `ext-host options set wecom corpid=...`"
        )
    if not conf.secrets:
        raise NotFound(
            "微信设置: no app secret is set; `ext-host options set wecom app_secrets=...`"
        )


def resolve(host: Any, use_cache: bool = True) -> tuple[list[App], list[AppProblem]]:
    """Every configured app secret, resolved to its app, and the ones that fail."""
    conf = settings.load(host)
    require_configured(conf)
    apps, problems = [], []
    for position, secret in enumerate(conf.secrets, start=1):
        client = client_for(host, secret, conf)
        key = secret_key(conf.corpid, secret)
        cached = host.store.kv_get(APPS_NS, key) if use_cache else None
        try:
            if cached is None:
                data = client.get("agent/list")
                entries = data.get("agentlist") or []
                if not entries:
                    raise WeComError(0, "agent/list returned no app", "agent/list")
                cached = {
                    "agentid": int(entries[0]["agentid"]),
                    "name": entries[0]["name"],
                }
                host.store.kv_set(APPS_NS, key, cached, time.time() + APP_CACHE_SECONDS)
            apps.append(App(cached["agentid"], cached["name"], position, client))
        except HostError as exc:
            problems.append(AppProblem(position, f"secret #{position}: {exc}"))
    return apps, problems


def find(host: Any, name_or_id: str | int | None) -> App:
    """The app called ``name_or_id`` (its name or agentid); the first if None."""
    apps, problems = resolve(host)
    if not apps:
        raise NotFound(
            "no app could be reached: " + "; ".join(p.error for p in problems)
        )
    if name_or_id in (None, ""):
        return apps[0]
    text = str(name_or_id)
    for app in apps:
        if app.name == text or str(app.agentid) == text:
            return app
    names = ", ".join(f"{a.name} ({a.agentid})" for a in apps)
    raise NotFound(f"no app {text!r}; configured apps: {names}")
