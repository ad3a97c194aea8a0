"""The one write path: build a new DuckDB snapshot, fill it in one transaction, swap it in.

The demo generator and the importer both write through `write_snapshot`. A snapshot is
built in a temporary file next to the target, checked, and moved over the target with
os.replace (atomic on one filesystem). Viewers keep reading the old file until they notice
the new one; a crash mid-build leaves the old file untouched.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd

SCHEMA_VERSION = 2
PACKAGE_DIR = Path(__file__).resolve().parent
SCHEMA_FILE = PACKAGE_DIR / "schema.sql"
DERIVED_FILE = PACKAGE_DIR / "derived.sql"
BACKUPS_KEPT = 3

# Migrations from version N to N+1, each a list of SQL statements; a database of an
# older version is migrated on import instead of rebuilt.
#   1 → 2: problems_withdrawn (problems a ledger marked 作废), see schema.sql.
MIGRATIONS: dict[int, list[str]] = {
    1: [
        "create table problems_withdrawn (problem_id varchar primary key, found_on date not null,"
        " source varchar not null, point_id integer, unit_id integer not null, dept_id integer,"
        " indicator_id integer, category varchar, description varchar,"
        " severity varchar not null, is_dynamic boolean not null default false,"
        " deadline date not null, status varchar not null, rectified_on date, closed_on date,"
        " rebound_of varchar)"
    ],
}


RULE_QUERIES = sorted((PACKAGE_DIR.parent / "queries").glob("flag_rule_*.sql"))
# what else is precomputed into a snapshot: the served numbers (dashboard/served.py: its
# day list and the queries it stores), the display names (unit_match.py) and the 测算
# backtest (simulator.py and its queries) — a change to any of them refreshes a snapshot on
# start, like a change to derived.sql
PRECOMPUTED_SOURCES = [
    PACKAGE_DIR / "served.py",
    PACKAGE_DIR / "unit_match.py",
    PACKAGE_DIR / "simulator.py",
    *(
        PACKAGE_DIR.parent / "queries" / f"{name}.sql"
        for name in (
            "rectification_counts", "coverage_counts", "materials_counts", "point_counts",
            "unit_scores", "weekly_problem_counts", "weekly_problem_events",
            "materials_lines", "unit_open_problems", "unit_owned_items", "indicator_lead_units",
        )
    ),
    *sorted((PACKAGE_DIR.parent / "queries").glob("sim_*.sql")),
]  # fmt: skip


def derived_version() -> str:
    """Identifies the derived-table definitions and the red-flag rule queries behind the
    precomputed flags: a snapshot built with others (an older release) gets its derived
    tables rebuilt on start, from its own base tables."""
    digest = hashlib.sha256(DERIVED_FILE.read_bytes())
    for path in [*RULE_QUERIES, *PRECOMPUTED_SOURCES]:
        digest.update(path.name.encode("utf-8") + path.read_bytes())
    return digest.hexdigest()[:16]


class SchemaVersionError(RuntimeError):
    """The database file has a schema version this code cannot read."""


def split_sql(text: str) -> list[str]:
    """Split a SQL file into statements (our files never put ';' inside strings)."""
    # Drop comment lines first: comments may contain ';'.
    code = "\n".join(ln for ln in text.splitlines() if not ln.strip().startswith("--"))
    return [stmt.strip() for stmt in code.split(";") if stmt.strip()]


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    for stmt in split_sql(SCHEMA_FILE.read_text(encoding="utf-8")):
        con.execute(stmt)


# What DuckDB may hold while it rebuilds a derived table (it spills the rest to a directory
# next to the temporary file, `<tmp>.tmp`): without a limit it takes what it finds (about
# 1 GB at province scale, scale 16). A statement that needs more than this runs again
# without the limit: a larger snapshot costs memory, never its import.
REBUILD_MEMORY_LIMIT = "set memory_limit = '500MB'"


def rebuild_derived(con: duckdb.DuckDBPyConnection) -> None:
    """Recompute every derived table from the base tables (see derived.sql), each
    statement in a transaction of its own (a table not yet committed is held in memory)
    and within REBUILD_MEMORY_LIMIT. Only on a snapshot being built (write_snapshot):
    if a statement fails the temporary file is dropped, whatever was committed in it."""
    for stmt in split_sql(DERIVED_FILE.read_text(encoding="utf-8")):
        con.execute(REBUILD_MEMORY_LIMIT)
        try:
            _in_transaction(con, lambda stmt=stmt: _run_derived(con, stmt))
        except duckdb.OutOfMemoryException:
            con.execute("reset memory_limit")
            _in_transaction(con, lambda stmt=stmt: _run_derived(con, stmt))
        finally:
            con.execute("reset memory_limit")


def _run_derived(con: duckdb.DuckDBPyConnection, stmt: str) -> None:
    con.execute(stmt)


def _in_transaction(con: duckdb.DuckDBPyConnection, work: Callable[[], None]) -> None:
    con.execute("begin transaction")
    try:
        work()
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def read_schema_version(con: duckdb.DuckDBPyConnection) -> int | None:
    try:
        row = con.execute("select value from meta where key = 'schema_version'").fetchone()
    except duckdb.Error:
        return None
    return int(row[0]) if row else None


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Bring an open read-write database up to SCHEMA_VERSION; return the version found."""
    found = read_schema_version(con)
    if found is None:
        raise SchemaVersionError("数据库缺少 meta.schema_version，不是本看板的数据库文件")
    if found > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"数据库版本 {found} 高于程序支持的版本 {SCHEMA_VERSION}，请升级看板程序"
        )
    version = found
    while version < SCHEMA_VERSION:
        steps = MIGRATIONS.get(version)
        if steps is None:
            raise SchemaVersionError(
                f"数据库版本 {version} 没有到 {version + 1} 的迁移脚本，请重新生成或导入数据"
            )
        for stmt in steps:
            con.execute(stmt)
        version += 1
        con.execute("update meta set value = $v where key = 'schema_version'", {"v": str(version)})
    return found


