"""Fixtures that build a real host, a real sandbox and real servers in a few lines.

Nothing of ours is mocked: the host talks to the sandbox over HTTP on
127.0.0.1, keeps its data in a SQLite file under ``tmp_path``, and loads the
WeCom extension from an archive packed from ``ext_wecom/``.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from stackkit import AGENTID, MEMBER, REPO, SANDBOX_CORP

from ext_host.archive import pack
from ext_host.config import DEFAULT_CONFIG, load_config
from ext_host.host import Host
from ext_host.web import ServerThread, start_server
from wecom_sandbox import Sandbox


@pytest.fixture(scope="session")
def wecom_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``wecom.ext`` packed once from the source tree."""
    return pack(REPO / "ext_wecom", out_dir=tmp_path_factory.mktemp("archive"))


@pytest.fixture
def make_host(tmp_path: Path) -> Iterator[Callable[..., Host]]:
    """Build started hosts on a fresh data folder; stopped after the test.

    ``make_host(archives=[...], **overrides)`` copies the archives into the
    host's extension folder first.
    """
    hosts: list[Host] = []

    def build(archives: list[Path] = (), **overrides: Any) -> Host:  # type: ignore[assignment]
        ext_dir = Path(overrides.pop("extensions_dir", tmp_path / "ext"))
        ext_dir.mkdir(parents=True, exist_ok=True)
        for archive in archives:
            shutil.copy(archive, ext_dir / archive.name)
        config = load_config(
            DEFAULT_CONFIG,
            env={},
            data_dir=overrides.pop("data_dir", tmp_path / "data"),
            extensions_dir=ext_dir,
            **overrides,
        )
        host = Host(config).start()
        hosts.append(host)
        return host

    yield build
    for host in reversed(hosts):
        host.stop()


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox.from_yaml(SANDBOX_CORP) as sb:
        yield sb


@dataclass
class Stack:
    """A configured host with the WeCom extension, its web server and the sandbox."""

    host: Host
    sandbox: Sandbox
    server: ServerThread
    app: Any

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture
def stack(
    make_host: Callable[..., Host], sandbox: Sandbox, wecom_archive: Path
) -> Iterator[Stack]:
    """Host + WeCom extension + web server + sandbox, configured as an
    administrator would, with user ``chendongping`` bound to the member of the
    same account."""
    host = make_host([wecom_archive])
    server = start_server(host)
    app = sandbox.app(AGENTID)
    sandbox.set_trusted_domain(AGENTID, server.url.split("://", 1)[1])
    host.options.set(
        "wecom",
        {
            "corpid": sandbox.corpid,
            "app_secrets": app.secret,
            "contacts_secret": sandbox.corp.contacts_secret,
            "server_address": server.url,
            "api_base": sandbox.url,
            "oauth_base": sandbox.url,
            "web_login_base": sandbox.url,
        },
    )
    host.users.add(MEMBER, alias="陈东平", fields={"wecom.account": MEMBER})
    try:
        yield Stack(host, sandbox, server, app)
    finally:
        server.stop()
