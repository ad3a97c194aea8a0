"""First start: create the embedded demo database when it is missing, then check the file."""

from __future__ import annotations

import fcntl
from collections.abc import Callable
from pathlib import Path

from dashboard import db


def ensure_database(progress: Callable[[float, str], None] | None = None) -> str | None:
    """Create the demo database on first start; return a Chinese problem text or None.

    Only the embedded default file is ever generated: a configured path that does not exist
    is an error for the user to fix, never silently replaced by demo data. A lock file keeps
    two first visitors from generating at the same time.
    """
    path = db.db_path()
    if not path.exists() and db.is_default_db(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not path.exists():
                from dashboard import demo

                demo.generate(path, progress=progress)
    problem = db.check_database(path)
    if problem is None and not db.derived_is_current(path):
        problem = _refresh_derived(path, progress)
    return problem


def _refresh_derived(path: Path, progress: Callable[[float, str], None] | None) -> str | None:
    """A snapshot from an older release: rebuild its derived tables from its own data."""
    from dashboard import store

    if progress:
        progress(0.5, "数据库来自旧版本，正在重建汇总表…")
    try:
        with open(path.with_name(path.name + ".import.lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not db.derived_is_current(path):
                store.refresh_derived(path)
    except OSError as exc:
        return (
            f"数据库文件 {path} 的汇总表来自旧版本，需要重建，但无法写入该目录（{exc.strerror}）。"
            f"请有写权限的管理员运行：python -m dashboard.store --refresh {path}"
        )
    return None


def database_path() -> Path:
    return db.db_path()
