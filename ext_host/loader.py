"""Finding, ordering and loading extensions, each inside its own guard.

Discovery reads two sources: ``*.ext`` archives in the extension folder and
installed distributions that declare an entry point in
:data:`ext_host.ENTRY_POINT_GROUP`.  Order is the host's decision alone:
dependencies and ``before`` first, then priority, then name.
"""

from __future__ import annotations

import heapq
import importlib
import importlib.util
import json
import logging
import os
import shutil
import stat
import sys
import sysconfig
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import importlib_metadata
import pluggy
import yaml

from . import ENTRY_POINT_GROUP
from .config import Limits
from .errors import ArchiveError, ExtensionError, HostError, ManifestError
from .manifest import MANIFEST_NAME, Manifest, manifest_from_dict, parse_manifest

log = logging.getLogger(__name__)

_STDLIB = sysconfig.get_paths()["stdlib"]

LOADED, DISABLED, FAILED, BLOCKED = "loaded", "disabled", "failed", "blocked"


@dataclass
class Candidate:
    """An extension found by discovery, not yet imported."""

    source: str  # the archive path, or "entry point NAME (DIST)"
    manifest: Manifest | None = None
    archive: Path | None = None
    sha256: str = ""
    code_dir: Path | None = None  # where its package can be imported from
    error: str = ""
    exc: Exception | None = None  # what ``error`` describes, for strict mode


@dataclass
class ExtensionRecord:
    """What the host knows of one extension; shown by ``ext-host ext list``."""

    name: str
    source: str
    state: str
    message: str = ""
    version: str = ""
    alias: str = ""
    description: str = ""
    priority: int = 100
    hooks: list[str] = field(default_factory=list)
    manifest: Manifest | None = None
    plugin: Any = None
    code_dir: Path | None = None
    sha256: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "alias": self.alias,
            "source": self.source,
            "state": self.state,
            "message": self.message,
            "priority": self.priority,
            "hooks": list(self.hooks),
        }


def discover_archives(folder: Path) -> list[Path]:
    """The ``*.ext`` files of ``folder``, each real file once, sorted by name.

    Hidden files (``.staging`` and its partial uploads among them) and other
    files are ignored.  Two paths that reach the same file (a symlink, a
    hard link) count once: the path that is not a symlink wins, then the
    first by name, so the choice never depends on listing order.
    """
    if not folder.is_dir():
        return []
    by_file: dict[tuple[int, int], list[Path]] = {}
    for entry in folder.iterdir():
        if entry.name.startswith(".") or entry.suffix != ".ext":
            continue
        try:
            st = entry.stat()
        except OSError:
            log.warning("ignoring %s: it points at nothing", entry)
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        by_file.setdefault((st.st_dev, st.st_ino), []).append(entry)
    chosen = [
        min(paths, key=lambda p: (p.is_symlink(), p.name)) for paths in by_file.values()
    ]
    return sorted(chosen, key=lambda p: p.name)


def cache_folder(cache_dir: Path, archive: Path, sha256: str) -> Path:
    """Where the unpacked copy of ``archive`` (with digest ``sha256``) lives."""
    return cache_dir / f"{archive.stem}-{sha256[:16]}"


def prepare_archive(path: Path, cache_dir: Path, limits: Limits) -> Candidate:
    """Validate an archive and make sure its unpacked copy is in the cache.

    A warm cache (a folder named after the archive's digest) is reused without
    unpacking or re-hashing the files in it.  When the archive file is the one
    recorded in its stamp (same size, mtime_ns and inode), not even the archive
    is hashed or its manifest parsed again: see :func:`_read_stamp`.
    """
    candidate = Candidate(source=str(path), archive=path)
    try:
        warm = _read_stamp(path, cache_dir)
        if warm is not None:
            candidate.sha256, candidate.code_dir, candidate.manifest = warm
            return candidate
        # The cold path: zipfile and friends are imported only now (~30 ms).
        from .archive import extract, file_sha256

        candidate.sha256 = file_sha256(path)
        target = cache_folder(cache_dir, path, candidate.sha256)
        if (target / MANIFEST_NAME).is_file():
            text = (target / MANIFEST_NAME).read_text(encoding="utf-8")
            candidate.manifest = parse_manifest(text, f"{path.name}: {MANIFEST_NAME}")
        else:
            candidate.manifest = extract(path, target, limits).manifest
            prune_cache(cache_dir, path.stem, keep=target)
        candidate.code_dir = target
        _write_stamp(path, cache_dir, candidate.sha256, target)
    except (ArchiveError, ManifestError) as exc:
        candidate.error, candidate.exc = str(exc), exc
    except OSError as exc:
        candidate.error = f"{path.name}: cannot read ({exc.strerror})"
        candidate.exc = exc
    return candidate


