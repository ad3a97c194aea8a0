"""Flags precomputed when a snapshot is written (derived table flag_snapshot): every scope
gets from them exactly what the rule queries give it, they follow the data of the next
snapshot, and a failed evaluation refuses the snapshot."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from dashboard import db, demo, flags, metrics, store
from dashboard.components.text import md_escape
from tests import flag_golden
from tests.apptest import open_app, open_page
from tests.cities import CITY_REFERENCE, SMALL_CITY_SCALE
from tests.tiny import AS_OF, fill_tiny


def live(scope_id: int, as_of: dt.date, rules: flags.RuleSet) -> list[flags.Flag]:
    """The flags computed from the rule queries alone, without the precomputed table."""
    return [f for f, *_ in flags._ranked(flags._generate(scope_id, as_of, rules))]


def _fresh() -> None:
    db._cached.clear()
    db.clear_memos()
    flags._evaluate_cached.clear()


def test_the_snapshot_holds_the_flags_of_its_default_date(use_tiny: Path) -> None:
    rules = flags.rules_or_last_good()[0]
    assert flags.stored_flags(1, AS_OF, rules) is not None
    assert flags.stored_flags(1, AS_OF - dt.timedelta(days=1), rules) is None  # a replayed day
    lenient = flag_golden.lenient()
    assert flags.stored_flags(1, AS_OF, lenient) is None  # other rules: computed, not read
    # every scope a user can pick is precomputed (root, districts, streets, the group and
    # the departments), the communities are not
    assert flags.precomputed_scopes() == {1, 2, 3, 4, 5, 6, 11, 12, 13}
    for scope_id in range(1, 14):
        stored = flags.stored_flags(scope_id, AS_OF, rules)
        assert (stored is not None) == (scope_id in flags.precomputed_scopes()), scope_id
    days = flags.snapshot_days(AS_OF)
    assert days == [dt.date(2026, 5, 31), dt.date(2026, 6, 7), AS_OF]  # 周报: two week-ends
    con = duckdb.connect(str(use_tiny), read_only=True)
    try:
        stored_days = {
            r[0] for r in con.execute("select distinct as_of from flag_snapshot").fetchall()
        }
    finally:
        con.close()
    assert stored_days == set(days)


def test_every_tiny_scope_gets_what_the_rule_queries_give(use_tiny: Path) -> None:
    rules = flags.rules_or_last_good()[0]
    _fresh()
    cases = [(scope_id, AS_OF) for scope_id in range(1, 14)]
    cases += [(scope_id, day) for day in flags.snapshot_days(AS_OF)[:2] for scope_id in (1, 2, 12)]
    for scope_id, day in cases:
        assert flags.evaluate(scope_id, day, rules) == live(scope_id, day, rules), (scope_id, day)


def test_the_rules_over_a_list_of_scopes_give_each_scope_what_it_gets_alone(
    use_tiny: Path,
) -> None:
    """The scope-dependent rules are asked once for every precomputed scope; with every
    rule loosened, each scope's share equals its own evaluation."""
    rules = flag_golden.lenient()
    days = [dt.date(2026, 6, 1), AS_OF]
    _fresh()
    precomputed = flags._precompute(days, rules)
    assert set(precomputed[AS_OF]) == flags.precomputed_scopes()
    dependent: set[str] = set()
    for day in days:
        for scope_id, ranked in precomputed[day].items():
            if day != AS_OF and scope_id not in (2, 12):
                continue  # the other day: a district and a department (each check costs)
            got = [f for f, *_ in ranked]
            assert got == live(scope_id, day, rules), (scope_id, day)
            if scope_id != 1:
                dependent |= {f.rule_id for f in got} & flags.SCOPE_DEPENDENT
    # below the root (tests/tiny.py has no random-pool type at risk below the root)
    assert dependent == {"overdue_problems", "rebound_point", "bottom_of_level"}


@pytest.fixture(scope="module")
def city(small_city: Path) -> Path:
    """flag_golden.build_city's city: the session's scale-0.05 city (tests/conftest.py)."""
    assert (flag_golden.CITY_SCALE, flag_golden.CITY_SEED, flag_golden.CITY_REFERENCE) == (
        SMALL_CITY_SCALE,
        demo.DEFAULT_SEED,
        CITY_REFERENCE,
    )
    return small_city


