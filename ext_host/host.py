"""The host object: owns the configuration, the store and the plugin manager.

Nothing here is global: every :class:`Host` is independent, so tests build a
fresh one each time and several can live in one process.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import pluggy
from packaging.version import Version

from . import __version__, hookspecs
from .api import PROJECT
from .archive import Limits
from .config import HostConfig
from .errors import ExtensionError
from .loader import (
    BLOCKED,
    DISABLED,
    FAILED,
    LOADED,
    Candidate,
    ExtensionRecord,
    describe_exception,
    discover_archives,
    discover_entry_points,
    forget_import,
    import_entry,
    order,
    prepare_archive,
)
from .secretbox import SecretBox
from .store import Store

log = logging.getLogger(__name__)

T = TypeVar("T")


class Host:
    """One BI host: configuration, store, extensions and the services on them."""

    def __init__(self, config: HostConfig):
        from .menus import MenuService
        from .options import OptionService
        from .reports import ReportService
        from .users import UserService

        self.config = config
        self.version = Version(__version__)
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = Store(config.database)
        self.secrets = SecretBox(config.data_dir)
        self.pm = pluggy.PluginManager(PROJECT)
        self.pm.add_hookspecs(hookspecs)
        if config.trace:
            self.pm.trace.root.setwriter(lambda msg: log.info("hook %s", msg.rstrip()))
            self.pm.enable_tracing()
        #: Every extension seen, by name, in load order for the loaded ones.
        self.extensions: dict[str, ExtensionRecord] = {}
        #: Contributions refused because another extension claimed the name.
        self.conflicts: list[str] = []
        self.users = UserService(self)
        self.reports = ReportService(self)
        self.options = OptionService(self)
        self.menus = MenuService(self)
        self.started = False

    # -- life cycle ----------------------------------------------------------

    def start(self) -> Host:
        """Load the reports and the extensions; call every ``startup`` hook."""
        if self.started:
            return self
        if self.config.reports_file is not None:
            self.reports.sync_from_file(self.config.reports_file)
        self.load_extensions()
        self.started = True
        return self

    def stop(self) -> None:
        """Call ``shutdown`` in reverse load order, then close the store."""
        if not self.started:
            return
        for record in reversed(self.loaded()):
            self._guarded(
                record, "shutdown", partial(self._call_one, record, "shutdown")
            )
        for record in self.loaded():
            self.pm.unregister(record.plugin)
            if record.manifest is not None:
                forget_import(record.manifest, record.code_dir)
        self.started = False
        self.store.close()

    def __enter__(self) -> Host:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- extensions ----------------------------------------------------------

    @property
    def cache_dir(self) -> Path:
        return self.config.data_dir / "ext-cache"

    @property
    def limits(self) -> Limits:
        return Limits(self.config.max_archive_entries, self.config.max_archive_bytes)

    def loaded(self) -> list[ExtensionRecord]:
        return [r for r in self.extensions.values() if r.state == LOADED]

    def is_enabled(self, name: str) -> bool:
        row = self.store.query_one(
            "SELECT enabled FROM extension_state WHERE name = ?", (name,)
        )
        return row is None or bool(row["enabled"])

    def discover(self) -> list[Candidate]:
        cache = self.cache_dir
        cache.mkdir(parents=True, exist_ok=True)
        candidates = [
            prepare_archive(path, cache, self.limits)
            for path in discover_archives(self.config.extensions_dir)
        ]
        candidates.extend(discover_entry_points())
        return candidates

    def load_extensions(self) -> None:
        """Discover, order and load every extension, each inside its own guard."""
        candidates = self.discover()
        records: dict[str, ExtensionRecord] = {}
        chosen: dict[str, Candidate] = {}
        only = self.config.load_only

        for cand in candidates:
            if cand.manifest is None:
                name = Path(cand.source).stem if cand.archive else cand.source
                records[name] = ExtensionRecord(
                    name=name, source=cand.source, state=FAILED, message=cand.error
                )
                log.error("extension %s failed: %s", name, cand.error)
                continue
            m = cand.manifest
            if only is not None and m.name not in only:
                continue
            if m.name in chosen:
                first = chosen[m.name].source
                records.setdefault(
                    f"{m.name} ({cand.source})",
                    ExtensionRecord(
                        name=m.name,
                        source=cand.source,
                        state=FAILED,
                        version=str(m.version),
                        message=(
                            f"duplicate extension name {m.name!r}: {cand.source} "
                            f"refused, {first} is used; remove one of them"
                        ),
                    ),
                )
                continue
            chosen[m.name] = cand
            record = ExtensionRecord(
                name=m.name,
                source=cand.source,
                state=LOADED,
                version=str(m.version),
                alias=m.alias,
                description=m.description,
                priority=m.priority,
                manifest=m,
                code_dir=cand.code_dir,
            )
            if not self.is_enabled(m.name):
                record.state, record.message = DISABLED, "disabled by the operator"
            elif m.host and not m.host.contains(self.version, prereleases=True):
                record.state = FAILED
                record.message = (
                    f"requires host {m.host}, this host is {self.version}; "
                    "install a version of the extension made for this host"
                )
            records[m.name] = record

        active = [
            r.manifest for r in records.values() if r.state == LOADED and r.manifest
        ]
        while True:
            try:
                sequence = order(active)
                break
            except ExtensionError as exc:
                cycle = str(exc).rsplit(": ", 1)[1].split(" -> ")
                for name in set(cycle):
                    records[name].state = FAILED
                    records[name].message = f"{exc}; remove one of the dependencies"
                active = [m for m in active if m.name not in cycle]

        self.extensions = {}
        for manifest in sequence:
            self.extensions[manifest.name] = records.pop(manifest.name)
        self.extensions.update(records)

        for manifest in sequence:
            record = self.extensions[manifest.name]
            problem = self._dependency_problem(manifest)
            if problem:
                record.state, record.message = BLOCKED, problem
                log.error("extension %s blocked: %s", record.name, problem)
                continue
            self._load_one(record)

    def _dependency_problem(self, manifest: Any) -> str:
        for dep in manifest.depends:
            other = self.extensions.get(dep.name)
            if other is None:
                return f"depends on {dep}, which is not installed; install it"
            if other.state != LOADED:
                return f"depends on {dep.name}, which is {other.state}"
            if dep.specifier and not dep.specifier.contains(
                other.version, prereleases=True
            ):
                return f"depends on {dep}, but {dep.name} {other.version} is installed"
        return ""

    def _load_one(self, record: ExtensionRecord) -> None:
        manifest = record.manifest
        assert manifest is not None and record.code_dir is not None
        step = "import"
        try:
            plugin = import_entry(manifest, record.code_dir)
            step = "register"
            self.pm.register(plugin, name=record.name)
            record.plugin = plugin
            unknown = [
                caller.name
                for caller in self.pm.get_hookcallers(plugin) or []
                if not caller.has_spec()
            ]
            if unknown:
                raise ExtensionError(
                    f"implements unknown hook {unknown[0]!r}; hooks are "
                    f"{', '.join(hookspecs.HOOK_NAMES)}"
                )
            record.hooks = sorted(c.name for c in self.pm.get_hookcallers(plugin) or [])
            step = "startup"
            self._call_one(record, "startup")
        except Exception as exc:
            if record.plugin is not None and self.pm.is_registered(record.plugin):
                self.pm.unregister(record.plugin)
            record.plugin = None
            record.hooks = []
            forget_import(manifest, record.code_dir)
            record.state = FAILED
            record.message = f"{step} failed: {describe_exception(exc)}"
            log.error("extension %s failed: %s", record.name, record.message)
            if self.config.strict:
                raise
            return
        log.info("extension %r %s loaded", record.name, record.version)

    def _call_one(self, record: ExtensionRecord, hook: str, **extra: Any) -> Any:
        kwargs = {"host": self, **extra}
        for impl in getattr(self.pm.hook, hook).get_hookimpls():
            if impl.plugin is record.plugin:
                return impl.function(**{k: kwargs[k] for k in impl.argnames})
        return None

    def _guarded(
        self, record: ExtensionRecord, hook: str, call: Callable[[], T]
    ) -> T | None:
        try:
            return call()
        except Exception as exc:
            message = f"hook {hook} failed: {describe_exception(exc)}"
            log.error("extension %s: %s", record.name, message)
            if self.config.strict:
                raise
            if not record.message:
                record.message = message
            return None

    def collect(self, hook: str) -> list[tuple[str, Any]]:
        """Call ``hook`` on every loaded extension, in load order.

        Returns ``(extension name, item)`` for every item of every returned
        list; an extension whose implementation raises contributes nothing and
        has the failure recorded in its message.
        """
        items: list[tuple[str, Any]] = []
        for record in self.loaded():
            result = self._guarded(record, hook, partial(self._call_one, record, hook))
            for item in result or []:
                items.append((record.name, item))
        return items

    def unique(
        self,
        hook: str,
        key: Callable[[Any], str],
        what: str,
        taken: set[str] | None = None,
    ) -> list[tuple[str, Any]]:
        """:meth:`collect`, keeping the first claim of each ``key`` and reporting
        later claims in :attr:`conflicts` instead of merging them."""
        seen: dict[str, str] = {k: "the host" for k in (taken or set())}
        kept = []
        for ext, item in self.collect(hook):
            name = key(item)
            if name in seen:
                message = (
                    f"{what} {name!r} of extension {ext!r} refused: already "
                    f"claimed by {seen[name]}"
                )
                if message not in self.conflicts:
                    self.conflicts.append(message)
                    log.error(message)
                continue
            seen[name] = f"extension {ext!r}"
            kept.append((ext, item))
        return kept

    # -- conveniences for extensions ---------------------------------------------

    def sign_in(self, user_name: str, secure: bool = False, proof: str = "") -> None:
        """Start a web session for ``user_name`` (inside a request); ``secure``
        marks the cookie Secure, ``proof`` is a digest of what proved who it is
        (see :func:`ext_host.sessions.sign_in`)."""
        from .sessions import sign_in

        sign_in(self, user_name, secure=secure, proof=proof)

    def sign_out(self) -> None:
        """End the web session of this request, if any."""
        from .sessions import sign_out

        sign_out(self)

    def session_proof(self) -> str:
        """The proof digest the current session was started with, or ``""``."""
        from .sessions import current_proof

        return current_proof()

    def current_user(self) -> Any:
        from .sessions import current_user

        return current_user(self)