def set_meta(con: duckdb.DuckDBPyConnection, values: dict[str, str]) -> None:
    for key, value in values.items():
        con.execute(
            "insert or replace into meta (key, value) values ($k, $v)", {"k": key, "v": value}
        )


def write_snapshot(
    target: Path | str,
    fill: Callable[[duckdb.DuckDBPyConnection], None],
    *,
    base: Path | str | None = None,
    meta: dict[str, str] | None = None,
) -> Path:
    """Build a new snapshot and atomically replace `target` with it.

    base: an existing database to start from (copied first, migrated, then `fill`
          changes it); None starts from an empty schema.
    fill: writes the data; runs inside one transaction, so an exception leaves nothing.
    The previous target (if any) is kept in data/backups/ (last BACKUPS_KEPT).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    sweep_abandoned(target)
    token = uuid.uuid4().hex
    tmp = target.with_name(f".{target.name}.{token}.tmp")
    claim_path = target.with_name(f".{target.name}.{token}.claim")
    claim = open(claim_path, "w")  # noqa: SIM115 - held until the build ends, then closed
    fcntl.flock(claim, fcntl.LOCK_EX)  # tells sweep_abandoned this build is alive
    try:
        if base is not None:
            shutil.copyfile(base, tmp)
        con = duckdb.connect(str(tmp))
        try:
            if base is None:
                create_schema(con)
                set_meta(con, {"schema_version": str(SCHEMA_VERSION)})
            else:
                migrate(con)
            _in_transaction(con, lambda: fill(con))
            values = {
                "generated_at": dt.datetime.now().isoformat(timespec="seconds"),
                "derived_version": derived_version(),
                **(meta or {}),
            }
            rebuild_derived(con)
            _in_transaction(con, lambda: set_meta(con, values))
            con.execute("checkpoint")
        finally:
            con.close()
        precompute_served(tmp)
        precompute_flags(tmp)
        from dashboard import simulator

        simulator.precompute_backtests(tmp)  # the 测算 backtest (derived table sim_backtest)
        _keep_backup(target)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
        tmp.with_name(tmp.name + ".wal").unlink(missing_ok=True)
        claim_path.unlink(missing_ok=True)  # before the lock goes, so no sweep sees it free
        claim.close()
    return target


def precompute_served(path: Path) -> None:
    """Fill the served_ tables (dashboard/served.py) of a snapshot being built — the
    per-unit count queries for every unit at the days pages read at its default date — and
    unit_display_names (metrics.display_names). An error here refuses the snapshot.

    One query at a time (served.compute_each): its rows are computed reading the file,
    written, and let go before the next, so the build holds one query's rows at once."""
    from dashboard import db, filters, metrics, served

    def run(name: str, params: dict) -> pd.DataFrame:
        return db.run_query(db.file_identity(), name, params)

    with db.reading_snapshot(path):
        as_of = filters.default_as_of()
        names = metrics.compute_display_names(run("all_units", {}))
    steps = served.compute_each(run, as_of)
    keys: dict[str, pd.DataFrame] = {}  # each query's (day, campaign, test) keys: the slots
    while True:
        with db.reading_snapshot(path):  # the file is read between writes, never during
            step = next(steps, None)
        if step is None:
            break
        name, frame = step
        keys[name] = served.slot_keys(name, frame)
        table = served.table_name(name)  # from served.SERVED (an allow-list), never input
        sql = f"create or replace table {table} as select * from frame_rows"  # noqa: S608 - sql: identifiers from allow-list
        _write_frame(path, frame, sql)
        del frame, step
        _let_go()
    shown = pd.DataFrame({"unit_id": list(names), "display_name": list(names.values())})
    _write_frames(
        path,
        [
            (
                served.slot_rows(keys),
                "create or replace table served_slots as select * from frame_rows",
            ),
            (
                shown,
                "create or replace table unit_display_names as"
                " select unit_id::integer as unit_id, display_name::varchar as display_name"
                " from frame_rows order by unit_id",
            ),
        ],
    )


