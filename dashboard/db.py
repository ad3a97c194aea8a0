"""The one way in: read-only access to the active DuckDB snapshot and the cached query runner.

* `db_path()` — the database file in use: $CHUANGWEN_DB, else data/demo.duckdb.
* `check_database()` — a Chinese, user-facing verdict on that file (missing, unreadable,
  wrong schema version) instead of a traceback.
* `query(name, **params)` — runs queries/<name>.sql with named $params through a fresh
  cursor of a shared read-only connection and returns a DataFrame. Results are cached
  per (query, params, file identity): when an import swaps in a new file, its inode and
  mtime change, so the next call reads the new data.
* Queries over a list of days: a query whose SQL takes `$days` (a DATE[]) and returns an
  `as_of` column answers every day in one pass. Callers still ask for one day
  (`query(name, as_of=d, …)`); inside `as_of_batch(days)` the first such call runs the
  query once for all the batch's days and later days are slices of that one result — how
  the flag engine re-runs its rules at eight earlier weeks without eight times the SQL.
* Access by unit is enforced here, at the one way in: inside a Streamlit session with
  access control on, a query whose $scope_id / $unit_id / $dept_id lies outside the
  signed-in user's subtrees raises `AccessDenied` before the cache is consulted.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import datetime as dt
import functools
import logging
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import duckdb
import numpy as np
import pandas as pd
import streamlit as st

from dashboard import served
from dashboard.auth import OPEN_ACCESS, Access
from dashboard.store import SCHEMA_VERSION

_T = TypeVar("_T")

ROOT = Path(__file__).resolve().parent.parent
QUERIES_DIR = ROOT / "queries"
DEFAULT_DB = ROOT / "data" / "demo.duckdb"
ENV_VAR = "CHUANGWEN_DB"
_QUERY_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_DAYS_PARAM = re.compile(r"\$days\b")


class _Reading(threading.local):
    path: Path | None = None  # the snapshot being built (store.write_snapshot), if any


_reading = _Reading()


def db_path() -> Path:
    if _reading.path is not None:
        return _reading.path
    configured = os.environ.get(ENV_VAR, "").strip()
    return _resolved(configured) if configured else DEFAULT_DB


@contextlib.contextmanager
def reading_snapshot(path: Path) -> Iterator[None]:
    """In this thread, read `path` (a snapshot being built) instead of the active file, as
    the system: no user's access limits apply (the write path computes for every unit).
    The file's connection is closed on the way out, so the builder can write to it again."""
    outer = _reading.path
    _reading.path = Path(path).resolve()
    try:
        yield
    finally:
        identity_path = str(_reading.path)
        _reading.path = outer
        with _lock:
            for key in [k for k in _connections if k.path == identity_path]:
                _connections.pop(key).close()
        # the build's results are never asked for again (the file is renamed when swapped in)
        for cache in [*_caches, *_snapshot_caches]:
            cache.drop_path(identity_path)
        with _store_lock:
            for key in [k for k in _stores if k.path == identity_path]:
                del _stores[key]


@functools.lru_cache(maxsize=64)
def _resolved(configured: str) -> Path:
    # resolve() walks the file system; every cached query asks for the path
    return Path(configured).expanduser().resolve()


def is_default_db(path: Path | None = None) -> bool:
    return (path or db_path()) == DEFAULT_DB


@dataclass(frozen=True)
class FileIdentity:
    """Identifies one snapshot: a swapped-in file has a new inode and mtime."""

    path: str
    inode: int
    mtime_ns: int
    size: int


def file_identity(path: Path | None = None) -> FileIdentity:
    path = path or db_path()
    stat = path.stat()
    return FileIdentity(str(path), stat.st_ino, stat.st_mtime_ns, stat.st_size)


class DatabaseProblem(RuntimeError):
    """A problem with the configured database that a user must be told about in Chinese."""


