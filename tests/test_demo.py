"""Tests of the demo-city generator: determinism, structure, invariants and planted stories."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest

from dashboard import demo, store
from tests.cities import CITY_REFERENCE, SMALL_CITY_SCALE

REF = dt.date(2026, 11, 24)
SCALE = 0.05
BASE_TABLES = [
    "units",
    "assessments",
    "indicators",
    "scores",
    "points",
    "point_checks",
    "problems",
    "campaigns",
    "campaign_milestones",
    "visit_targets",
    "visits",
    "materials",
    "imports",
]


@pytest.fixture(scope="module")
def built(
    small_city_build: tuple[Path, list[tuple[float, str]]],
) -> tuple[Path, list[tuple[float, str]]]:
    """The city generated at SCALE on REF with the default seed, and its progress calls
    (tests/conftest.py: generated once per session, read only)."""
    assert (SCALE, REF) == (SMALL_CITY_SCALE, CITY_REFERENCE)
    return small_city_build


@pytest.fixture()
def con(built: tuple[Path, list]) -> duckdb.DuckDBPyConnection:
    c = duckdb.connect(str(built[0]), read_only=True)
    yield c
    c.close()


@pytest.fixture()
def stories(con: duckdb.DuckDBPyConnection) -> dict:
    return json.loads(one(con, "select value from meta where key = 'demo_stories'"))


def one(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None):
    return con.execute(sql, params or {}).fetchone()[0]


def fingerprint(path: Path | None, *, seed: int = demo.DEFAULT_SEED) -> dict[str, object]:
    """Counts and checksums of the base tables of the snapshot at `path`; with path None,
    of the generator's tables filled in memory (fill_demo at SCALE, REF and `seed`, without
    the snapshot write's precomputation, which is twenty times the fill's time and does not
    touch these tables)."""
    if path is None:
        c = duckdb.connect()
        store.create_schema(c)
        demo.fill_demo(c, scale=SCALE, seed=seed, reference_date=REF)
    else:
        c = duckdb.connect(str(path), read_only=True)
    try:
        out: dict[str, object] = {t: one(c, f"select count(*) from {t}") for t in BASE_TABLES}
        for t in ["visits", "problems", "scores", "materials", "point_checks", "units"]:
            out[f"{t}_md5"] = one(
                c,
                f"select md5(string_agg(t::varchar, chr(10) order by t::varchar)) from {t} t",
            )
        return out
    finally:
        c.close()


def test_deterministic(built: tuple[Path, list]) -> None:
    # the same seed fills the same tables the written snapshot holds; another seed does not
    assert fingerprint(None) == fingerprint(built[0])
    assert fingerprint(None, seed=7)["visits_md5"] != fingerprint(built[0])["visits_md5"]


def test_progress_reported(built: tuple[Path, list]) -> None:
    fractions = [f for f, _ in built[1]]
    assert fractions == sorted(fractions)
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert any("走访" in m for _, m in built[1])


def test_meta_and_import_row(con: duckdb.DuckDBPyConnection, stories: dict) -> None:
    meta = dict(con.execute("select key, value from meta").fetchall())
    assert meta["source"] == "demo"
    assert meta["reference_date"] == REF.isoformat()
    assert float(meta["scale"]) == SCALE
    assert int(meta["schema_version"]) == store.SCHEMA_VERSION
    row = con.execute(
        "select table_name, file_name, by_user, result, length(checksum), rows from imports"
    ).fetchall()
    assert len(row) == 1
    assert row[0][:5] == ("all", "demo", "demo", "ok", 64)
    assert row[0][5] > 0
    for key in [
        "improving_district",
        "falling_street",
        "overdue_department",
        "behind_pace_town",
        "zero_materials_unit",
        "rebound_points",
    ]:
        assert stories[key]


def test_unit_tree(con: duckdb.DuckDBPyConnection) -> None:
    counts = dict(con.execute("select kind, count(*) from units group by kind").fetchall())
    assert counts == {
        "city": 1,
        "district": 5,
        "street": 40,
        "community": 400,
        "group": 3,
        "department": 40,
    }
    assert one(con, "select count(*) from units where parent_id is null") == 1
    assert one(con, "select max(target_score) from units where kind = 'city'") == 90
    dup = (
        "select count(*) from (select parent_id, name from units group by all having count(*) > 1)"
    )
    assert one(con, dup) == 0
    assert one(con, "select count(distinct name) from units where kind = 'street'") == 40
    wrong_parent = """
        select count(*) from units c join units p on p.unit_id = c.parent_id
        where (c.kind = 'department' and p.kind <> 'group')
           or (c.kind = 'community' and p.kind <> 'street')
           or (c.kind = 'street' and p.kind <> 'district')
    """
    assert one(con, wrong_parent) == 0
    assert one(con, "select count(*) from units where name like '%县'") == 1
    village_in_county = """
        select bool_and(c.name like '%村') from units c
        join units s on s.unit_id = c.parent_id join units d on d.unit_id = s.parent_id
        where d.name like '%县'
    """
    assert one(con, village_in_county)


def test_indicators(con: duckdb.DuckDBPyConnection) -> None:
    roots = dict(
        con.execute("select category, weight from indicators where parent_id is null").fetchall()
    )
    assert roots == {"field": 40, "materials": 40, "questionnaire": 20, "phone": 0}
    items = con.execute(
        """select category, count(*), sum(weight), count(lead_unit_id), count(target),
                  min(target), max(target)
           from indicators where parent_id is not null group by 1"""
    ).fetchall()
    by_cat = {r[0]: r[1:] for r in items}
    assert by_cat["field"][:2] == (12, 40)
    assert by_cat["materials"][1] == 40
    assert by_cat["questionnaire"][:2] == (13, 20)
    assert by_cat["phone"][0] == 6
    for cat, (n, _w, leads, targets, lo, hi) in by_cat.items():
        assert leads == n and targets == n, cat
        assert 80 <= lo <= hi <= 95
    phone = dict(
        con.execute(
            """select i.name, u.name from indicators i join units u on u.unit_id = i.lead_unit_id
               where i.category = 'phone' and i.parent_id is not null"""
        ).fetchall()
    )
    assert phone["看病就医"] == "市卫健委"
    assert phone["中小学教育"] == "市教育局"
    assert phone["社会治安"] == "市公安局"
    assert phone["干部表现"] == "市委组织部"
    assert set(phone) == {
        "群众文化生活",
        "中小学教育",
        "社会治安",
        "居住环境",
        "干部表现",
        "看病就医",
    }
    assert (
        one(
            con,
            "select count(*) from indicators where category = 'field' and is_static",
        )
        >= 4
    )
    lead_kinds = (
        "select distinct u.kind from indicators i join units u on u.unit_id = i.lead_unit_id"
    )
    assert [r[0] for r in con.execute(lead_kinds).fetchall()] == ["department"]


def test_dates_never_after_reference(con: duckdb.DuckDBPyConnection) -> None:
    for table, col in [
        ("problems", "found_on"),
        ("problems", "rectified_on"),
        ("problems", "closed_on"),
        ("visits", "visited_on"),
        ("point_checks", "checked_on"),
        ("materials", "updated_on"),
    ]:
        assert one(con, f"select max({col}) from {table}") <= REF, (table, col)
    upcoming = con.execute(
        "select start_date, city_rank from assessments where start_date > $r",
        {"r": REF},
    ).fetchall()
    assert len(upcoming) == 1
    assert dt.timedelta(days=28) <= upcoming[0][0] - REF <= dt.timedelta(days=56)
    assert upcoming[0][1] is None
    scored_future = """select count(*) from scores s join assessments a using (assessment_id)
                       where a.end_date >= $r"""
    assert con.execute(scored_future, {"r": REF}).fetchone()[0] == 0


def test_problem_invariants(con: duckdb.DuckDBPyConnection) -> None:
    assert one(con, "select count(*) from problems where rectified_on < found_on") == 0
    assert one(con, "select count(*) from problems where closed_on < rectified_on") == 0
    assert (
        one(
            con,
            "select count(*) from problems where closed_on is not null and rectified_on is null",
        )
        == 0
    )
    assert one(con, "select count(*) from problems where deadline < found_on") == 0
    bad_status = """select count(*) from problems where status <>
        case when closed_on is not null then 'closed'
             when rectified_on is not null then 'rectified' else 'open' end"""
    assert one(con, bad_status) == 0
    assert (
        one(
            con,
            "select count(*) from problems where not regexp_full_match(problem_id, 'WT\\d{4}-\\d{6}')",
        )
        == 0
    )
    bad_rebound = """
        select count(*) from problems p join problems e on e.problem_id = p.rebound_of
        where e.point_id is distinct from p.point_id or e.found_on >= p.found_on
           or p.found_on - e.found_on > 90
    """
    assert one(con, bad_rebound) == 0
    assert one(con, "select count(*) from problems where rebound_of is not null") >= 20
    shares = dict(
        con.execute(
            "select severity, count(*) / sum(count(*)) over () from problems group by 1"
        ).fetchall()
    )
    assert 0.6 < shares["normal"] < 0.8 and 0.04 < shares["severe"] < 0.15
    # a failed check raised a problem; a passed one did not
    check_links = """select count(*) from point_checks c left join problems p using (problem_id)
                     where (c.passed and c.problem_id is not null)
                        or (not c.passed and p.problem_id is null)"""
    assert one(con, check_links) == 0
    assert one(con, "select count(*) from point_checks") > 0
    static_copied = """select count(*) from point_checks c join indicators i using (indicator_id)
                       where c.is_static <> i.is_static"""
    assert one(con, static_copied) == 0


def test_overall_is_sum_of_items(con: duckdb.DuckDBPyConnection) -> None:
    sql = """
        with o as (select assessment_id, unit_id, value from scores where indicator_id is null),
        i as (select assessment_id, unit_id, sum(value) as total, count(*) as n
              from scores s join indicators d using (indicator_id)
              where d.category in ('field', 'materials', 'questionnaire')
              group by all)
        select count(*), max(abs(o.value - i.total)), min(i.n), max(i.n), min(o.value), max(o.value)
        from o join i using (assessment_id, unit_id)
        join assessments a using (assessment_id) where a.kind = 'overall'
    """
    n, diff, lo_n, hi_n, lo, hi = con.execute(sql).fetchone()
    assert n > 0 and diff < 1e-6
    assert lo_n == hi_n == 35
    assert lo > 60 and hi <= 100
    assert one(con, "select count(*) from scores where value > max_value or value < 0") == 0
    overall_max = "select count(*) from scores where indicator_id is null and max_value <> 100"
    assert one(con, overall_max) == 0
    item_max = """select count(*) from scores s join indicators i using (indicator_id)
                  where i.category <> 'phone' and s.max_value <> i.weight"""
    assert one(con, item_max) == 0


def test_visit_and_material_invariants(con: duckdb.DuckDBPyConnection) -> None:
    phone_like = "select count(*) from visits where regexp_full_match(subject_id, '\\d{11}')"
    assert one(con, phone_like) == 0
    assert (
        one(
            con,
            "select count(*) from visits where not regexp_full_match(subject_id, '[HNBK]\\d{6}')",
        )
        == 0
    )
    over = """
        with c as (select unit_id, subject_kind, count(distinct subject_id) as n
                   from visits group by all)
        select count(*) from c join visit_targets t using (unit_id, subject_kind) where n > t.target
    """
    assert one(con, over) == 0
    repeat_share = one(
        con,
        "select 1 - count(distinct (unit_id, subject_kind, subject_id)) / count(*) from visits",
    )
    assert 0.08 < repeat_share < 0.25
    coverage = one(
        con,
        """select count(distinct (unit_id, subject_kind, subject_id))
                  / (select sum(target) from visit_targets) from visits""",
    )
    assert 0.55 < coverage < 0.68
    entered = one(con, "select avg(entered_on_platform::int) from visits")
    assert 0.85 < entered < 0.97
    assert one(con, "select min(visited_on) from visits") >= one(
        con, "select min(start_date) from campaigns"
    )
    assert (
        one(
            con,
            "select count(*) from materials where submitted > required or approved > submitted",
        )
        == 0
    )
    falling = """
        select count(*) from (
            select submitted < lag(submitted) over (partition by unit_id, indicator_id order by updated_on) as dropped
            from materials) where dropped
    """
    assert one(con, falling) == 0
    assert one(con, "select count(*) from materials where dayofweek(updated_on) <> 1") == 0
    lo, hi = con.execute("select min(deadline), max(deadline) from materials").fetchone()
    assert REF - dt.timedelta(days=10) <= lo and hi <= REF + dt.timedelta(days=40)


def overall_series(con: duckdb.DuckDBPyConnection, unit_id: int) -> list[float]:
    rows = con.execute(
        """select s.value from scores s join assessments a using (assessment_id)
           where s.unit_id = $u and s.indicator_id is null and a.kind = 'overall'
           order by a.start_date""",
        {"u": unit_id},
    ).fetchall()
    return [r[0] for r in rows]


def test_story_improving_district(con: duckdb.DuckDBPyConnection, stories: dict) -> None:
    uid = stories["improving_district_id"]
    assert (
        one(con, "select name from units where unit_id = $u", {"u": uid})
        == stories["improving_district"]
    )
    last5 = overall_series(con, uid)[-5:]
    assert all(b > a for a, b in zip(last5, last5[1:], strict=False))


def test_story_falling_street(con: duckdb.DuckDBPyConnection, stories: dict) -> None:
    uid = stories["falling_street_id"]
    last3 = overall_series(con, uid)[-3:]
    assert last3[0] > last3[1] > last3[2]
    rank_from_bottom = one(
        con,
        """with last as (select assessment_id from assessments where kind = 'overall'
                         and end_date < $r order by start_date desc limit 1)
           select rank() over (order by s.value) from scores s join units u using (unit_id)
           where s.assessment_id = (select assessment_id from last) and s.indicator_id is null
             and u.kind = 'street' qualify s.unit_id = $u""",
        {"r": REF, "u": uid},
    )
    assert rank_from_bottom <= 3


def test_story_overdue_department(con: duckdb.DuckDBPyConnection, stories: dict) -> None:
    rows = con.execute(
        """select dept_id, count(*) from problems
           where severity = 'severe' and rectified_on is null and deadline < $r
           group by 1 order by 2 desc""",
        {"r": REF},
    ).fetchall()
    assert rows[0][0] == stories["overdue_department_id"]
    assert rows[0][1] >= 8
    assert len(rows) == 1 or rows[1][1] < rows[0][1] / 2


def test_story_behind_pace_town(con: duckdb.DuckDBPyConnection, stories: dict) -> None:
    town = stories["behind_pace_town_id"]
    params = {"t": town, "r": REF}
    scope = "unit_id in (select descendant_id from unit_tree where ancestor_id = $t)"
    target = one(con, f"select sum(target) from visit_targets where {scope}", {"t": town})
    covered = one(
        con,
        f"select count(distinct (unit_id, subject_kind, subject_id)) from visits where {scope}",
        {"t": town},
    )
    recent = one(
        con,
        f"select count(*) from visits where {scope} and visited_on > $r - 14",
        params,
    )
    milestone = one(con, "select min(due_date) from campaign_milestones where target_share = 0.7")
    share = one(
        con,
        "select target_share from campaign_milestones where due_date = $d",
        {"d": milestone},
    )
    coverage = covered / target
    projected = min(1.0, coverage + recent / 14 * (milestone - REF).days / target)
    assert 0.3 < coverage < 0.4
    assert projected < share
    one_town = (
        f"""select sum(target) from visit_targets where subject_kind = 'business' and {scope}"""
    )
    assert one(con, one_town, {"t": town}) >= 2600 * SCALE
    assert one(con, "select kind from units where unit_id = $t", {"t": town}) == "street"


def test_story_zero_materials(con: duckdb.DuckDBPyConnection, stories: dict) -> None:
    n, submitted = con.execute(
        "select count(*), sum(submitted) from materials where unit_id = $u",
        {"u": stories["zero_materials_unit_id"]},
    ).fetchone()
    assert n > 0 and submitted == 0
    zero_units = """select count(*) from (select unit_id from materials group by 1
                    having sum(submitted) = 0)"""
    assert one(con, zero_units) == 1


def test_story_rebound_points(con: duckdb.DuckDBPyConnection, stories: dict) -> None:
    rows = dict(
        con.execute(
            """select p.name, count(*) from problems r join points p using (point_id)
               where r.rebound_of is not null group by 1"""
        ).fetchall()
    )
    assert len(stories["rebound_points"]) >= 3
    for name in stories["rebound_points"]:
        assert rows[name] >= 4, name
