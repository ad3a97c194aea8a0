"""Snapshot state vs page results (dashboard/db.py): what every page reads whatever its
scope — parameterless queries (the unit list, tests, campaigns, meta), per_snapshot values
and the served rows — is read once per snapshot and process and kept when the page results
are dropped (clear_results, the benchmark's cold page); a swapped-in snapshot is read
afresh; clear_memos forgets everything."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import duckdb
import pytest

from dashboard import db, metrics
from tests.tiny import AS_OF


def test_whole_tables_are_snapshot_state(use_tiny: Path) -> None:
    db.clear_memos()
    assert db.is_whole_table("all_units") and db.is_whole_table("meta")
    assert not db.is_whole_table("rectification_counts")
    units = db.query("all_units")
    metrics.campaigns()  # a per_snapshot value
    db.query("rectification_counts", scope_id=1, level="self", days=(AS_OF,))
    held = len(db._whole)  # all_units, campaigns and whatever else they read
    assert held >= 2 and len(db._cached) >= 1

    db.clear_results()
    assert len(db._cached) == 0, "page results are dropped"
    assert len(db._whole) == held, "the snapshot's tables are kept"
    calls: list[str] = []
    original = db.run_query
    try:
        db.run_query = lambda identity, name, params: (
            calls.append(name) or original(identity, name, params)
        )
        again = db.query("all_units")
        metrics.campaigns()
    finally:
        db.run_query = original
    assert calls == [], "nothing of the snapshot's state is read again"
    assert again.equals(units)

    again["name"] = "改过"  # a caller's change does not reach the kept frame
    assert db.query("all_units")["name"].equals(units["name"])

    db.clear_memos()
    assert len(db._whole) == 0 and len(db._cached) == 0


def test_a_swapped_snapshot_is_read_afresh(
    tiny_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    active = tmp_path / "active.duckdb"
    shutil.copy(tiny_db, active)
    monkeypatch.setenv(db.ENV_VAR, str(active))
    db.clear_memos()
    before = db.query("all_units")
    first = str(before.loc[0, "name"])

    fresh = tmp_path / "fresh.duckdb"
    shutil.copy(tiny_db, fresh)
    con = duckdb.connect(str(fresh))
    con.execute(
        "update units set name = name || '新' where unit_id = $u",
        {"u": int(before.loc[0, "unit_id"])},
    )
    con.close()
    os.replace(fresh, active)  # as store.write_snapshot swaps a snapshot in

    after = db.query("all_units")
    assert str(after.loc[0, "name"]) == first + "新"
    db.clear_memos()
    db.close_all()


def _held_by(identity: db.FileIdentity) -> int:
    """How many results and snapshot-state entries this process holds for `identity`."""
    return sum(
        1
        for cache in [*db._caches, *db._snapshot_caches]
        for key in list(cache._results)
        if key and key[0] == identity
    )


def test_an_import_forgets_the_earlier_snapshots_state(
    tiny_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process serving for months of weekly imports keeps one snapshot's state, not every
    one: when the swapped-in file's served rows are first read, what the process holds of
    the earlier file at that path is dropped; a page still asking with the earlier
    identity drops nothing of the new one's."""
    active = tmp_path / "active.duckdb"
    shutil.copy(tiny_db, active)
    monkeypatch.setenv(db.ENV_VAR, str(active))
    db.clear_memos()
    old = db.file_identity()
    metrics.campaigns()  # a per_snapshot value
    metrics.rectification(1, AS_OF)  # page results, through the served rows
    assert _held_by(old) >= 3

    fresh = tmp_path / "fresh.duckdb"
    shutil.copy(tiny_db, fresh)
    os.replace(fresh, active)  # as store.write_snapshot swaps a snapshot in
    new = db.file_identity()
    assert new != old
    metrics.campaigns()
    metrics.rectification(1, AS_OF)
    assert _held_by(old) == 0, "the earlier snapshot's state is gone"
    held = _held_by(new)
    assert held >= 3

    db.forget_older_snapshots(old)  # as a page still running on the earlier file would
    assert _held_by(new) == held, "nothing of the current snapshot is dropped"
    db.clear_memos()
    db.close_all()


def test_query_many_answers_as_query_with_the_callers_access(use_tiny: Path) -> None:
    """Several queries at once on worker threads: the same frames as one by one, and each
    worker asks as the calling thread's user (a district user is refused another district)."""
    from dashboard import auth

    db.clear_memos()
    requests = [
        ("rectification_counts", {"scope_id": 1, "level": "district", "days": (AS_OF,)}),
        ("materials_counts", {"scope_id": 2, "level": "street", "days": (AS_OF,)}),
        ("all_units", {}),
    ]
    many = db.query_many(requests)
    db.clear_memos()
    for (name, params), got in zip(requests, many, strict=True):
        assert got.equals(db.query(name, **params)), name

    db._lent.access = auth.Access(None, (2,))  # as if a 东城区 user's session ran this
    try:
        mine = db.query_many(requests[1:])
        assert mine[0].equals(many[1])
        with pytest.raises(db.AccessDenied):
            db.query_many(requests[:2])  # 临江市 is outside 东城区
    finally:
        db._lent.access = None