def check_database(path: Path | None = None) -> str | None:
    """None when the file is usable, else a Chinese explanation of what is wrong."""
    path = path or db_path()
    if not path.exists():
        return f"找不到数据库文件：{path}。请检查环境变量 {ENV_VAR} 指向的路径，或不设置它以使用内置演示数据。"
    if path.is_dir():
        return f"数据库路径 {path} 是一个目录，不是 DuckDB 数据库文件。"
    try:
        cursor = _cursor(file_identity(path))
        try:
            version = cursor.execute(
                "select value from meta where key = 'schema_version'"
            ).fetchone()
        finally:
            cursor.close()
    except (duckdb.Error, OSError) as exc:
        return f"无法读取数据库文件 {path}：它不是可读的 DuckDB 文件，或正被其他程序独占写入（{type(exc).__name__}）。"
    if version is None:
        return f"数据库文件 {path} 缺少版本信息（meta.schema_version），不是本看板的数据库。"
    found = int(version[0])
    if found != SCHEMA_VERSION:
        return (
            f"数据库文件 {path} 的结构版本为 {found}，本程序需要版本 {SCHEMA_VERSION}。"
            "请运行 `python -m dashboard.store --migrate 数据库文件` 迁移，或重新生成演示数据。"
            if found < SCHEMA_VERSION
            else f"数据库文件 {path} 的结构版本 {found} 比程序新（{SCHEMA_VERSION}），请升级看板程序。"
        )
    return None


def derived_is_current(path: Path | None = None) -> bool:
    """True when the snapshot's derived tables were built by the current derived.sql."""
    from dashboard.store import derived_version

    cursor = _cursor(file_identity(path or db_path()))
    try:
        row = cursor.execute("select value from meta where key = 'derived_version'").fetchone()
    finally:
        cursor.close()
    return bool(row) and row[0] == derived_version()


_connections: dict[FileIdentity, duckdb.DuckDBPyConnection] = {}
_retired: list[duckdb.DuckDBPyConnection] = []
_lock = threading.Lock()
RETIRED_KEPT = 2
SNAPSHOT_ALIAS = "snapshot"


def _connection(identity: FileIdentity) -> duckdb.DuckDBPyConnection:
    """One connection per snapshot; callers take their own cursor from it (`_cursor`).

    DuckDB shares one database instance per path inside a process, so a plain
    `duckdb.connect(path)` made while a connection to the replaced file is still open would
    return the OLD data. An in-memory connection that ATTACHes the file read-only gets the
    file that is there now.
    """
    with _lock:
        con = _connections.get(identity)
        if con is None:
            for stale in [k for k in _connections if k.path == identity.path]:
                # Keep the replaced snapshot open a little longer: another thread may
                # still be reading from it.
                _retired.append(_connections.pop(stale))
            while len(_retired) > RETIRED_KEPT:
                _retired.pop(0).close()
            con = duckdb.connect()
            con.execute(
                f"attach '{_sql_literal(identity.path)}' as {SNAPSHOT_ALIAS} (read_only)"
            )  # sql: identifiers from allow-list
            _connections[identity] = con
        return con


def _sql_literal(path: str) -> str:
    # ATTACH takes no parameters; the path is ours (env var or default), quotes doubled.
    return path.replace("'", "''")


def _cursor(identity: FileIdentity) -> duckdb.DuckDBPyConnection:
    cursor = _connection(identity).cursor()
    cursor.execute(f"use {SNAPSHOT_ALIAS}")  # sql: identifiers from allow-list
    return cursor


def close_all() -> None:
    with _lock:
        for con in [*_connections.values(), *_retired]:
            con.close()
        _connections.clear()
        _retired.clear()


_sql_cache: dict[str, str] = {}


def sql_text(name: str) -> str:
    if not _QUERY_NAME.match(name):
        raise ValueError(f"bad query name: {name!r}")
    text = _sql_cache.get(name)
    if text is None:
        text = (QUERIES_DIR / f"{name}.sql").read_text(encoding="utf-8")
        _sql_cache[name] = text
    return text


def run_query(identity: FileIdentity, name: str, params: dict) -> pd.DataFrame:
    """Uncached: run one named query against one snapshot."""
    return _executed(identity, name, params, lambda result: result.df())