def _write_frame(path: Path, frame: pd.DataFrame, sql: str) -> None:
    _write_frames(path, [(frame, sql)])


def _write_frames(path: Path, writes: list[tuple[pd.DataFrame, str]]) -> None:
    """Run each `sql` (which reads the frame as `frame_rows`) on the snapshot being built, in one
    transaction, and checkpoint (the file is read again next, without its WAL)."""
    con = duckdb.connect(str(path))
    try:
        con.execute("begin transaction")
        for frame, sql in writes:
            con.register("frame_rows", frame)
            con.execute(sql)
            con.unregister("frame_rows")
        con.execute("commit")
        con.execute("checkpoint")
    finally:
        con.close()


def _let_go() -> None:
    """Hand memory the build no longer uses back to the system: pandas keeps text columns
    in Arrow buffers, and Arrow's allocator keeps freed pages for reuse (hundreds of MB
    after a large query) unless told to release them."""
    import pyarrow

    pyarrow.default_memory_pool().release_unused()


def precompute_flags(path: Path) -> None:
    """Fill flag_snapshot (derived.sql) of a snapshot being built: the flag engine reads
    the new file as it will be served, and its flags are written into it, a batch of
    scopes at a time (flags.snapshot_frames: each batch evaluated, written and let go
    before the next). An error here refuses the snapshot (write_snapshot never swaps it
    in; the batches written so far go with the temporary file)."""
    from dashboard import db, filters, flags

    with db.reading_snapshot(path):
        batches = flags.snapshot_frames(filters.default_as_of())
    while True:
        with db.reading_snapshot(path):  # the file is read between writes, never during
            frame = next(batches, None)
        if frame is None:
            break
        _write_frame(path, frame, "insert into flag_snapshot by name select * from frame_rows")
        del frame
        _let_go()