def test_query_soon_runs_each_query_once_for_the_later_query(
    use_tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Queries started ahead (a page's own, while it computes its standing) are run once:
    the later `query` of the same request gets that run's rows, not a second run."""
    from dashboard import unit_view

    db.clear_memos()
    runs: list[str] = []
    run = db.run_query

    def counted(identity: object, name: str, params: dict) -> object:
        runs.append(name)
        return run(identity, name, params)  # type: ignore[arg-type]

    monkeypatch.setattr(db, "run_query", counted)
    # a day the snapshot does not serve (at the default date these are served lookups)
    day = AS_OF - dt.timedelta(days=1)
    unit_view.prefetch(12, day)  # 市住建局
    problems = unit_view.open_problems(12, day)
    unit_view.owned_items(12, day)
    unit_view.missing_materials(12, day)
    unit_view.unit_flags(12, day)
    for name in ("unit_open_problems", "materials_lines", "unit_owned_items"):
        assert runs.count(name) == 1, name
    db.clear_memos()
    assert problems.equals(unit_view.open_problems(12, day))
    # at the default date: the served rows, no query
    runs.clear()
    unit_view.prefetch(12, AS_OF)
    unit_view.open_problems(12, AS_OF)
    unit_view.owned_items(12, AS_OF)
    unit_view.missing_materials(12, AS_OF)
    assert not {"unit_open_problems", "materials_lines", "unit_owned_items"} & set(runs)


def test_prefetch_starts_nothing_when_the_rows_are_served(
    use_tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At the default date 本单位's own rows are served lookups (db.served_at): nothing is
    started on a worker; at a day the snapshot does not serve they are."""
    from dashboard import unit_view

    db.clear_memos()
    started: list[list] = []
    monkeypatch.setattr(db, "query_soon", lambda requests: started.append(list(requests)))
    assert db.served_at("unit_open_problems", AS_OF)
    assert db.served_at("materials_lines", AS_OF)
    day = AS_OF - dt.timedelta(days=1)
    assert not db.served_at("unit_open_problems", day)
    assert not db.served_at("unit_scores", AS_OF)  # served, but not by day
    unit_view.prefetch(12, AS_OF)
    assert started == []
    unit_view.prefetch(12, day)
    # the row queries, then the day's red-flag rule queries (flags.live_requests)
    from dashboard import flags

    rules = [name for name, _params in flags.live_requests(12, day)]
    assert rules, "nothing is stored for that day: the rules run live"
    assert [name for name, _params in started[0]] == [
        "unit_open_problems",
        "materials_lines",
        "unit_owned_items",
        *rules,
    ]


def test_query_many_reads_the_snapshot_being_built(
    use_tiny: Path, tiny_db: Path, tmp_path: Path
) -> None:
    """On the write path (db.reading_snapshot) the workers read the file being built."""
    build = tmp_path / "build.duckdb"
    shutil.copy(tiny_db, build)
    con = duckdb.connect(str(build))
    con.execute("update units set name = '建设中' where unit_id = 1")
    con.close()
    db.clear_memos()
    with db.reading_snapshot(build):
        inside = db.query_many([("all_units", {}), ("meta", {})])[0]
    outside = db.query_many([("all_units", {}), ("meta", {})])[0]
    assert inside.set_index("unit_id").loc[1, "name"] == "建设中"
    assert outside.set_index("unit_id").loc[1, "name"] == "临江市"


def test_freezing_keeps_held_state_and_frees_the_last_snapshots_cycles() -> None:
    """startup.freeze_long_lived: what is held stays usable and out of full collections;
    a cycle frozen with an old snapshot's state is freed by the next call (after a swap)."""
    import gc
    import weakref

    from dashboard import startup

    class Node:
        pass

    old = Node()
    old.self = old  # a reference cycle: only the collector frees it
    gone = weakref.ref(old)
    try:
        startup.freeze_long_lived()
        assert gc.get_freeze_count() > 0
        del old
        gc.collect()
        assert gone() is not None, "frozen: a full collection does not free it"
        startup.freeze_long_lived()  # the next snapshot's warm-up
        assert gone() is None, "unfrozen first, so the old cycle is collected"
    finally:
        gc.unfreeze()