def _executed(
    identity: FileIdentity,
    name: str,
    params: dict,
    fetch: Callable[[duckdb.DuckDBPyConnection], _T],
) -> _T:
    """Run queries/<name>.sql against one snapshot on a cursor of its own, hand the result
    to `fetch` (a DataFrame, rows, arrays) and close the cursor."""
    cursor = _cursor(identity)
    values = {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()}
    try:
        return fetch(cursor.execute(sql_text(name), values))
    finally:
        cursor.close()


def takes_days(name: str) -> bool:
    """True when queries/<name>.sql is written over a list of days ($days → as_of)."""
    return _DAYS_PARAM.search(sql_text(name)) is not None


class _Batch(threading.local):
    days: frozenset[dt.date] = frozenset()
    memo: dict | None = None  # per-day slices and batch_memo results, for the block


_batch = _Batch()


@contextlib.contextmanager
def as_of_batch(days: Iterable[dt.date]) -> Iterator[None]:
    """Inside this block a day-list query asked for one of `days` runs for all of them.

    Nested batches add their days to the outer one's and share its memo. The per-day
    slices live only for the block (the whole result is in the query cache like any other)."""
    outer_days, outer_memo = _batch.days, _batch.memo
    _batch.days = outer_days | frozenset(_plain_date(d) for d in days)
    _batch.memo = {} if outer_memo is None else outer_memo
    try:
        yield
    finally:
        _batch.days, _batch.memo = outer_days, outer_memo


def batch_memo(func: Callable) -> Callable:
    """Inside an `as_of_batch`, memoise func(*args, **kwargs) for the batch's duration.

    For engines that ask the same metric frame many times in one evaluation (the flag
    rules at nine dates). Results are shared: callers must not mutate them. Outside a
    batch the function just runs. The access check ran on the first (real) call, in the
    same session and thread."""

    @functools.wraps(func)
    def wrapper(*args: object, **kwargs: object) -> object:
        memo = _batch.memo
        if memo is None or _admitted.scope_id is not None:
            # inside peer_rank nothing is memoised: the result must not outlive the call
            return func(*args, **kwargs)
        key = (func.__module__, func.__qualname__, args, tuple(sorted(kwargs.items())))
        try:
            return memo[key]
        except KeyError:
            value = memo[key] = func(*args, **kwargs)
            return value

    return wrapper


def _plain_date(value: object) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value  # type: ignore[return-value]


def _one_day(identity: FileIdentity, name: str, params: dict) -> pd.DataFrame:
    day = params.pop("as_of")
    days = tuple(sorted(_batch.days)) if day in _batch.days else (day,)
    key = (identity, name, tuple(sorted({**params, "days": days}.items())))
    if len(days) == 1:
        frame = _cached(*key)
        return frame.drop(columns="as_of")
    memo = _batch.memo
    per_day = memo.get(key) if memo is not None else None
    if per_day is None:
        frame = _cached(*key)
        stamps = pd.to_datetime(frame["as_of"]).dt.date
        parts = dict(iter(frame.drop(columns="as_of").groupby(stamps.to_numpy(), sort=False)))
        empty = frame.drop(columns="as_of").iloc[0:0]
        per_day = {d: parts[d].reset_index(drop=True) if d in parts else empty for d in days}
        if memo is not None:
            memo[key] = per_day
    return per_day[day]