ABANDONED_AFTER_SECONDS = 3600  # for a temporary file without a claim (an older release's)
_BUILD_FILES = ("tmp", "tmp.wal", "tmp.tmp", "claim")  # tmp.tmp: DuckDB's spill directory


def sweep_abandoned(target: Path | str) -> list[Path]:
    """Remove the temporary snapshots of builds that are no longer running; return them.

    Each build holds an exclusive lock on its claim file (`.<db>.<token>.claim`) from
    before its temporary file exists until after it is gone; the OS drops the lock when
    the process ends, however it ends (kill -9 included). So a temporary file whose claim
    can be locked was left by a dead build and goes at once (a killed import's 300 MB file
    no longer waits an hour), while a live import in another process keeps its file. A
    temporary file without a claim (from a release before claims) goes after an hour.
    Runs before every snapshot is written and at app start.
    """
    target = Path(target)
    prefix = f".{target.name}."
    builds: dict[str, list[Path]] = {}
    for path in target.parent.glob(f"{prefix}*"):
        token, _, kind = path.name[len(prefix) :].partition(".")
        if kind in _BUILD_FILES:
            builds.setdefault(token, []).append(path)
    removed: list[Path] = []
    now = dt.datetime.now().timestamp()
    for token, paths in builds.items():
        claim = target.with_name(f"{prefix}{token}.claim")
        try:
            handle = os.open(claim, os.O_RDONLY)
        except FileNotFoundError:
            stale = [p for p in paths if _age(p, now) > ABANDONED_AFTER_SECONDS]
            removed += [p for p in stale if _unlink(p)]
            continue
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # its build is running
        else:
            removed += [p for p in sorted(paths, key=lambda p: p == claim) if _unlink(p)]
        finally:
            os.close(handle)
    return removed


def _age(path: Path, now: float) -> float:
    try:
        return now - path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


def _unlink(path: Path) -> bool:
    try:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    except FileNotFoundError:
        return False
    return True


def refresh_derived(target: Path | str) -> Path:
    """Rebuild the derived tables of an existing snapshot (same base data), swapped in
    atomically; the data's own generated_at is kept, since the data did not change."""
    con = duckdb.connect(str(target), read_only=True)
    try:
        row = con.execute("select value from meta where key = 'generated_at'").fetchone()
    finally:
        con.close()
    meta = {"generated_at": row[0]} if row else None
    return write_snapshot(target, lambda con: None, base=target, meta=meta)


def _keep_backup(target: Path) -> None:
    if not target.exists():
        return
    backups = target.parent / "backups"
    backups.mkdir(exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    shutil.copyfile(target, backups / f"{target.stem}-{stamp}{target.suffix}")
    old = sorted(backups.glob(f"{target.stem}-*{target.suffix}"))
    for stale in old[:-BACKUPS_KEPT]:
        stale.unlink()


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m dashboard.store", description="数据库快照工具")
    parser.add_argument("--refresh", type=Path, metavar="DB", help="按当前版本重建派生汇总表")
    parser.add_argument(
        "--migrate", type=Path, metavar="DB", help="把旧结构版本的数据库迁移到当前版本"
    )
    args = parser.parse_args(argv)
    if args.migrate:
        try:
            write_snapshot(args.migrate, lambda con: None, base=args.migrate)
        except SchemaVersionError as exc:
            print(f"迁移失败：{exc}")
            return 1
        print(f"已把 {args.migrate} 迁移到结构版本 {SCHEMA_VERSION}")
        return 0
    if args.refresh:
        refresh_derived(args.refresh)
        print(f"已重建 {args.refresh} 的派生汇总表（{derived_version()}）")
        return 0
    parser.print_help()
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
