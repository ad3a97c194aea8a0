"""Served numbers (dashboard/served.py): the per-unit count queries answered at snapshot
time for every unit equal the queries run for the scope asked, for every scope, level and
stored day; anything not stored runs live; a new day is computed once, in the background."""

from __future__ import annotations

import datetime as dt
import shutil
import threading
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from dashboard import db, filters, metrics, served, store
from tests.tiny import AS_OF


def _requests(slots: set[tuple], scope_id: int, level: str) -> list[tuple[str, dict]]:
    """One request per served query covering the given slots: every day at once (a day
    list, as a page's batch asks), one per campaign and one per test."""
    where = {"scope_id": scope_id, "level": level}
    out = []
    for name in ("rectification_counts", "materials_counts", "point_counts"):
        days = sorted(k for n, k in slots if n == name)
        if days:
            out.append((name, {"days": days, **where}))
    by_campaign: dict[int, list[dt.date]] = {}
    for n, key in slots:
        if n == "coverage_counts":
            by_campaign.setdefault(key[0], []).append(key[1])
    for campaign_id, days in sorted(by_campaign.items()):
        out.append(("coverage_counts", {"days": sorted(days), "campaign_id": campaign_id, **where}))
    for n, key in sorted((s for s in slots if s[0] == "unit_scores"), key=str):
        out.append((n, {"assessment_id": key, "indicator_id": None, **where}))
    return out


def _fresh() -> None:
    db._cached.clear()
    db.clear_memos()


def _compare(scopes: list[int], levels: list[str], slots: set[tuple], tests: int = 2) -> int:
    """Served == live for each scope × level; unit_scores for the first `tests` tests."""
    kept = sorted(k for n, k in slots if n == "unit_scores")[:tests]
    slots = {s for s in slots if s[0] != "unit_scores" or s[1] in kept}
    identity = db.file_identity()
    held = db.served_store(identity)
    compared = 0
    for scope_id in scopes:
        for level in levels:
            for name, params in _requests(slots, scope_id, level):
                got = held.lookup(name, params)
                assert got is not None, (name, params)
                pd.testing.assert_frame_equal(got, db.run_query(identity, name, params))
                compared += 1
    return compared


def test_the_snapshot_serves_every_count_query_at_the_pages_days(use_tiny: Path) -> None:
    _fresh()
    held = db.served_store(db.file_identity())
    names = {name for name, _ in held.slots}
    assert names == set(served.SERVED)
    days = {key for name, key in held.slots if name == "rectification_counts"}
    # the day, a week before (会议大屏, 本单位), the weekly bulletin's twelve weeks' ends
    assert AS_OF in days and AS_OF - dt.timedelta(days=7) in days
    assert len(days) >= 13
    tests = {key for name, key in held.slots if name == "unit_scores"}
    assert tests == {int(a) for a in metrics.assessments()["assessment_id"]}


def test_every_served_answer_on_the_tiny_city_equals_its_query(use_tiny: Path) -> None:
    _fresh()
    units = metrics.units()
    held = db.served_store(db.file_identity())
    levels = ["self", "district", "street", "community", "department"]
    compared = _compare([int(u) for u in units["unit_id"]], levels, held.slots)
    assert compared > 300


def test_several_days_at_once_come_back_in_the_querys_order(use_tiny: Path) -> None:
    _fresh()
    identity = db.file_identity()
    held = db.served_store(identity)
    days = sorted(k for n, k in held.slots if n == "rectification_counts")[-3:]
    params = {"days": days, "scope_id": 1, "level": "street"}
    got = held.lookup("rectification_counts", params)
    pd.testing.assert_frame_equal(got, db.run_query(identity, "rectification_counts", params))
    assert list(pd.to_datetime(got["as_of"]).dt.date.unique()) == days


def test_a_day_or_indicator_not_served_runs_the_query(use_tiny: Path) -> None:
    _fresh()
    identity = db.file_identity()
    held = db.served_store(identity)
    replayed = next(
        AS_OF - dt.timedelta(days=k)
        for k in range(1, 30)
        if ("rectification_counts", AS_OF - dt.timedelta(days=k)) not in held.slots
    )
    params = {"days": [replayed], "scope_id": 1, "level": "district"}
    assert held.lookup("rectification_counts", params) is None
    mixed = {**params, "days": [replayed, AS_OF]}
    assert held.lookup("rectification_counts", mixed) is None  # all days, or none
    one = {"assessment_id": 1, "indicator_id": 1, "scope_id": 1, "level": "district"}
    assert held.lookup("unit_scores", one) is None
    # and the page's path still answers it, from the query
    frame = metrics.rectification(1, replayed, "district")
    live = db.run_query(identity, "rectification_counts", params)
    assert frame["found"].tolist() == live["found"].tolist()