class ResultCache:
    """Results kept in this process, least recently used dropped first — st.cache_data's
    job without its pickling (which pickles a frame into the cache and unpickles a copy
    on every hit: ~100 ms for a page's 30–40 lookups).

    A hit is a dict lookup; a DataFrame comes back as a shallow copy (pandas copy-on-write:
    the caller may add or change columns without touching the cached frame), anything else
    as it is (immutable: tuples, frozen dataclasses). Concurrent misses on one key compute
    once; other keys compute in parallel. Keys include the snapshot's FileIdentity, so a
    swapped-in snapshot is never answered from the old one's results."""

    def __init__(self, compute: Callable[..., object], max_entries: int) -> None:
        self.compute = compute
        self.max_entries = max_entries
        self._results: collections.OrderedDict[tuple, object] = collections.OrderedDict()
        self._pending: dict[tuple, threading.Lock] = {}
        self._lock = threading.Lock()
        functools.update_wrapper(self, compute)  # type: ignore[arg-type]

    def __call__(self, *key: object) -> object:
        with self._lock:
            if key in self._results:
                self._results.move_to_end(key)
                return _handed_out(self._results[key])
            pending = self._pending.setdefault(key, threading.Lock())
        with pending:
            with self._lock:
                found = key in self._results
                value = self._results.get(key)
            if not found:
                value = self.compute(*key)
                with self._lock:
                    self._results[key] = value
                    while len(self._results) > self.max_entries:
                        self._results.popitem(last=False)
        with self._lock:
            self._pending.pop(key, None)
        return _handed_out(value)

    def put(self, key: tuple, value: object) -> None:
        """Keep `value` as the result for `key` (computed together with others, elsewhere)."""
        with self._lock:
            self._results[key] = value
            self._results.move_to_end(key)
            while len(self._results) > self.max_entries:
                self._results.popitem(last=False)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._results

    def clear(self) -> None:
        with self._lock:
            self._results.clear()

    def drop_path(self, path: str) -> None:
        """Forget every result of the snapshot file at `path` (keys led by its identity)."""
        with self._lock:
            for key in [k for k in self._results if _path_of(k) == path]:
                del self._results[key]

    def drop_older(self, current: FileIdentity) -> None:
        """Forget every result of an earlier snapshot at `current`'s path (keys led by an
        identity of that path other than `current`)."""
        with self._lock:
            for key in [k for k in self._results if _older(k, current)]:
                del self._results[key]

    def __len__(self) -> int:
        return len(self._results)


def _older(key: tuple, current: FileIdentity) -> bool:
    return (
        bool(key)
        and isinstance(key[0], FileIdentity)
        and key[0].path == current.path
        and (key[0] != current)
    )


def _path_of(key: tuple) -> str | None:
    return key[0].path if key and isinstance(key[0], FileIdentity) else None


def _handed_out(value: object) -> object:
    return value.copy(deep=False) if isinstance(value, pd.DataFrame) else value


_caches: list[ResultCache] = []  # page results: emptied by clear_results and clear_memos
_snapshot_caches: list[ResultCache] = []  # snapshot state: emptied by clear_memos only


def result_cache(max_entries: int) -> Callable[[Callable], ResultCache]:
    """Decorator: cache a function of hashable arguments (the first one the snapshot's
    FileIdentity) in a ResultCache, emptied by clear_results / clear_memos with the rest."""

    def wrap(func: Callable) -> ResultCache:
        cache = ResultCache(func, max_entries)
        _caches.append(cache)
        return cache

    return wrap


def snapshot_cache(max_entries: int) -> Callable[[Callable], ResultCache]:
    """Decorator: as result_cache, for the snapshot's own state — what every page reads
    whatever its scope (the unit list, the tests, the campaigns, meta, the served rows'
    index): read once per snapshot and process when it is opened, and kept when the page
    results are dropped (clear_results); emptied by clear_memos."""

    def wrap(func: Callable) -> ResultCache:
        cache = ResultCache(func, max_entries)
        _snapshot_caches.append(cache)
        return cache

    return wrap


@result_cache(max_entries=4000)
def _cached(identity: FileIdentity, name: str, params: tuple) -> pd.DataFrame:
    """A query's result per (snapshot, query, params)."""
    return _answer(identity, name, dict(params))


def is_whole_table(name: str) -> bool:
    """True for a query without parameters (queries/<name>.sql has no $param): a small
    table every page reads whatever its scope — the unit list, the tests, the campaigns,
    meta — which is snapshot state (`_whole`), not a page result."""
    return _PARAM.search(sql_text(name)) is None


_PARAM = re.compile(r"\$[A-Za-z_]")


