"""Derived tables (dashboard/derived.sql) agree with the raw tables they summarise."""

from __future__ import annotations

from pathlib import Path

import duckdb

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
        check_unit_visit_daily(con)
        check_problem_daily(con)
        check_spans(con)
        check_problem_rebounds(con)
    finally:
        con.close()


# unit_visit_daily: per ancestor unit, straight from the raw visits (first visit per subject)
UNIT_VISIT_DAILY_FROM_RAW = """
with first_visit as (
    select campaign_id, unit_id, subject_kind, subject_id, min(visited_on) as first_on
    from visits group by all
),
new_subjects as (
    select t.ancestor_id as unit_id, f.campaign_id, f.subject_kind, f.first_on as day,
           count(*) as n
    from first_visit f join unit_tree t on t.descendant_id = f.unit_id
    group by all
),
all_visits as (
    select t.ancestor_id as unit_id, v.campaign_id, v.subject_kind, v.visited_on as day,
           count(*) as visits, count(*) filter (where v.entered_on_platform) as entered
    from visits v join unit_tree t on t.descendant_id = v.unit_id
    group by all
)
select a.unit_id, a.campaign_id, a.subject_kind, a.day, coalesce(n.n, 0), a.visits, a.entered
from all_visits a
left join new_subjects n using (unit_id, campaign_id, subject_kind, day)
"""


def check_unit_visit_daily(con: duckdb.DuckDBPyConnection) -> None:
    raw = con.execute(UNIT_VISIT_DAILY_FROM_RAW + " order by all").fetchall()
    derived = con.execute(
        "select unit_id, campaign_id, subject_kind, day, new_subjects, visits, entered"
        " from unit_visit_daily order by all"
    ).fetchall()
    assert raw == derived


# problem_daily: every count of rectification_counts straight from the raw problems, per unit
# (属地 or 责任单位 in its subtree) at each of a set of days, against the running sums.
PROBLEM_COUNTS_FROM_RAW = """
with days as (select unnest($days::date[]) as day),
attributed as (
    select t.ancestor_id as unit_id, p.problem_id
    from problems p join unit_tree t on t.descendant_id = p.unit_id
    union
    select t.ancestor_id, p.problem_id
    from problems p join unit_tree t on t.descendant_id = p.dept_id
)
select a.unit_id, d.day,
    count(*) as found,
    count(*) filter (where p.rectified_on <= d.day) as rectified,
    count(*) filter (where p.deadline <= d.day) as due,
    count(*) filter (where p.deadline <= d.day and p.rectified_on <= p.deadline) as on_time,
    count(*) filter (where p.deadline < d.day and not coalesce(p.rectified_on <= d.day, false))
        as overdue,
    count(*) filter (where p.deadline < d.day and not coalesce(p.rectified_on <= d.day, false)
                     and p.severity = 'severe') as overdue_severe,
    count(*) filter (where p.closed_on <= d.day) as closed,
    count(*) filter (where q.problem_id is not null) as rebounds
from attributed a
join problems p on p.problem_id = a.problem_id
cross join days d
left join problems q on q.problem_id = p.rebound_of and q.point_id = p.point_id
 and p.found_on - q.found_on between 0 and 90
where p.found_on <= d.day
group by all
"""

PROBLEM_COUNTS_FROM_DERIVED = """
with days as (select unnest($days::date[]) as day)
select pd.unit_id, d.day,
    sum(found), sum(rectified), sum(due), sum(on_time),
    sum(past_deadline) - sum(past_deadline_rectified),
    sum(past_deadline_severe) - sum(past_deadline_rectified_severe),
    sum(closed), sum(rebounds)
from problem_daily pd join days d on pd.day <= d.day
group by all
having sum(found) > 0
"""


def _sample_days(con: duckdb.DuckDBPyConnection, column: str, n: int = 12) -> list:
    days = [r[0] for r in con.execute(
        f"select distinct {column} from problems where {column} is not null order by 1"  # noqa: S608
    ).fetchall()]  # fmt: skip
    step = max(1, len(days) // n)
    return days[::step] + days[-1:]


def check_problem_daily(con: duckdb.DuckDBPyConnection) -> None:
    import datetime as dt

    days = sorted(
        {d for column in ("found_on", "deadline", "rectified_on", "closed_on")
         for d in _sample_days(con, column)}
        | {d + dt.timedelta(days=1) for d in _sample_days(con, "deadline")}
    )  # fmt: skip
    raw = con.execute(PROBLEM_COUNTS_FROM_RAW + " order by all", {"days": days}).fetchall()
    derived = con.execute(PROBLEM_COUNTS_FROM_DERIVED + " order by all", {"days": days}).fetchall()
    assert raw and [
        tuple(int(x) if isinstance(x, (int, float)) else x for x in r) for r in raw
    ] == [tuple(int(x) if isinstance(x, (int, float)) else x for x in r) for r in derived]


# point_check_spans / material_spans: the row "in force" at a day is the latest by window
LATEST_CHECK_RAW = """
select check_id from point_checks where checked_on <= $day
qualify row_number() over (partition by point_id, indicator_id
                           order by checked_on desc, check_id desc) = 1
"""
LATEST_CHECK_SPANS = """
select check_id from point_check_spans
where checked_on <= $day and (next_checked_on is null or next_checked_on > $day)
"""
LATEST_LINE_RAW = """
select unit_id, indicator_id, updated_on from materials where updated_on <= $day
qualify row_number() over (partition by unit_id, indicator_id order by updated_on desc) = 1
"""
LATEST_LINE_SPANS = """
select unit_id, indicator_id, updated_on from material_spans
where updated_on <= $day and (next_updated_on is null or next_updated_on > $day)
"""


def check_spans(con: duckdb.DuckDBPyConnection) -> None:
    for table, column, raw, spans in (
        ("point_checks", "checked_on", LATEST_CHECK_RAW, LATEST_CHECK_SPANS),
        ("materials", "updated_on", LATEST_LINE_RAW, LATEST_LINE_SPANS),
    ):
        days = [r[0] for r in con.execute(
            f"select distinct {column} from {table} order by 1"  # noqa: S608
        ).fetchall()]  # fmt: skip
        assert days, table
        step = max(1, len(days) // 10)
        for day in days[::step] + days[-1:]:
            a = con.execute(raw + " order by all", {"day": day}).fetchall()
            b = con.execute(spans + " order by all", {"day": day}).fetchall()
            assert a == b, (table, day)
        assert (
            con.execute(f"select count(*) from {table}").fetchone()
            == con.execute(  # noqa: S608
                f"select count(*) from {'point_check_spans' if table == 'point_checks' else 'material_spans'}"  # noqa: S608
            ).fetchone()
        )


def check_problem_rebounds(con: duckdb.DuckDBPyConnection) -> None:
    raw = con.execute(
        "select p.problem_id, q.problem_id, datediff('day', q.found_on, p.found_on)"
        " from problems p, problems q where p.rebound_of = q.problem_id"
        " and p.point_id = q.point_id"
        " and datediff('day', q.found_on, p.found_on) between 0 and 90 order by all"
    ).fetchall()
    derived = con.execute("select * from problem_rebounds order by all").fetchall()
    assert raw and raw == derived


def test_derived_tables_match_raw_on_the_tiny_fixture(tiny_db: Path) -> None:
    check_derived(tiny_db)


def test_derived_tables_match_raw_on_a_generated_city(small_city: Path) -> None:
    check_derived(small_city)  # scale 0.05 on 2026-11-24 (tests/conftest.py)