def test_served_answers_on_a_generated_city_equal_the_queries(
    small_city: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(db.ENV_VAR, str(small_city))
    _fresh()
    units = metrics.units()
    held = db.served_store(db.file_identity())
    scopes = [int(units.iloc[0]["unit_id"])]
    for kind in ("district", "street", "department"):
        scopes += [int(u) for u in units[units["kind"] == kind]["unit_id"].head(1)]
    levels = ["self", "street", "community", "department"]
    assert _compare(scopes, levels, held.slots) > 50


def test_every_peer_groups_rankings_on_a_generated_city_equal_the_live_ones(
    small_city: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_rankings import assert_peer_rankings_equal_live

    monkeypatch.setenv(db.ENV_VAR, str(small_city))
    _fresh()
    assert assert_peer_rankings_equal_live() > 100


def _copy(source: Path, target: Path) -> Path:
    shutil.copyfile(source, target)
    return target


def test_a_snapshot_without_served_tables_is_answered_live_until_refreshed(
    tiny_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = _copy(tiny_db, tmp_path / "old.duckdb")
    con = duckdb.connect(str(old))
    for (table,) in con.execute(
        "select table_name from duckdb_tables() where table_name like 'served%'"
    ).fetchall():
        con.execute(f"drop table {table}")  # noqa: S608 - sql: identifiers from allow-list
    con.close()
    monkeypatch.setenv(db.ENV_VAR, str(old))
    _fresh()
    held = db.served_store(db.file_identity())
    assert not held.slots
    live = metrics.rectification(1, AS_OF, "district")
    store.refresh_derived(old)
    _fresh()
    held = db.served_store(db.file_identity())
    assert held.covers(AS_OF)
    pd.testing.assert_frame_equal(metrics.rectification(1, AS_OF, "district"), live)


def test_a_new_day_is_computed_once_in_the_background(
    tiny_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _copy(tiny_db, tmp_path / "today.duckdb")
    monkeypatch.setenv(db.ENV_VAR, str(path))
    tomorrow = AS_OF + dt.timedelta(days=1)
    monkeypatch.setattr(filters, "default_as_of", lambda: tomorrow)
    _fresh()
    identity = db.file_identity()
    held = db.served_store(identity)
    workers = [t for t in threading.enumerate() if t.name == f"served-{tomorrow}"]
    assert len(workers) == 1
    db.served_store(identity)  # a second request starts nothing more
    assert [t for t in threading.enumerate() if t.name == f"served-{tomorrow}"] == workers
    workers[0].join(timeout=60)
    assert held.covers(tomorrow)
    for level in ("self", "district", "street", "community"):
        params = {"days": [tomorrow], "scope_id": 1, "level": level}
        got = held.lookup("rectification_counts", params)
        pd.testing.assert_frame_equal(got, db.run_query(identity, "rectification_counts", params))


def test_display_names_are_stored_with_the_snapshot(use_tiny: Path) -> None:
    _fresh()
    stored = metrics.display_names()
    assert stored == metrics.compute_display_names(metrics.units())
    assert len(set(stored.values())) == len(stored)  # no two units shown alike
    con = duckdb.connect(str(use_tiny), read_only=True)
    try:
        rows = con.execute("select count(*) from unit_display_names").fetchone()
    finally:
        con.close()
    assert rows == (len(metrics.units()),)


def _week_requests(held: served.Store, scope_id: int) -> list[tuple[str, dict]]:
    """The 周报's requests of one scope at every served week: its levels and the week before
    (as weekly.problem_counts asks), and each week's problem list."""
    starts = sorted(k for n, k in held.slots if n == "weekly_problem_counts")
    kinds = ("district", "street", "community", "department", "group")
    out = []
    for before, start in zip(starts, starts[1:], strict=False):
        for levels in (("self", *kinds), ("street",), ("self",)):
            params = {"scope_id": scope_id, "levels": levels, "week_starts": (before, start)}
            out.append(("weekly_problem_counts", params))
        end = start + dt.timedelta(days=6)
        out.append(("weekly_problem_events", {"scope_id": scope_id, "week_start": start,
                                              "week_end": end}))  # fmt: skip
    return out


def test_the_weeks_counts_and_problem_lists_are_served_as_their_queries_answer(
    use_tiny: Path,
) -> None:
    _fresh()
    identity = db.file_identity()
    held = db.served_store(identity)
    starts = sorted(k for n, k in held.slots if n == "weekly_problem_counts")
    assert len(starts) == served.WEEKLY_WEEKS + 1
    assert all(d.weekday() == 0 for d in starts)
    events = sorted(k for n, k in held.slots if n == "weekly_problem_events")
    assert events == starts[1:]
    compared = listed = 0
    for scope_id in [int(u) for u in metrics.units()["unit_id"]]:
        for name, params in _week_requests(held, scope_id):
            got = held.lookup(name, params)
            assert got is not None, (name, params)
            pd.testing.assert_frame_equal(got, db.run_query(identity, name, params))
            compared += 1
            listed += len(got) if name == "weekly_problem_events" else 0
    assert compared > 300 and listed > 0
    # a week not served, or a level asked twice, runs the query
    week = {"scope_id": 1, "week_start": starts[1], "week_end": starts[1]}
    assert held.lookup("weekly_problem_events", week) is None
    twice = {"scope_id": 1, "levels": ("street", "street"), "week_starts": starts[:1]}
    assert held.lookup("weekly_problem_counts", twice) is None


def test_the_weeks_served_rows_on_a_generated_city_equal_the_queries(
    small_city: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(db.ENV_VAR, str(small_city))
    _fresh()
    identity = db.file_identity()
    held = db.served_store(identity)
    units = metrics.units()
    scopes = [int(units.iloc[0]["unit_id"])]
    for kind in ("district", "street", "department", "group"):
        scopes += [int(u) for u in units[units["kind"] == kind]["unit_id"].head(1)]
    for scope_id in scopes:
        for name, params in _week_requests(held, scope_id)[-8:]:
            got = held.lookup(name, params)
            assert got is not None, (name, params)
            pd.testing.assert_frame_equal(got, db.run_query(identity, name, params))


def test_own_scores_equal_each_tests_score_values(use_tiny: Path) -> None:
    """metrics.own_scores (the meeting board's score series, read off the served rows at
    once) equals score_values' own value test by test, for every unit; a unit without a
    score in a test gets NaN, and a snapshot without served scores asks the query."""
    _fresh()
    tests = [int(a) for a in metrics.assessments()["assessment_id"]]
    assert db.served_unit_scores(1, tests) is not None  # the tiny snapshot serves them
    seen_missing = seen_value = False
    for unit in (int(u) for u in metrics.units()["unit_id"]):
        got = metrics.own_scores(unit, tests)
        for value, test in zip(got, tests, strict=True):
            live = db.run_query(
                db.file_identity(), "unit_scores",
                {"scope_id": unit, "level": "self", "assessment_id": test, "indicator_id": None},
            )  # fmt: skip
            expected = live["value"].iloc[0] if len(live) else float("nan")
            if pd.isna(expected):
                assert pd.isna(value), (unit, test)
                seen_missing = True
            else:
                assert value == expected, (unit, test)
                seen_value = True
    assert seen_missing and seen_value
    _fresh()


def test_the_units_open_problems_lines_and_owned_items_are_served_as_queried(
    use_tiny: Path,
) -> None:
    """本单位's rows at the default date: every unit's open problems (属地 or 责任 in its
    subtree, with as_territory / as_owner), 台账 lines and owned survey items (none for most
    units) equal the queries' own answer."""
    _fresh()
    identity = db.file_identity()
    held = db.served_store(identity)
    assert ("unit_open_problems", AS_OF) in held.slots
    assert ("materials_lines", AS_OF) in held.slots
    week = dt.timedelta(days=7)
    problems = lines = owned = 0
    for unit_id in [int(u) for u in metrics.units()["unit_id"]]:
        for name, params in (
            ("unit_open_problems", {"unit_id": unit_id, "as_of": AS_OF}),
            ("materials_lines", {"scope_id": unit_id, "days": [AS_OF]}),
            # the 本单位 page's batch: the day and a week before it, asked together
            ("materials_lines", {"scope_id": unit_id, "days": [AS_OF - week, AS_OF]}),
            ("unit_owned_items", {"unit_id": unit_id, "as_of": AS_OF}),
        ):
            got = held.lookup(name, params)
            assert got is not None, (name, params)
            pd.testing.assert_frame_equal(got, db.run_query(identity, name, params))
        problems += len(held.lookup("unit_open_problems", {"unit_id": unit_id, "as_of": AS_OF}))
        lines += len(held.lookup("materials_lines", {"scope_id": unit_id, "days": [AS_OF]}))
        owned += len(held.lookup("unit_owned_items", {"unit_id": unit_id, "as_of": AS_OF}))
    assert problems > 0 and lines > 0 and owned > 0
    # another day runs the queries
    day = AS_OF - dt.timedelta(days=1)
    assert held.lookup("unit_open_problems", {"unit_id": 1, "as_of": day}) is None
    assert held.lookup("materials_lines", {"scope_id": 1, "days": [AS_OF, day]}) is None
    assert held.lookup("unit_owned_items", {"unit_id": 12, "as_of": day}) is None