@snapshot_cache(max_entries=256)
def _whole(identity: FileIdentity, name: str) -> pd.DataFrame:
    """A parameterless query's result, once per snapshot and process (is_whole_table)."""
    return run_query(identity, name, {})


# ── served numbers (dashboard/served.py) ───────────────────────────────────────────────

_stores: dict[FileIdentity, served.Store] = {}
_store_lock = threading.Lock()
_days_started: set[tuple[FileIdentity, dt.date]] = set()


def _answer(identity: FileIdentity, name: str, params: dict) -> pd.DataFrame:
    """A query's result: from the snapshot's served rows when they hold it, else run."""
    if name in served.SERVED:
        frame = served_store(identity).lookup(name, params)
        if frame is not None:
            return frame
    return run_query(identity, name, params)


def served_store(identity: FileIdentity) -> served.Store:
    """The served rows of a snapshot, read from its served_ tables on first use; when the
    default date has moved past the day they were computed for (real data, a new day),
    that day's rows are computed once, in the background, and added when ready."""
    with _store_lock:
        store = _stores.get(identity)
        if store is None:
            for stale in [k for k in _stores if k.path == identity.path]:
                del _stores[stale]
            store = _stores[identity] = _load_store(identity)
            opened = True
        else:
            opened = False
    if opened and _reading.path is None:
        forget_older_snapshots(identity)
    if _reading.path is None:
        _serve_today(identity, store)
    return store


def forget_older_snapshots(identity: FileIdentity) -> None:
    """When `identity` is the snapshot now at its path (an import swapped it in), forget
    what this process holds of the earlier ones there — their page results and snapshot
    state (a province's is a few hundred MB: without this a process serving for months
    of weekly imports would keep every one). A page still running on an earlier snapshot
    (asking with its identity, not the file's) forgets nothing; what it computes after
    this is dropped at the next swap."""
    try:
        if file_identity(Path(identity.path)) != identity:
            return
    except OSError:  # the file is gone (a test's temporary city): nothing to tell apart
        return
    for cache in [*_caches, *_snapshot_caches]:
        cache.drop_older(identity)


def served_at(name: str, as_of: dt.date) -> bool:
    """True when query(name, …, as_of=as_of) of a query served by day (served.Store's
    (name, day) slots: unit_open_problems, materials_lines, unit_owned_items) is a lookup
    of the served rows: every day it reads (the as-of batch's, for a query over days) has
    its slot. For a page deciding whether starting it on a worker helps (query_soon)."""
    if name not in served.SERVED:
        return False
    as_of = _plain_date(as_of)
    days = sorted(_batch.days) if takes_days(name) and as_of in _batch.days else [as_of]
    slots = served_store(file_identity()).slots
    return all((name, d) in slots for d in days)


def _load_store(identity: FileIdentity) -> served.Store:
    """The served rows' index (served_slots); each slot is read when first asked for. A
    snapshot without one (an older release's, until refreshed) serves nothing."""

    def read(sql: str, params: dict) -> pd.DataFrame:
        cursor = _cursor(identity)
        try:
            return cursor.execute(sql, params).df()
        finally:
            cursor.close()

    try:
        slots = run_query(identity, "served_slots", {})
    except duckdb.CatalogException:
        slots = None
    return served.load(read, _whole(identity, "all_units"), slots)


def served_unit_scores(unit_id: int, assessment_ids: list[int]) -> list[float] | None:
    """served.Store.unit_scores_of for the snapshot being read, with query's access check;
    None when the served rows do not hold every test (the caller asks query)."""
    identity = file_identity()
    _guard(identity, {"unit_id": unit_id})
    return served_store(identity).unit_scores_of(int(unit_id), [int(a) for a in assessment_ids])


