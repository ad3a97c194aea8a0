"""First start: create the embedded demo database when it is missing, then check the file."""

from __future__ import annotations

import atexit
import datetime as dt
import fcntl
import gc
import logging
import os
import threading
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
    _sweep_once(path)
    problem = db.check_database(path)
    if problem is None and not db.derived_is_current(path):
        problem = _refresh_derived(path, progress)
    return problem


_swept: set[Path] = set()


def _sweep_once(path: Path) -> None:
    """At app start, remove temporary snapshots left by a killed import (store.sweep_abandoned)."""
    if path in _swept:
        return
    _swept.add(path)
    from dashboard import store

    try:
        store.sweep_abandoned(path)
    except OSError:
        logging.getLogger(__name__).warning("could not sweep temporary snapshots beside %s", path)


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


WARM_UP_ENV = "CHUANGWEN_WARM_UP"  # "0" turns the warm-up off (the test suite does)
_warmed: set[db.FileIdentity] = set()
_warm_lock = threading.Lock()


def warm_up_in_background(scope_id: int, as_of: dt.date) -> None:
    """Once per snapshot, compute the landing page's data for the whole tree in a background
    thread, so the first leader to open the meeting screen after a start or an import does
    not wait for the red-flag engine. Results land in the same process-wide caches the pages
    read; the access check still runs on every page's own call."""
    if os.environ.get(WARM_UP_ENV, "1") == "0":
        return
    identity = db.file_identity()
    with _warm_lock:
        if identity in _warmed:
            return
        _warmed.add(identity)

    def work() -> None:
        try:
            warm_up(scope_id, as_of)
        except Exception:  # noqa: BLE001 - warming is best effort; pages report real errors
            logging.getLogger(__name__).exception("warm-up failed")

    # Not a daemon: the interpreter waits for it on exit instead of killing it inside DuckDB.
    threading.Thread(target=work, name="cw-warm-up", daemon=False).start()


def warm_up(scope_id: int, as_of: dt.date) -> None:
    """The warm-up's work, in the calling thread: the landing page's data for the whole
    tree and the snapshot state the other pages read first, then freeze_long_lived."""
    from dashboard import flags, meeting, trends, unit_view, weekly

    meeting.meeting_view(scope_id, as_of)
    flags.evaluate(scope_id, as_of)
    weekly.warm(as_of)  # snapshot state only: every unit's, every scope's
    unit_view.warm(as_of)  # every peer group's standing rankings
    trends.warm(as_of)  # every unit's score, rectification and visit days
    freeze_long_lived()


_freeze_lock = threading.Lock()
_unfreeze_at_exit: list[bool] = []


def freeze_long_lived() -> None:
    """Take what the process holds now (modules, the snapshot's state just warmed: served
    rows, unit lists, rankings) out of the garbage collector's full collections.

    A full collection walks every tracked object; at province scale the snapshot state is
    ~150,000 of them, and a page that happened to trigger one waited ~80 ms more (its p95).
    Frozen objects are still freed when nothing refers to them; only cycles among them wait
    for the next call, which first unfreezes (the previous snapshot's state becomes
    collectable) and collects once. Called after each snapshot's warm-up, off the request
    path; at exit everything is unfrozen so the interpreter frees it as usual."""
    with _freeze_lock:
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        if not _unfreeze_at_exit:
            atexit.register(gc.unfreeze)
            _unfreeze_at_exit.append(True)
