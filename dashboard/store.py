"""The one write path: build a new DuckDB snapshot, fill it in one transaction, swap it in.

The demo generator and the importer both write through `write_snapshot`. A snapshot is
built in a temporary file next to the target, checked, and moved over the target with
os.replace (atomic on one filesystem). Viewers keep reading the old file until they notice
the new one; a crash mid-build leaves the old file untouched.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

import duckdb

SCHEMA_VERSION = 1
PACKAGE_DIR = Path(__file__).resolve().parent
SCHEMA_FILE = PACKAGE_DIR / "schema.sql"
DERIVED_FILE = PACKAGE_DIR / "derived.sql"
BACKUPS_KEPT = 3

# Migrations from version N to N+1, each a list of SQL statements. Empty while at v1;
# a database of an older version is migrated on import instead of rebuilt.
MIGRATIONS: dict[int, list[str]] = {}


RULE_QUERIES = sorted((PACKAGE_DIR.parent / "queries").glob("flag_rule_*.sql"))


def derived_version() -> str:
    """Identifies the derived-table definitions and the red-flag rule queries behind the
    precomputed flags: a snapshot built with others (an older release) gets its derived
    tables rebuilt on start, from its own base tables."""
    digest = hashlib.sha256(DERIVED_FILE.read_bytes())
    for path in RULE_QUERIES:
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


def rebuild_derived(con: duckdb.DuckDBPyConnection) -> None:
    """Recompute every derived table from the base tables (see derived.sql)."""
    for stmt in split_sql(DERIVED_FILE.read_text(encoding="utf-8")):
        con.execute(stmt)


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
    _sweep_abandoned(target)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
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
            con.execute("begin transaction")
            try:
                fill(con)
                rebuild_derived(con)
                set_meta(
                    con,
                    {
                        "generated_at": dt.datetime.now().isoformat(timespec="seconds"),
                        "derived_version": derived_version(),
                        **(meta or {}),
                    },
                )
                con.execute("commit")
            except BaseException:
                con.execute("rollback")
                raise
            con.execute("checkpoint")
        finally:
            con.close()
        precompute_flags(tmp)
        _keep_backup(target)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
        wal = tmp.with_name(tmp.name + ".wal")
        if wal.exists():
            wal.unlink()
    return target


def precompute_flags(path: Path) -> None:
    """Fill flag_snapshot (derived.sql) of a snapshot being built: the flag engine reads
    the new file as it will be served, and its flags are written into it. An error here
    refuses the snapshot (write_snapshot never swaps it in)."""
    from dashboard import db, filters, flags

    with db.reading_snapshot(path):
        frame = flags.snapshot_frame(filters.default_as_of())
    con = duckdb.connect(str(path))
    try:
        con.execute("begin transaction")
        con.register("flag_rows", frame)
        con.execute("insert into flag_snapshot by name select * from flag_rows")
        con.execute("commit")
        con.execute("checkpoint")
    finally:
        con.close()


ABANDONED_AFTER_SECONDS = 3600


def _sweep_abandoned(target: Path) -> None:
    """Remove temporary snapshots left by a killed build (older than an hour, so a build
    running in another process right now is never touched)."""
    now = dt.datetime.now().timestamp()
    for stale in target.parent.glob(f".{target.name}.*.tmp*"):
        try:
            if now - stale.stat().st_mtime > ABANDONED_AFTER_SECONDS:
                stale.unlink()
        except FileNotFoundError:
            pass


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