def _serve_today(identity: FileIdentity, store: served.Store) -> None:
    from dashboard import filters

    try:
        today = filters.default_as_of()
    except Exception:  # noqa: BLE001 - an unreadable meta table: nothing to add
        return
    if store.covers(today):
        return
    key = (identity, today)
    with _store_lock:
        if key in _days_started:
            return
        _days_started.add(key)

    def work() -> None:
        try:
            frames = served.compute(lambda n, p: run_query(identity, n, p), today)
        except Exception:  # noqa: BLE001 - the queries keep running live instead
            logging.getLogger(__name__).exception("served numbers for %s not computed", today)
            return
        store.add(frames)

    threading.Thread(target=work, name=f"served-{today}", daemon=True).start()


SCOPED_PARAMS = ("scope_id", "unit_id", "dept_id")
ACCESS_STATE_KEY = "_cw_access"


class AccessDenied(PermissionError):
    """A query asked for units outside what the signed-in user may see."""


class _Lent(threading.local):
    access: Access | None = None  # the access of the thread a query_many worker serves


_lent = _Lent()


def current_access() -> Access:
    """The access of the Streamlit session running this code (open outside a session; in
    a query_many worker, that of the thread it works for)."""
    if _lent.access is not None:
        return _lent.access
    try:
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        if get_script_run_ctx(suppress_warning=True) is None:
            return OPEN_ACCESS
        return st.session_state.get(ACCESS_STATE_KEY, OPEN_ACCESS)
    except Exception:  # noqa: BLE001 - no session means no user to restrict
        return OPEN_ACCESS


def allowed_unit_ids(access: Access, identity: FileIdentity | None = None) -> frozenset[int] | None:
    """Every unit id the access may see (None = all)."""
    if access.root_ids is None:
        return None
    identity = identity or file_identity()
    allowed: set[int] = set()
    for root in access.root_ids:
        frame = _cached(identity, "units_in_scope", (("scope_id", root),))
        allowed.update(int(u) for u in frame["unit_id"])
    return frozenset(allowed)


class _Admitted(threading.local):
    scope_id: int | None = None  # the parent scope `peer_rank` admits for one computation


_admitted = _Admitted()


def _guard(identity: FileIdentity, params: dict) -> None:
    if _reading.path is not None:
        return  # the write path, computing a snapshot's precomputed tables
    access = current_access()
    if access.root_ids is None:
        return
    allowed = allowed_unit_ids(access, identity)
    for key in SCOPED_PARAMS:
        value = params.get(key)
        if value is None or int(value) in allowed:
            continue
        if (
            key == "scope_id"
            and _admitted.scope_id is not None
            and int(value) == _admitted.scope_id
        ):
            continue  # inside peer_rank: only the unit's own row leaves (see there)
        raise AccessDenied(f"无权查看单位 {value} 的数据")


@contextlib.contextmanager
def admitted(scope_id: int) -> Iterator[None]:
    """Admit `scope_id` for what this thread computes inside the block (as `peer_rank`
    does): for snapshot state computed for every unit at once (rankings of every peer
    group), of which a caller hands out only what the user may see."""
    outer = _admitted.scope_id
    _admitted.scope_id = scope_id
    try:
        yield
    finally:
        _admitted.scope_id = outer


def root_id(identity: FileIdentity | None = None) -> int | None:
    """The top of the unit tree (None unless there is exactly one)."""
    units = _whole(identity or file_identity(), "all_units")
    roots = units["unit_id"].to_numpy()[units["parent_id"].isna().to_numpy()]
    return int(roots[0]) if len(roots) == 1 else None


def may_see(unit_id: int) -> bool:
    """True when the signed-in user may see the unit's data (always, with access control off)."""
    allowed = allowed_unit_ids(current_access())
    return allowed is None or int(unit_id) in allowed


@dataclass(frozen=True)
class PeerRank:
    """A unit's place among its peers (same kind, same parent): all a user allowed the unit
    but not its parent learns of the peers' ranking — never their rows or names."""

    row: dict  # the unit's own row of the ranking ({} when the ranking does not list it)
    ranked: int  # peers with a rank, the unit included
    listed: int  # peers in the ranking, the unit included

    @property
    def rank(self) -> int | None:
        value = self.row.get("rank")
        return None if value is None or pd.isna(value) else int(value)


