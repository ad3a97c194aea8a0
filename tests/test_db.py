"""The read side: a swapped-in snapshot is seen at once, concurrent readers get their own cursor."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from dashboard import db, store
from tests.tiny import AS_OF


@pytest.fixture()
def own_db(tiny_copy: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tiny_copy  # the session's tiny snapshot, copied: this test writes to it
    monkeypatch.setenv(db.ENV_VAR, str(path))
    yield path
    db._cached.clear()


def add_unit(path: Path) -> None:
    def fill(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("insert into units values (99, '新设街道', 'street', 3, 9, NULL)")

    store.write_snapshot(path, fill, base=path)


def test_swapped_snapshot_is_read_at_once(own_db: Path) -> None:
    assert len(db.query("all_units")) == 13
    add_unit(own_db)  # the old file stays open in this process while the new one lands
    assert len(db.query("all_units")) == 14
    assert "新设街道" in set(db.query("all_units")["name"])


def test_backups_are_kept(own_db: Path) -> None:
    for _ in range(store.BACKUPS_KEPT + 1):  # one more than is kept: the oldest goes
        store.write_snapshot(own_db, lambda con: None, base=own_db)
    backups = list((own_db.parent / "backups").glob("*.duckdb"))
    assert len(backups) == store.BACKUPS_KEPT


def test_a_rebuild_past_the_memory_limit_runs_again_without_it(
    own_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each derived table is rebuilt within REBUILD_MEMORY_LIMIT (500 MB = 476.8 MiB); a
    statement for which DuckDB runs out of memory there runs again without the limit, and
    the snapshot is written, with the fill's data."""
    limits: list[str] = []
    run = store._run_derived

    def short_of_memory_once(con: duckdb.DuckDBPyConnection, stmt: str) -> None:
        limits.append(con.execute("select current_setting('memory_limit')").fetchone()[0])
        if len(limits) == 1:
            raise duckdb.OutOfMemoryException("Out of Memory Error: test")
        run(con, stmt)

    monkeypatch.setattr(store, "_run_derived", short_of_memory_once)
    add_unit(own_db)
    statements = len(store.split_sql(store.DERIVED_FILE.read_text(encoding="utf-8")))
    assert len(limits) == statements + 1  # the first statement twice
    assert limits[0] == "476.8 MiB"
    assert limits[1] != limits[0]  # DuckDB's default (a share of the machine's memory)
    assert set(limits[2:]) == {"476.8 MiB"}  # the next statements within the limit again
    assert "新设街道" in set(db.query("all_units")["name"])
    con = duckdb.connect(str(own_db), read_only=True)
    try:
        found = con.execute("select count(*) from unit_tree where descendant_id = 99").fetchone()
        assert found[0] > 0  # the first statement's table (unit_tree) was rebuilt
    finally:
        con.close()


def test_concurrent_readers_during_swaps(own_db: Path) -> None:
    errors: list[BaseException] = []
    reads: list[int] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            # a breath between reads: four readers spinning on the GIL would starve the
            # swaps they are meant to overlap (each swap still meets many reads, below)
            time.sleep(0.02)
            try:
                identity = db.file_identity()
                frame = db.run_query(
                    identity,
                    "rectification_counts",
                    {"scope_id": 1, "level": "self", "days": (AS_OF,)},
                )
                assert int(frame.iloc[0]["found"]) == 11
                reads.append(1)
            except FileNotFoundError:
                continue  # the instant between unlink and rename on some filesystems
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)
                return

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for _ in range(3):
        store.write_snapshot(own_db, lambda con: None, base=own_db)
    stop.set()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    assert len(reads) > 20  # the reads overlapped the swaps


def test_copy_of_database_opened_read_only_by_path(own_db: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.duckdb"
    shutil.copyfile(own_db, copy)
    assert db.check_database(copy) is None


def test_peer_rank_gives_the_units_row_as_python_values(use_tiny) -> None:
    # a ranking with one column of each kind the engine hands out: its row read across
    # the frame's blocks at once gives the values DataFrame cells give, as Python values
    # (numpy numbers as int / float / bool, a missing nullable value as None)
    frame = pd.DataFrame(
        {
            "unit_id": np.array([2, 3], dtype="int32"),
            "name": pd.array(["东城区", "西城区"], dtype="str"),
            "rank": pd.array([1, None], dtype="Int64"),
            "value": [0.5, float("nan")],
            "tied": [False, True],
            "due": pd.to_datetime(["2026-06-01", None]),
        }
    )
    row = db.peer_rank(3, lambda parent_id, kind: frame).row
    assert row["unit_id"] == 3 and type(row["unit_id"]) is int
    assert row["name"] == "西城区" and row["rank"] is None
    assert type(row["value"]) is float and row["value"] != row["value"]
    assert row["tied"] is True and row["due"] is pd.NaT
    first = db.peer_rank(2, lambda parent_id, kind: frame).row
    assert (first["rank"], type(first["rank"]), first["value"]) == (1, int, 0.5)
    assert first["due"] == pd.Timestamp("2026-06-01")