# -- warm-start stamps ----------------------------------------------------------
#
# Hashing every archive at every start grows with the archives' size, and
# parsing and schema-checking every manifest costs about a millisecond each
# (and ~50 ms to import jsonschema at all).  So once an archive is validated
# and unpacked, ``ext-cache/.NAME.ext.stamp`` records the archive file's
# (size, mtime_ns, inode), its SHA-256 and the validated manifest fields.  A
# replaced or edited archive changes at least one of the three and takes the
# full path again; a stamp that cannot be read is ignored.


def _stamp_path(path: Path, cache_dir: Path) -> Path:
    return cache_dir / f".{path.name}.stamp"


def _file_key(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def _read_stamp(path: Path, cache_dir: Path) -> tuple[str, Path, Manifest] | None:
    try:
        stamp = json.loads(_stamp_path(path, cache_dir).read_text(encoding="utf-8"))
        if stamp["file"] != _file_key(path):
            return None
        target = cache_dir / stamp["folder"]
        if not (target / MANIFEST_NAME).is_file():
            return None
        source = f"{path.name}: {MANIFEST_NAME}"
        manifest = manifest_from_dict(stamp["manifest"], source, checked=True)
        return str(stamp["sha256"]), target, manifest
    except (OSError, ValueError, KeyError, TypeError, HostError):
        return None


def _write_stamp(path: Path, cache_dir: Path, sha256: str, target: Path) -> None:
    try:
        raw = yaml.safe_load((target / MANIFEST_NAME).read_text(encoding="utf-8"))
        stamp = {
            "file": _file_key(path),
            "sha256": sha256,
            "folder": target.name,
            "manifest": raw,
        }
        tmp = _stamp_path(path, cache_dir).with_suffix(".tmp")
        tmp.write_text(json.dumps(stamp, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, _stamp_path(path, cache_dir))
    except (OSError, ValueError, yaml.YAMLError) as exc:
        log.debug("no warm-start stamp for %s: %s", path.name, exc)


#: Unpacked versions kept per archive name, newest first.  Another host
#: process may still run an older one, so the previous versions stay.
CACHE_VERSIONS_KEPT = 3


def prune_cache(
    cache_dir: Path, stem: str, keep: Path | None = None, versions: int = 0
) -> None:
    """Delete unpacked copies of archive ``stem`` beyond the newest
    ``versions`` (default :data:`CACHE_VERSIONS_KEPT`); ``keep`` always stays.

    Only folders named exactly ``STEM-<16 hex digits>`` count, so pruning
    ``demo`` never touches ``demo-extra``'s copies.
    """
    versions = versions or CACHE_VERSIONS_KEPT
    if not cache_dir.is_dir():
        return
    mine = [
        folder
        for folder in cache_dir.iterdir()
        if folder.is_dir()
        and folder.name.rpartition("-")[0] == stem
        and len(folder.name.rpartition("-")[2]) == 16
        and folder != keep
    ]
    mine.sort(key=lambda f: f.stat().st_mtime, reverse=True)
    room = versions - (1 if keep is not None else 0)
    for old in mine[max(room, 0) :]:
        shutil.rmtree(old, ignore_errors=True)


def discover_entry_points() -> list[Candidate]:
    """Installed distributions offering an extension (``pip install -e``)."""
    found = []
    for ep in sorted(
        importlib_metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name
    ):
        dist = ep.dist.name if ep.dist else "?"
        candidate = Candidate(source=f"entry point {ep.name} ({dist})")
        top = ep.value.split(":")[0].split(".")[0]
        try:
            spec = importlib.util.find_spec(top)
        except (ImportError, ValueError):
            spec = None
        if spec is None or not spec.submodule_search_locations:
            candidate.error = (
                f"{candidate.source}: package {top!r} not found; reinstall the "
                "distribution"
            )
            found.append(candidate)
            continue
        package_dir = Path(next(iter(spec.submodule_search_locations)))
        manifest_path = package_dir / MANIFEST_NAME
        try:
            text = manifest_path.read_text(encoding="utf-8")
            candidate.manifest = parse_manifest(text, str(manifest_path))
        except OSError:
            candidate.error = (
                f"{candidate.source}: no {MANIFEST_NAME} in {package_dir}; add one "
                "(see docs/extensions.md)"
            )
        except ManifestError as exc:
            candidate.error = str(exc)
        candidate.code_dir = package_dir.parent
        found.append(candidate)
    return found


def order(manifests: Iterable[Manifest]) -> list[Manifest]:
    """Load order: dependencies and ``before`` first, then priority, then name.

    Raises :class:`ExtensionError` naming the cycle when there is one.
    Unknown names in ``depends`` and ``before`` are ignored here (the loader
    blocks a dependent of a missing extension itself).
    """
    by_name = {m.name: m for m in manifests}
    after: dict[str, set[str]] = {name: set() for name in by_name}
    for m in by_name.values():
        for dep in m.depends:
            if dep.name in by_name:
                after[m.name].add(dep.name)
        for other in m.before:
            if other in by_name:
                after[other].add(m.name)
    waiting = {name: len(deps) for name, deps in after.items()}
    followers: dict[str, list[str]] = {name: [] for name in by_name}
    for name, deps in after.items():
        for needed in deps:
            followers[needed].append(name)
    ready = [(by_name[n].priority, n) for n, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    result = []
    while ready:
        _, name = heapq.heappop(ready)
        result.append(by_name[name])
        for follower in followers[name]:
            waiting[follower] -= 1
            if waiting[follower] == 0:
                heapq.heappush(ready, (by_name[follower].priority, follower))
    if len(result) < len(by_name):
        raise ExtensionError(f"extension order has a cycle: {_find_cycle(after)}")
    return result


def _find_cycle(after: dict[str, set[str]]) -> str:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        stack.append(name)
        for dep in sorted(after[name]):
            if state.get(dep) == 1:
                return stack[stack.index(dep) :] + [dep]
            if dep not in state and (found := visit(dep)):
                return found
        stack.pop()
        state[name] = 2
        return None

    for name in sorted(after):
        if name not in state and (cycle := visit(name)):
            return " -> ".join(cycle)
    return "?"


def import_entry(manifest: Manifest, code_dir: Path) -> Any:
    """Import the entry object of ``manifest`` from ``code_dir``.

    A module of the same name imported from somewhere else (another host's
    cache, a source checkout) is dropped first, so this host runs exactly the
    code it validated.  A class is instantiated with no arguments.
    """
    code_dir = Path(code_dir).resolve()
    top = manifest.top_package
    existing = sys.modules.get(top)
    if existing is not None:
        origin = Path(getattr(existing, "__file__", "") or "/").resolve()
        if not origin.is_relative_to(code_dir):
            for mod in [m for m in sys.modules if m == top or m.startswith(top + ".")]:
                del sys.modules[mod]
    path_entry = os.fspath(code_dir)
    if path_entry in sys.path:
        sys.path.remove(path_entry)
    sys.path.insert(0, path_entry)
    if path_entry in sys.path_importer_cache:
        # A finder made for this folder earlier in the process may hold a stale
        # listing; a folder new to the process gets a fresh finder anyway, and
        # invalidating every finder for each of 100 extensions shows at start:
        # only this folder's finder is refreshed.
        finder = sys.path_importer_cache[path_entry]
        if finder is not None and hasattr(finder, "invalidate_caches"):
            finder.invalidate_caches()
    module = importlib.import_module(manifest.entry_module)
    obj: Any = module
    if manifest.entry_object:
        try:
            obj = getattr(module, manifest.entry_object)
        except AttributeError:
            raise ExtensionError(
                f"{manifest.entry_module} has no {manifest.entry_object!r}; fix "
                "'entry' in the manifest"
            ) from None
    if isinstance(obj, type):
        obj = obj()
    return obj


def forget_import(manifest: Manifest, code_dir: Path | None) -> None:
    """Undo :func:`import_entry`: modules and the ``sys.path`` entry go."""
    top = manifest.top_package
    for mod in [m for m in sys.modules if m == top or m.startswith(top + ".")]:
        del sys.modules[mod]
    if code_dir is not None:
        entry = os.fspath(Path(code_dir).resolve())
        if entry in sys.path:
            sys.path.remove(entry)


def describe_exception(exc: BaseException, code_dir: Path | None = None) -> str:
    """A one-line account of ``exc``, pointing at the extension's own frame
    (the last one under ``code_dir``, else the last outside site-packages)."""
    if isinstance(exc, HostError):
        return str(exc)
    if isinstance(exc, pluggy.PluginValidationError):
        # pluggy's message spans lines: the plugin, the definition, the rule.
        return " ".join(str(exc).splitlines()[1:]) or str(exc)
    own = os.fspath(Path(code_dir).resolve()) + os.sep if code_dir else None
    where = fallback = ""
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        here = f" ({Path(filename).name}:{tb.tb_lineno})"
        if own and filename.startswith(own):
            where = here
        elif (
            not filename.startswith(("<", _STDLIB)) and "site-packages" not in filename
        ):
            fallback = here
        tb = tb.tb_next
    if isinstance(exc, SyntaxError):
        where = fallback = ""  # its message names the file and line already
    text = " ".join(str(exc).split("\n"))
    return f"{type(exc).__name__}: {text}{where or fallback}"