def peer_rank(unit_id: int, ranking: Callable[[int, str], pd.DataFrame]) -> PeerRank:
    """The unit's own row of `ranking(parent_id, kind)` — a ranking of the units of its kind
    under its parent, with `unit_id` and `rank` columns — and how many peers are ranked.

    The one narrow way a unit head sees their rank (README, 访问控制): the user must be
    allowed the unit itself; when they are not allowed its parent, the parent's scope is
    admitted for this computation only (this thread, no batch memo), and nothing but the
    unit's own row and the two counts leaves this function."""
    require_scope(unit_id)
    units = _whole(file_identity(), "all_units")
    # by position, not a boolean-filtered frame and a row Series (a page asks six times)
    match = np.flatnonzero(units["unit_id"].to_numpy() == unit_id)
    if not len(match) or pd.isna(units["parent_id"].array[match[0]]):
        return PeerRank({}, 0, 0)
    parent_id = int(units["parent_id"].array[match[0]])
    kind = str(units["kind"].array[match[0]])
    outer = _admitted.scope_id
    if not may_see(parent_id):
        _admitted.scope_id = parent_id
    try:
        frame = ranking(parent_id, kind)
    finally:
        _admitted.scope_id = outer
    ids = frame["unit_id"].to_numpy()
    mine = np.flatnonzero(ids == unit_id)
    # the row across the frame's blocks at once (a Series per column costs ~15 µs each)
    cells = frame.iloc[mine[0]].to_numpy() if len(mine) else ()
    row = {c: _scalar(v) for c, v in zip(frame.columns, cells, strict=True)} if len(mine) else {}
    # the own row only: a text field naming a peer (say, "the one above") is dropped
    peers = [str(n) for n in frame["name"].to_numpy()[ids != unit_id] if str(n)]
    row = {k: v for k, v in row.items() if not (isinstance(v, str) and any(n in v for n in peers))}
    return PeerRank(row, int(frame["rank"].notna().sum()), len(frame))


def _scalar(value: object) -> object:
    """A cell as DataFrame.iloc[i].to_dict() gives it: numpy numbers as Python numbers,
    a missing nullable value (<NA>) as None."""
    if value is pd.NA:
        return None
    return value.item() if isinstance(value, np.generic) else value


def require_scope(scope_id: int) -> None:
    """Refuse (AccessDenied) a scope the signed-in user may not see. Engines that keep a
    cache of their own above `query` call this first, so their cache is guarded too."""
    _guard(file_identity(), {"scope_id": scope_id})


def query(name: str, **params: object) -> pd.DataFrame:
    """Run queries/<name>.sql with named parameters; cached per snapshot. Do not mutate."""
    for key, value in params.items():
        if isinstance(value, dt.datetime):
            params[key] = value.date()
    identity = file_identity()
    _guard(identity, params)
    if "as_of" in params and takes_days(name):
        return _one_day(identity, name, params)
    if not params and is_whole_table(name):
        return _whole(identity, name)
    return _cached(identity, name, tuple(sorted(params.items())))


def query_rows(name: str, **params: object) -> tuple[list[str], list[tuple]]:
    """Run queries/<name>.sql and return (column names, rows as Python tuples): for a
    caller that turns each row into an object of its own and caches that (no DataFrame
    is built; not cached here). The same access check as `query`."""
    identity = file_identity()
    _guard(identity, params)
    return _executed(
        identity,
        name,
        params,
        lambda result: ([c[0] for c in result.description], result.fetchall()),
    )


def query_arrays(name: str, **params: object) -> dict[str, np.ndarray]:
    """Run queries/<name>.sql and return its columns as numpy arrays (a column with NULLs
    as a masked array): for snapshot state read once for every unit (a million rows at
    province scale), which as a DataFrame would cost several times the time and, kept in
    the page results' cache, the memory twice. Not cached here; the same access check as
    `query`."""
    identity = file_identity()
    _guard(identity, params)
    return _executed(identity, name, params, lambda result: dict(result.fetchnumpy()))


