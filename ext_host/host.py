"""The host object: owns the configuration, the store and the plugin manager.

Nothing here is global: every :class:`Host` is independent, so tests build a
fresh one each time and several can live in one process.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import pluggy
from packaging.version import Version

from . import __version__, hookspecs
from .api import PROJECT
from .config import LOAD_ENV, HostConfig, Limits
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


@dataclass(frozen=True)
class ReloadResult:
    """What :meth:`Host.reload` did, for the operator."""

    message: str
    changes: list[str]
    restart_needed: list[str]  # extensions whose HTTP routes changed


class _PluginManager(pluggy.PluginManager):
    """pluggy's manager, minus the look at every dunder attribute of every
    plugin at registration (``inspect.getattr_static`` on ~30 names each was
    half of a warm start with 100 extensions).  A hook is never a dunder."""

    def parse_hookimpl_opts(self, plugin: Any, name: str) -> Any:
        if name.startswith("__"):
            return None
        return super().parse_hookimpl_opts(plugin, name)


class Host:
    """One BI host: configuration, store, extensions and the services on them."""

    def __init__(self, config: HostConfig):
        from .menus import MenuService
        from .options import OptionService
        from .reports import ReportService
        from .users import UserService

        self.config = config
        self.version = Version(__version__)
        # Private when created: the store and secret.key live here.
        config.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.store = Store(config.database)
        self.secrets = SecretBox(config.data_dir)
        self.pm = _PluginManager(PROJECT)
        self.pm.add_hookspecs(hookspecs)
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
        self.unload_extensions()
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
        """Discover, order and load every extension, each inside its own guard.

        Candidates arrive sorted (archives by file name, then entry points by
        name), so which of two same-named extensions wins never depends on
        how the folder was listed.
        """
        records: dict[str, ExtensionRecord] = {}
        chosen: dict[str, Candidate] = {}
        only = self.config.load_only

        def add(record: ExtensionRecord) -> None:
            key = record.name
            if key in records:
                key = f"{record.name} ({record.source})"
            records[key] = record

        for cand in self.discover():
            if cand.manifest is None:
                name = cand.archive.stem if cand.archive else cand.source
                self._refuse(cand.error, cand.exc)
                add(ExtensionRecord(name, cand.source, FAILED, cand.error))
                continue
            m = cand.manifest
            if m.name in chosen:
                first = chosen[m.name].source
                message = (
                    f"duplicate extension name {m.name!r}: {cand.source} refused, "
                    f"{first} is used; remove one of them"
                )
                self._refuse(message)
                add(
                    ExtensionRecord(
                        m.name, cand.source, FAILED, message, str(m.version)
                    )
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
                sha256=cand.sha256,
            )
            if only is not None and m.name not in only:
                record.state = DISABLED
                record.message = f"not named in {LOAD_ENV}"
            elif not self.is_enabled(m.name):
                record.state, record.message = DISABLED, "disabled by the operator"
            elif m.host and not m.host.contains(self.version, prereleases=True):
                record.state = FAILED
                record.message = (
                    f"requires host {m.host}, this host is {self.version}; "
                    "install a version of the extension made for this host"
                )
                self._refuse(record.message)
            add(record)

        active = [
            r.manifest for r in records.values() if r.state == LOADED and r.manifest
        ]
        while True:
            try:
                sequence = order(active)
                break
            except ExtensionError as exc:
                self._refuse(str(exc), exc)
                cycle = str(exc).rsplit(": ", 1)[1].split(" -> ")
                for name in set(cycle):
                    records[name].state = FAILED
                    records[name].message = f"{exc}; remove one of the dependencies"
                active = [m for m in active if m.name not in cycle]

        extensions = {m.name: records.pop(m.name) for m in sequence}
        extensions.update(records)
        self.extensions = extensions

        for manifest in sequence:
            record = self.extensions[manifest.name]
            problem = self._dependency_problem(manifest)
            if problem:
                record.state, record.message = BLOCKED, problem
                log.error("extension %s blocked: %s", record.name, problem)
                self._refuse(f"extension {record.name!r} blocked: {problem}")
                continue
            self._load_one(record)

    def _refuse(self, message: str, exc: BaseException | None = None) -> None:
        """In strict mode, raise instead of recording a failure."""
        if not self.config.strict:
            return
        if exc is not None:
            raise exc
        raise ExtensionError(message)

    def unload_extensions(self) -> None:
        """Call ``shutdown`` in reverse load order, then unregister every
        extension and forget its modules.  The store stays open."""
        for record in reversed(self.loaded()):
            self._guarded(
                record, "shutdown", partial(self._call_one, record, "shutdown")
            )
        for record in self.loaded():
            if record.plugin is not None and self.pm.is_registered(record.plugin):
                self.pm.unregister(record.plugin)
            if record.manifest is not None:
                forget_import(record.manifest, record.code_dir)
        self.extensions = {}
        self.conflicts = []

    def reload(self) -> ReloadResult:
        """Stop the extensions, discover them again and load them.

        The result says what changed and whether a restart is still needed:
        HTTP routes are bound when the web app is built, so an extension
        with routes that was added, removed or replaced only serves its new
        routes after a restart.
        """
        before = {r.name: r for r in self.loaded()}
        self.unload_extensions()
        self.load_extensions()
        after = {r.name: r for r in self.loaded()}

        changes = []
        restart = []
        for name in sorted(set(before) | set(after)):
            old, new = before.get(name), after.get(name)
            if old is not None and new is not None:
                if (old.sha256, old.version) == (new.sha256, new.version):
                    continue
                changes.append(f"{name} {old.version} -> {new.version}")
            elif new is not None:
                changes.append(f"{name} {new.version} loaded")
            else:
                assert old is not None
                now = self.extensions.get(name)
                changes.append(
                    f"{name} {now.state}: {now.message}" if now else f"{name} removed"
                )
            if any("http_routes" in r.hooks for r in (old, new) if r is not None):
                restart.append(name)
        for record in self.extensions.values():
            if record.state == FAILED and record.name not in before:
                changes.append(f"{record.name} failed: {record.message}")
        message = "reloaded: " + ("; ".join(changes) or "nothing changed")
        if restart:
            message += (
                f"; restart the host to serve the changed HTTP routes of "
                f"{', '.join(restart)}"
            )
        return ReloadResult(message, changes, restart)

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
                return (
                    f"depends on {dep}, but {dep.name} {other.version} is "
                    "installed; install a matching version"
                )
        return ""

    def _check_hooks(self, plugin: Any) -> None:
        """Refuse, before anything is registered, an implementation of a hook
        that does not exist or that asks for arguments the hook never passes.

        Checking first means a refused extension leaves nothing behind in the
        plugin manager (pluggy would keep a caller for an unknown hook name).
        """
        for attr in sorted(dir(plugin)):
            opts = self.pm.parse_hookimpl_opts(plugin, attr)
            if opts is None:
                continue
            hook = opts.get("specname") or attr
            caller = getattr(self.pm.hook, hook, None)
            if caller is None or caller.spec is None:
                raise ExtensionError(
                    f"implements unknown hook {hook!r}; hooks are "
                    f"{', '.join(hookspecs.HOOK_NAMES)} (see docs/extensions.md)"
                )
            allowed = caller.spec.argnames
            method = getattr(plugin, attr)
            try:
                params = inspect.signature(method).parameters.values()
            except (TypeError, ValueError):
                continue
            wanted = [
                p.name
                for p in params
                if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
            ]
            extra = [name for name in wanted if name not in allowed]
            if extra:
                raise ExtensionError(
                    f"hook {hook!r} implementation asks for {', '.join(extra)}, "
                    f"which the host does not pass; it may take "
                    f"{', '.join(allowed)}"
                )

    def _load_one(self, record: ExtensionRecord) -> None:
        manifest = record.manifest
        assert manifest is not None and record.code_dir is not None
        step = "import"
        try:
            plugin = import_entry(manifest, record.code_dir)
            step = "register"
            self._check_hooks(plugin)
            self.pm.register(plugin, name=record.name)
            record.plugin = plugin
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
            reason = describe_exception(exc, record.code_dir)
            record.message = f"{step} failed: {reason}"
            log.error("extension %s failed: %s", record.name, record.message)
            if self.config.strict:
                raise
            return
        log.info("extension %r %s loaded", record.name, record.version)

    def _call_one(self, record: ExtensionRecord, hook: str, **extra: Any) -> Any:
        kwargs = {"host": self, **extra}
        for impl in getattr(self.pm.hook, hook).get_hookimpls():
            if impl.plugin is record.plugin:
                if not self.config.trace:
                    return impl.function(**{k: kwargs[k] for k in impl.argnames})
                return self._traced(record, hook, impl, kwargs)
        return None

    def _traced(
        self, record: ExtensionRecord, hook: str, impl: Any, kwargs: dict[str, Any]
    ) -> Any:
        """Call ``impl`` logging the call and its outcome (never the values,
        which may hold secrets)."""
        log.info("hook %s: calling extension %r", hook, record.name)
        try:
            result = impl.function(**{k: kwargs[k] for k in impl.argnames})
        except Exception as exc:
            log.info(
                "hook %s: extension %r raised %s", hook, record.name, type(exc).__name__
            )
            raise
        if isinstance(result, list | tuple):
            outcome = f"{len(result)} item(s)"
        else:
            outcome = type(result).__name__
        log.info("hook %s: extension %r returned %s", hook, record.name, outcome)
        return result

    def _guarded(
        self, record: ExtensionRecord, hook: str, call: Callable[[], T]
    ) -> T | None:
        try:
            return call()
        except Exception as exc:
            reason = describe_exception(exc, record.code_dir)
            message = f"hook {hook} failed: {reason}"
            log.error("extension %s: %s", record.name, message)
            if self.config.strict:
                raise
            if not record.message:
                record.message = message
            return None

    def serving(self) -> None:
        """Tell every loaded extension that the web server is about to serve
        (the ``serving`` hook); a failing extension is recorded, not fatal."""
        for record in self.loaded():
            self._guarded(record, "serving", partial(self._call_one, record, "serving"))

    def collect(self, hook: str) -> list[tuple[str, Any]]:
        """Call ``hook`` on every loaded extension, in load order.

        Returns ``(extension name, item)`` for every item of every returned
        list; an extension whose implementation raises contributes nothing and
        has the failure recorded in its message.
        """
        items: list[tuple[str, Any]] = []
        for record in self.loaded():
            result = self._guarded(record, hook, partial(self._call_one, record, hook))
            if result is not None and not isinstance(result, list | tuple):
                message = (
                    f"hook {hook} returned {type(result).__name__}, expected a "
                    "list; return a list (or None)"
                )
                log.error("extension %s: %s", record.name, message)
                self._refuse(message)
                if not record.message:
                    record.message = message
                continue
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

    def current_admin(self) -> Any:
        """The administrator signed in to the console in this request, or None
        (a sign-in through an extension does not open the console)."""
        from .sessions import current_admin

        return current_admin(self)