def test_every_kind_of_scope_of_a_city_gets_what_the_rule_queries_give(
    city: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(db.ENV_VAR, str(city))
    try:
        rules = flags.rules_or_last_good()[0]
        as_of = flag_golden.CITY_REFERENCE
        units = metrics.units()
        scopes = [int(units[units["kind"] == "city"]["unit_id"].iloc[0])]
        for kind in ("district", "street", "community", "department", "group"):
            scopes += [int(u) for u in units[units["kind"] == kind]["unit_id"].head(2)]
        checked = 0
        _fresh()
        for scope_id in scopes:
            stored = flags.stored_flags(scope_id, as_of, rules)
            assert (stored is not None) == (scope_id in flags.precomputed_scopes())
            got = flags.evaluate(scope_id, as_of, rules)
            assert got == live(scope_id, as_of, rules), scope_id
            checked += len(got)
        assert checked > 100
    finally:
        db._cached.clear()


def test_a_new_snapshot_brings_its_own_flags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "tiny.duckdb"
    meta = {"source": "test", "reference_date": AS_OF.isoformat()}
    store.write_snapshot(path, fill_tiny, meta=meta)
    monkeypatch.setenv(db.ENV_VAR, str(path))
    try:
        before = [f.key for f in flags.evaluate(5, AS_OF) if f.rule_id == "materials_zero"]
        assert before == [("materials_zero", 5, 5, "")]  # 解放街道 M-01 0 of 10 (tests/tiny.py)

        def report(con: duckdb.DuckDBPyConnection) -> None:
            # 解放街道 reports its ledger line complete: its flag goes at the next load
            con.execute(
                "insert into materials select unit_id, indicator_id, required, required, "
                "approved, deadline, $day from materials where unit_id = 5",
                {"day": AS_OF},
            )

        store.write_snapshot(path, report, base=path, meta=meta)
        after = [f for f in flags.evaluate(5, AS_OF) if f.rule_id == "materials_zero"]
        assert after == []
    finally:
        db._cached.clear()


def test_a_failed_evaluation_refuses_the_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "tiny.duckdb"
    store.write_snapshot(path, fill_tiny, meta={"source": "test", "reference_date": "2026-06-10"})
    identity = db.file_identity(path)

    real = flags.snapshot_frames

    def broken(as_of: dt.date) -> Iterator[pd.DataFrame]:
        batches = real(as_of, batch=1)  # one scope a batch: a batch is written, then it fails
        yield next(batches)
        raise RuntimeError("rule failed")

    monkeypatch.setattr(flags, "snapshot_frames", broken)
    with pytest.raises(RuntimeError, match="rule failed"):
        store.write_snapshot(path, lambda con: con.execute("delete from problems"), base=path)
    assert db.file_identity(path) == identity  # the old snapshot still serves
    assert not list(tmp_path.glob(".*.tmp*"))


READER = """
import os, sys, time
from pathlib import Path
sys.path.insert(0, os.getcwd())
os.environ["CHUANGWEN_DB"] = sys.argv[1]
import datetime as dt
from dashboard import db, flags
ready, stop = Path(sys.argv[2]), Path(sys.argv[3])
seen, until = set(), time.monotonic() + 120
while not stop.exists() and time.monotonic() < until:
    time.sleep(0.02)  # two spinning readers would starve the swaps they are meant to overlap
    try:
        identity = db.file_identity()
        found = flags.evaluate(1, dt.date(2026, 6, 10))
    except FileNotFoundError:
        continue  # the instant between unlink and rename on some filesystems
    assert found, "no flags"
    seen.add(identity.inode)
    ready.touch()
print(len(seen))
"""


def test_two_processes_keep_serving_while_snapshots_are_swapped(
    tiny_copy: Path, tmp_path: Path
) -> None:
    """Two app processes read the same snapshot (its precomputed flags) while imports swap
    new ones in: neither sees a lock error, and both move on to the new snapshots."""
    path = tiny_copy  # build_tiny's snapshot: fill_tiny with this meta
    meta = {"source": "test", "reference_date": AS_OF.isoformat()}
    root = Path(__file__).resolve().parent.parent
    stop = tmp_path / "stop"
    readers = [
        subprocess.Popen(
            [sys.executable, "-c", READER, str(path), str(tmp_path / f"ready{i}"), str(stop)],
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"},
        )
        for i in range(2)
    ]
    try:
        deadline = time.monotonic() + 60
        while not all((tmp_path / f"ready{i}").exists() for i in range(2)):
            assert time.monotonic() < deadline and all(p.poll() is None for p in readers)
            time.sleep(0.1)  # both serve the first snapshot
        for _ in range(2):
            store.write_snapshot(path, lambda con: None, base=path, meta=meta)
            time.sleep(0.3)
        stop.touch()
        outputs = [proc.communicate(timeout=60) for proc in readers]
    finally:
        for proc in readers:
            if proc.poll() is None:
                proc.kill()
    for proc, (out, err) in zip(readers, outputs, strict=True):
        assert proc.returncode == 0, err[-2000:]
        assert int(out.strip()) > 1  # it followed the swaps


def _wait_until_served(day: dt.date, rules: flags.RuleSet) -> None:
    deadline = time.monotonic() + 60
    while flags.serving_day(day, rules) != day:
        assert time.monotonic() < deadline, "the background evaluation did not finish"
        time.sleep(0.05)


def test_a_new_day_serves_the_day_before_until_it_is_evaluated_once_in_the_background(
    use_tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real data's default date is today, which moves on without an import (an injected
    clock here). The first request of a new day starts one evaluation of every scope in
    the background; until it is done every request gets the previous day's precomputed
    flags — the flags page says so — then today's, equal to the rule queries'."""
    rules = flags.rules_or_last_good()[0]
    today = AS_OF + dt.timedelta(days=1)
    clock = [today]
    monkeypatch.setattr(flags, "_today", lambda: clock[0])
    started: list[tuple[dt.date, ...]] = []
    release = threading.Event()
    precompute = flags._precompute

    def held(as_ofs: list[dt.date], rules_: flags.RuleSet) -> dict:
        started.append(tuple(as_ofs))
        assert release.wait(60)
        return precompute(as_ofs, rules_)

    monkeypatch.setattr(flags, "_precompute", held)
    _fresh()
    snapshot_day = flags.evaluate(2, AS_OF, rules)  # the snapshot's own date (06-10)
    for _ in range(3):
        got, day = flags.evaluate_served(2, today, rules)
        assert (day, got) == (AS_OF, snapshot_day)
    note = flags.served_note(today, rules)
    assert note == "以下为 06-10 的红旗，今日（06-11）结果计算中，稍后刷新页面即可看到。"
    params = {"unit": "东城区", "as_of": today.isoformat()}
    at = open_page("dashboard/pages/flags.py", params)
    assert not at.exception, at.exception
    assert [i.value for i in at.info if "计算中" in i.value] == [md_escape(note)]
    assert len(at.dataframe) >= 1  # never blank
    at = open_page("dashboard/pages/unit.py", params)
    assert md_escape(note) in [c.value for c in at.caption]
    at = open_app({**params, "mode": "meeting"})
    assert md_escape(note) in [m.value for m in at.markdown]
    assert started == [(today,)]  # once, however often it is asked

    release.set()
    _wait_until_served(today, rules)
    flags._evaluate_cached.clear()
    got, day = flags.evaluate_served(2, today, rules)
    assert day == today and got == live(2, today, rules)
    assert got != snapshot_day  # another day: overdue days, days to the test …
    assert flags.served_note(today, rules) is None  # the pages' label goes

    # the day after: the day this process computed is served while the new one is
    release.clear()
    clock[0] = tomorrow = today + dt.timedelta(days=1)
    got, day = flags.evaluate_served(3, tomorrow, rules)
    assert day == today and got == live(3, today, rules)
    assert started == [(today,), (tomorrow,)]
    release.set()
    _wait_until_served(tomorrow, rules)
    assert flags.evaluate(3, tomorrow, rules) == live(3, tomorrow, rules)
    assert started == [(today,), (tomorrow,)]


def test_stored_evidence_is_decoded_when_looked_at_and_equals_the_rows(use_tiny: Path) -> None:
    rows = ({"问题": "P-1", "整改期限": dt.date(2026, 6, 1), "逾期天数": 9},)
    stored = flags.StoredEvidence(flags._evidence_json(rows))
    assert stored._rows is None  # a board that never opens the evidence never decodes it
    assert len(stored) == 1 and stored[0]["整改期限"] == dt.date(2026, 6, 1)
    assert stored == rows and rows == stored and list(stored) == list(rows)
    assert stored != ({"问题": "P-2"},)
    assert flags.StoredEvidence("[]") == () and not flags.StoredEvidence("[]")
    counted = flags.StoredEvidence(flags._evidence_json(rows), 1)
    assert len(counted) == 1 and counted._rows is None  # the count read with the row
    names, found = db.query_rows("flag_snapshot", day=AS_OF, rules="x", scope_id=1)
    assert "evidence_count" in names and found == []


def test_days_not_stored_are_evaluated_together_as_each_alone(use_tiny: Path) -> None:
    """周报 at a replayed week: both ends computed in one pass equal each computed alone,
    and a stored day among them is still read from the snapshot."""
    rules = flag_golden.lenient()  # every rule fires on the tiny city
    days = [AS_OF - dt.timedelta(days=13), AS_OF - dt.timedelta(days=20), AS_OF]
    for scope_id in (1, 2, 12):
        _fresh()
        together = flags.evaluate_days(scope_id, days, rules)
        assert all(together), scope_id
        assert together == [live(scope_id, day, rules) for day in days], scope_id
    rules = flags.rules_or_last_good()[0]
    _fresh()
    replayed = AS_OF - dt.timedelta(days=20)
    both = flags.evaluate_days(1, [AS_OF, replayed], rules)
    assert both[0] == [f for f, *_ in flags.stored_flags(1, AS_OF, rules)]
    assert both[1] == live(1, replayed, rules)