QUERY_WORKERS = 3  # DuckDB runs a query without the GIL: two cores, a third to queue
_pool: concurrent.futures.ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def query_many(requests: Sequence[tuple[str, dict]]) -> list[pd.DataFrame]:
    """query(name, **params) for each request, in order, several at once on worker
    threads: a page that must run a dozen independent queries (a replayed date, nothing
    stored) waits for the slowest few instead of their sum. Each worker asks as this
    thread would — the same user's access, the same snapshot (the build's, on the write
    path), the same batch days and admitted scope — so the access check and the caches
    are those of `query`; an error is raised here as query would raise it."""
    if len(requests) <= 1:
        return [query(name, **params) for name, params in requests]
    return [future.result() for future in query_soon(requests)]


def query_soon(
    requests: Sequence[tuple[str, dict]],
) -> list[concurrent.futures.Future[pd.DataFrame]]:
    """query_many without waiting: the queries start on the worker threads and this
    thread goes on (its Python runs while DuckDB, which does not hold the GIL, works).
    A later `query` of the same request waits for that run instead of starting its own
    (ResultCache computes a key once), so a page starts its independent queries first
    and asks for each where it needs it; an error comes back to that `query`. One
    future per request, in order: a caller may also use each result as it comes while
    the others still run (the red-flag rules are worded one after another as their
    queries finish)."""
    access, reading, admitted, days = (
        current_access(),
        _reading.path,
        _admitted.scope_id,
        _batch.days,
    )

    def one(name: str, params: dict) -> pd.DataFrame:
        _lent.access, _reading.path, _admitted.scope_id, _batch.days = (
            access, reading, admitted, days,
        )  # fmt: skip
        try:
            return query(name, **params)
        finally:
            _lent.access, _reading.path, _admitted.scope_id = None, None, None
            _batch.days = frozenset()

    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = concurrent.futures.ThreadPoolExecutor(QUERY_WORKERS, "cw-query")
        pool = _pool
    return [pool.submit(one, name, dict(params)) for name, params in requests]


_memos: list[dict] = []


def register_memo(memo: dict) -> dict:
    """Record a module-level memo (keyed by snapshot) so `clear_memos` empties it too."""
    _memos.append(memo)
    return memo


def clear_results() -> None:
    """Forget every page result (queries, rankings, evaluations), keeping what was read
    when the snapshot was opened (snapshot_cache, per_snapshot, the served rows): the
    state a page finds when it is the first to ask for its scope (the benchmark's cold
    page)."""
    for cache in _caches:
        cache.clear()
    for memo in _memos:
        memo.clear()


def clear_memos() -> None:
    """Forget everything this process holds of any snapshot, as if it had just started
    (the benchmark's first page after a snapshot is swapped in; tests)."""
    clear_results()
    for cache in _snapshot_caches:
        cache.clear()
    with _store_lock:
        _stores.clear()


def per_snapshot(func: Callable) -> Callable:
    """Memoise a function of a few hashable arguments per snapshot file.

    For small, immutable results derived from whole small tables (campaigns, the
    assessment list): a `query` cache hit hands back a fresh copy of its DataFrame, so
    work done on it would be redone on every call. Not for scoped data: no access check.
    Snapshot state (snapshot_cache): kept by clear_results, so eight pages starting
    together compute it once and later pages find it."""
    cache = snapshot_cache(max_entries=4096)(lambda _identity, args: func(*args))

    @functools.wraps(func)
    def wrapper(*args: object) -> object:
        return cache(file_identity(), args)

    return wrapper


def meta() -> dict[str, str]:
    """The snapshot's meta table as a dict (the caller's own copy). Read on every page
    (filters.default_as_of, from each served-rows lookup): the pairs are built once per
    snapshot, not from the table's frame each time."""
    return dict(_meta_pairs())


@per_snapshot
def _meta_pairs() -> tuple[tuple[str, str], ...]:
    frame = query("meta")
    return tuple(zip(frame["key"], frame["value"], strict=True))
