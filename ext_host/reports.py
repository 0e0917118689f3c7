"""Reports: a name, a place in the resource tree, who may view it, and a query
on a bundled SQLite dataset.

Reports and datasets are declared in ``config/reports.yaml``; each dataset is
an SQL script the host turns into a SQLite file in the data folder, rebuilt
when the script changes.  A query may use ``:user`` (the viewing user's name)
to show each user only their own rows.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from .errors import ConfigError, NotFound, PermissionDenied

if TYPE_CHECKING:
    from .host import Host
    from .users import User

MAX_ROWS = 500
#: Query results kept per (dataset file, query, user); see ReportService.run.
RESULT_CACHE_SIZE = 256


@dataclass(frozen=True)
class Report:
    id: str
    name: str
    path: str
    description: str
    mobile: bool
    viewers: tuple[str, ...]
    dataset: str
    query: str

    @property
    def folder(self) -> str:
        return self.path.rpartition("/")[0]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "path": self.path,
            "description": self.description,
            "mobile": self.mobile,
            "viewers": list(self.viewers),
        }


@dataclass(frozen=True)
class ReportData:
    report: Report
    columns: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool


#: Folds ASCII letters only, as the users table's ``COLLATE NOCASE`` does: user
#: names that SQLite keeps apart ("Ä" and "ä") stay apart here too.
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _fold(name: str) -> str:
    return name.translate(_ASCII_LOWER)


class ReportService:
    def __init__(self, host: Host):
        self.host = host
        # A dataset file is never written in place: it is rebuilt into a new
        # file that replaces it.  So its (inode, mtime_ns) names its content,
        # and both the read-only connections (one per server thread) and the
        # results of a query for a user can be kept while it stays the same.
        self._local = threading.local()
        self._results: OrderedDict[tuple[Any, ...], tuple[list[str], list[Any]]] = (
            OrderedDict()
        )
        self._results_lock = threading.Lock()

    @property
    def dataset_dir(self) -> Path:
        return self.host.config.data_dir / "datasets"

    def sync_from_file(self, path: Path) -> None:
        """Load ``reports.yaml``: build its datasets and upsert its reports."""
        try:
            raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read reports ({exc.strerror})") from None
        except yaml.YAMLError:
            raise ConfigError(f"{path}: not valid YAML") from None
        datasets = raw.get("datasets") or {}
        for name, script in datasets.items():
            self._build_dataset(name, Path(path).parent / script)
        with self.host.store.transaction() as conn:
            for index, item in enumerate(raw.get("reports") or []):
                missing = [
                    k for k in ("id", "name", "dataset", "query") if not item.get(k)
                ]
                if missing:
                    raise ConfigError(
                        f"{path}: report #{index + 1} lacks {', '.join(missing)}"
                    )
                if item["dataset"] not in datasets:
                    raise ConfigError(
                        f"{path}: report {item['id']!r} uses unknown dataset "
                        f"{item['dataset']!r}"
                    )
                conn.execute(
                    "INSERT INTO reports (id, name, path, description, mobile, viewers, "
                    "dataset, query) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT(id) DO UPDATE SET name = excluded.name, "
                    "path = excluded.path, description = excluded.description, "
                    "mobile = excluded.mobile, viewers = excluded.viewers, "
                    "dataset = excluded.dataset, query = excluded.query",
                    (
                        str(item["id"]),
                        item["name"],
                        item.get("path") or item["name"],
                        item.get("description", ""),
                        int(bool(item.get("mobile", False))),
                        json.dumps(item.get("viewers", ["*"]), ensure_ascii=False),
                        item["dataset"],
                        item["query"],
                    ),
                )

    def _build_dataset(self, name: str, script: Path) -> None:
        try:
            sql = script.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                f"{script}: cannot read dataset ({exc.strerror})"
            ) from None
        digest = hashlib.sha256(sql.encode()).hexdigest()[:16]
        self.dataset_dir.mkdir(parents=True, exist_ok=True)
        target = self.dataset_dir / f"{name}.sqlite3"
        stamp = self.dataset_dir / f"{name}.sha"
        if target.exists() and stamp.exists() and stamp.read_text() == digest:
            return
        tmp = target.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        conn = sqlite3.connect(tmp)
        try:
            # A throw-away file until it is renamed into place: no journal and
            # no fsync per statement (that made a 60-row build take 150 ms).
            conn.execute("PRAGMA journal_mode=OFF")
            conn.execute("PRAGMA synchronous=OFF")
            conn.executescript(sql)
            conn.commit()
        except sqlite3.Error as exc:
            conn.close()
            tmp.unlink(missing_ok=True)
            raise ConfigError(f"{script}: dataset script failed ({exc})") from None
        conn.close()
        tmp.replace(target)
        stamp.write_text(digest)

    def _build(self, row: sqlite3.Row) -> Report:
        return Report(
            id=row["id"],
            name=row["name"],
            path=row["path"],
            description=row["description"],
            mobile=bool(row["mobile"]),
            viewers=tuple(json.loads(row["viewers"])),
            dataset=row["dataset"],
            query=row["query"],
        )

    def get(self, report_id: str) -> Report:
        row = self.host.store.query_one(
            "SELECT * FROM reports WHERE id = ?", (report_id,)
        )
        if row is None:
            raise NotFound(
                f"no report {report_id!r}; `ext-host reports list` shows the reports"
            )
        return self._build(row)

    def all(self) -> list[Report]:
        return [
            self._build(r)
            for r in self.host.store.query("SELECT * FROM reports ORDER BY path, id")
        ]

    def can_view(self, user: User, report: Report) -> bool:
        if not user.enabled:
            return False
        for viewer in report.viewers:
            if viewer == "*" or _fold(viewer) == _fold(user.name):
                return True
            if viewer.startswith("group:") and viewer[6:] in user.groups:
                return True
        return False

    def _dataset(self, path: Path, version: tuple[int, ...]) -> sqlite3.Connection:
        """This thread's read-only connection to ``path`` at ``version``."""
        conns = self._local.__dict__.setdefault("conns", {})
        held = conns.get(path)
        if held is not None and held[0] == version:
            return held[1]  # type: ignore[no-any-return]
        if held is not None:
            held[1].close()
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        conns[path] = (version, conn)
        return conn

    def visible_to(self, user: User, mobile_only: bool = False) -> list[Report]:
        return [
            r
            for r in self.all()
            if self.can_view(user, r) and (r.mobile or not mobile_only)
        ]

    def run(self, report: Report, user: User | None) -> ReportData:
        """Run the report's query for ``user``; refuses a user who may not view."""
        if user is not None and not self.can_view(user, report):
            raise PermissionDenied(f"user {user.name!r} may not view {report.name!r}")
        path = self.dataset_dir / f"{report.dataset}.sqlite3"
        st = os.stat(path)
        version = (st.st_ino, st.st_mtime_ns, st.st_size)
        user_name = user.name if user else ""
        key = (str(path), version, report.query, user_name)
        with self._results_lock:
            cached = self._results.get(key)
            if cached is not None:
                self._results.move_to_end(key)
        if cached is None:
            cur = self._dataset(path, version).execute(
                report.query, {"user": user_name}
            )
            cached = (
                [d[0] for d in cur.description or ()],
                cur.fetchmany(MAX_ROWS + 1),
            )
            with self._results_lock:
                self._results[key] = cached
                while len(self._results) > RESULT_CACHE_SIZE:
                    self._results.popitem(last=False)
        columns, rows = cached
        return ReportData(
            report, columns, [tuple(r) for r in rows[:MAX_ROWS]], len(rows) > MAX_ROWS
        )
