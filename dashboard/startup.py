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
    return db.check_database(path)


def database_path() -> Path:
    return db.db_path()
