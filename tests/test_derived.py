"""Derived tables (dashboard/derived.sql) agree with the raw tables they summarise."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

VISIT_DAILY_FROM_RAW = """
with first_visit as (
    select campaign_id, unit_id, subject_kind, subject_id, min(visited_on) as first_on
    from visits group by all
)
select v.campaign_id, v.unit_id, v.subject_kind, d.day,
       (select count(*) from first_visit f where f.campaign_id = v.campaign_id
          and f.unit_id = v.unit_id and f.subject_kind = v.subject_kind
          and f.first_on <= d.day) as covered
from (select distinct campaign_id, unit_id, subject_kind from visits) v
cross join (select distinct day from visit_daily) d
"""

VISIT_DAILY_CUMULATIVE = """
select v.campaign_id, v.unit_id, v.subject_kind, d.day,
       coalesce((select sum(new_subjects) from visit_daily x where x.campaign_id = v.campaign_id
          and x.unit_id = v.unit_id and x.subject_kind = v.subject_kind and x.day <= d.day), 0)
       as covered
from (select distinct campaign_id, unit_id, subject_kind from visits) v
cross join (select distinct day from visit_daily) d
"""


def check_derived(path: Path) -> None:
    con = duckdb.connect(str(path), read_only=True)
    try:
        raw = con.execute(VISIT_DAILY_FROM_RAW + " order by all").fetchall()
        derived = con.execute(VISIT_DAILY_CUMULATIVE + " order by all").fetchall()
        assert raw == derived
        totals = con.execute(
            "select (select count(*) from visits), (select sum(visits) from visit_daily),"
            " (select count(*) filter (where entered_on_platform) from visits),"
            " (select sum(entered) from visit_daily)"
        ).fetchone()
        assert totals[0] == totals[1] and totals[2] == totals[3]
        # unit_tree: every unit is its own descendant, and each parent link appears at depth 1
        assert con.execute(
            "select count(*) from units u where not exists (select 1 from unit_tree t"
            " where t.ancestor_id = u.unit_id and t.descendant_id = u.unit_id and t.depth = 0)"
        ).fetchone() == (0,)
        assert con.execute(
            "select count(*) from units u where u.parent_id is not null and not exists ("
            "select 1 from unit_tree t where t.ancestor_id = u.parent_id"
            " and t.descendant_id = u.unit_id and t.depth = 1)"
        ).fetchone() == (0,)
        depth_sum = con.execute(
            "with recursive up(unit_id, ancestor_id) as (select unit_id, parent_id from units"
            " union all select up.unit_id, u.parent_id from up join units u on u.unit_id = up.ancestor_id"
            " where up.ancestor_id is not null) select count(*) from up where ancestor_id is not null"
        ).fetchone()[0]
        assert (
            con.execute("select count(*) from unit_tree where depth > 0").fetchone()[0] == depth_sum
        )
    finally:
        con.close()


def test_derived_tables_match_raw_on_the_tiny_fixture(tiny_db: Path) -> None:
    check_derived(tiny_db)


def test_derived_tables_match_raw_on_a_generated_city(tmp_path: Path) -> None:
    demo = pytest.importorskip("dashboard.demo")
    import datetime as dt

    path = demo.generate(tmp_path / "city.duckdb", scale=0.05, reference_date=dt.date(2026, 11, 24))
    check_derived(path)
