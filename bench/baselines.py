"""The straightforward ways to get a page's numbers, for comparison with the engine.

Requests are tuples naming one family of numbers:

    ("rect", scope_id, level, as_of)         整改 counts per unit (found, rectified, due, …)
    ("cov", scope_id, level, as_of, cid)     distinct subjects covered, visits, entered, target
    ("mat", scope_id, level, as_of)          台账 required / completed (latest line)
    ("pts", scope_id, level, as_of)          static checks / passed (latest check)
    ("rect_days", scope_id, start, as_of)    整改 counts at the end of every day

Each family is answered three ways, all returning a DataFrame with the same columns,
sorted the same way, so results can be compared:

* `engine(req)`  — what the app uses (dashboard.metrics / the derived tables);
* `sql(con, req)` — one query over the raw tables only (the unit tree by a recursive CTE,
  distinct subjects by count(distinct …) over visits, latest lines/checks by window);
* `pandas(tables, req)` — the raw tables loaded into pandas and grouped.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd

from dashboard import metrics

RECT = ["found", "rectified", "due", "rectified_on_time", "overdue", "overdue_severe", "closed",
        "rebounds"]  # fmt: skip
COV = ["target", "covered", "visits", "entered"]
MAT = ["required", "completed"]
PTS = ["static_checked", "static_passed"]
DAYS = ["found", "rectified", "due", "rectified_on_time", "overdue"]
COLUMNS = {"rect": RECT, "cov": COV, "mat": MAT, "pts": PTS, "rect_days": DAYS}
TABLES = {
    "rect": ("units", "problems"),
    "rect_days": ("units", "problems"),
    "cov": ("units", "visits", "visit_targets"),
    "mat": ("units", "materials"),
    "pts": ("units", "points", "point_checks"),
}
RAW_COLUMNS = {
    "units": "unit_id, kind, parent_id",
    "problems": "problem_id, found_on, point_id, unit_id, dept_id, severity, deadline,"
    " rectified_on, closed_on, rebound_of",
    "visits": "campaign_id, unit_id, subject_kind, subject_id, visited_on, entered_on_platform",
    "visit_targets": "campaign_id, unit_id, subject_kind, target",
    "materials": "unit_id, indicator_id, required, submitted, approved, updated_on",
    "points": "point_id, unit_id, dept_id",
    "point_checks": "check_id, point_id, indicator_id, checked_on, is_static, passed",
}


def _tidy(frame: pd.DataFrame, family: str) -> pd.DataFrame:
    key = "day" if family == "rect_days" else "unit_id"
    frame = frame[[key, *COLUMNS[family]]].copy()
    if key == "day":
        frame[key] = pd.to_datetime(frame[key]).dt.date
    frame[key] = frame[key].astype(object) if key == "day" else frame[key].astype("int64")
    for c in COLUMNS[family]:
        frame[c] = frame[c].fillna(0).astype("int64")
    return frame.sort_values(key).reset_index(drop=True)


# ── the engine ───────────────────────────────────────────────────────────────────────────


def engine(req: tuple) -> pd.DataFrame:
    family = req[0]
    if family == "rect":
        return _tidy(metrics.rectification(req[1], req[3], req[2]), family)
    if family == "cov":
        return _tidy(metrics.coverage(req[1], req[3], req[2]), family)
    if family == "mat":
        return _tidy(metrics.materials_completion(req[1], req[3], req[2]), family)
    if family == "pts":
        return _tidy(metrics.point_compliance(req[1], req[3], req[2]), family)
    if family == "rect_days":  # 趋势's day-by-day line over 3 months, as the page asks it
        from dashboard import trends

        frame = trends.rectification_series(req[1], req[3], "day", "3m")
        return _tidy(frame.rename(columns={"period_end": "day"}), family)
    raise ValueError(family)


# ── straightforward SQL over the raw tables ──────────────────────────────────────────────

TREE = """tree(ancestor_id, descendant_id, depth) as (
    select unit_id, unit_id, 0 from units
    union all
    select t.ancestor_id, u.unit_id, t.depth + 1 from tree t join units u on u.parent_id = t.descendant_id
),
ranked as (
    select u.unit_id from tree t join units u on u.unit_id = t.descendant_id
    where t.ancestor_id = $scope_id
      and (($level = 'self' and t.depth = 0) or ($level <> 'self' and u.kind = $level))
),
members as (
    select r.unit_id as rank_unit_id, t.descendant_id as member_id
    from ranked r join tree t on t.ancestor_id = r.unit_id
)"""

SQL = {
    "rect": """with recursive {tree},
attributed as (
    select m.rank_unit_id, p.problem_id from members m join problems p on p.unit_id = m.member_id
    where p.found_on <= $as_of
    union
    select m.rank_unit_id, p.problem_id from members m join problems p on p.dept_id = m.member_id
    where p.found_on <= $as_of
),
facts as (
    select a.rank_unit_id, p.severity,
        coalesce(p.rectified_on <= $as_of, false) as is_rectified,
        p.deadline <= $as_of as is_due,
        coalesce(p.rectified_on <= p.deadline, false) as is_on_time,
        p.deadline < $as_of and not coalesce(p.rectified_on <= $as_of, false) as is_overdue,
        coalesce(p.closed_on <= $as_of, false) as is_closed,
        q.problem_id is not null as is_rebound
    from attributed a join problems p on p.problem_id = a.problem_id
    left join problems q on q.problem_id = p.rebound_of and q.point_id = p.point_id
     and p.found_on - q.found_on between 0 and 90
)
select r.unit_id, count(f.rank_unit_id) as found,
    count(*) filter (where f.is_rectified) as rectified,
    count(*) filter (where f.is_due) as due,
    count(*) filter (where f.is_due and f.is_on_time) as rectified_on_time,
    count(*) filter (where f.is_overdue) as overdue,
    count(*) filter (where f.is_overdue and f.severity = 'severe') as overdue_severe,
    count(*) filter (where f.is_closed) as closed,
    count(*) filter (where f.is_rebound) as rebounds
from ranked r left join facts f on f.rank_unit_id = r.unit_id group by r.unit_id""",
    # distinct subjects straight from visits; a subject id is unique within its unit and kind
    "cov": """with recursive {tree},
progress as (
    select m.rank_unit_id, count(distinct (v.unit_id, v.subject_kind, v.subject_id)) as covered,
        count(*) as visits, count(*) filter (where v.entered_on_platform) as entered
    from members m join visits v on v.unit_id = m.member_id
    where v.campaign_id = $campaign_id and v.visited_on <= $as_of
    group by all
),
targets as (
    select m.rank_unit_id, sum(vt.target) as target
    from members m join visit_targets vt on vt.unit_id = m.member_id
    where vt.campaign_id = $campaign_id group by all
)
select r.unit_id, coalesce(t.target, 0) as target, coalesce(p.covered, 0) as covered,
    coalesce(p.visits, 0) as visits, coalesce(p.entered, 0) as entered
from ranked r left join progress p on p.rank_unit_id = r.unit_id
left join targets t on t.rank_unit_id = r.unit_id""",
    "mat": """with recursive {tree},
latest as (
    select * from materials where updated_on <= $as_of
    qualify row_number() over (partition by unit_id, indicator_id order by updated_on desc) = 1
)
select r.unit_id, coalesce(sum(l.required), 0) as required,
    coalesce(sum(coalesce(l.approved, l.submitted)), 0) as completed
from ranked r left join members m on m.rank_unit_id = r.unit_id
left join latest l on l.unit_id = m.member_id group by r.unit_id""",
    "pts": """with recursive {tree},
attributed as (
    select m.rank_unit_id, p.point_id from members m join points p on p.unit_id = m.member_id
    union
    select m.rank_unit_id, p.point_id from members m join points p on p.dept_id = m.member_id
),
latest as (
    select point_id, indicator_id, passed from point_checks
    where is_static and checked_on <= $as_of
    qualify row_number() over (
        partition by point_id, indicator_id order by checked_on desc, check_id desc) = 1
),
per_point as (
    select point_id, count(*) as checked, count(*) filter (where passed) as passed
    from latest group by point_id
)
select r.unit_id, coalesce(sum(s.checked), 0) as static_checked,
    coalesce(sum(s.passed), 0) as static_passed
from ranked r left join attributed a on a.rank_unit_id = r.unit_id
left join per_point s on s.point_id = a.point_id group by r.unit_id""",
    # every day evaluated on its own: a spine of days joined with the scope's problems
    "rect_days": """with recursive {tree},
facts as (
    -- (a distinct over an OR-join here trips an internal error of DuckDB 2.0 at scale 16)
    select p.problem_id, p.found_on, p.deadline, p.rectified_on
    from problems p
    where p.problem_id in (
        select q.problem_id from problems q join members m on q.unit_id = m.member_id
        union
        select q.problem_id from problems q join members m on q.dept_id = m.member_id
    )
),
spine as (
    select unnest(generate_series(greatest($start_date::date,
        coalesce((select min(found_on) from facts), $as_of::date) - 1),
        $as_of::date, interval 1 day))::date as day
)
select s.day,
    count(f.problem_id) as found,
    count(*) filter (where f.rectified_on <= s.day) as rectified,
    count(*) filter (where f.deadline <= s.day) as due,
    count(*) filter (where f.deadline <= s.day and f.rectified_on <= f.deadline)
        as rectified_on_time,
    count(*) filter (where f.deadline < s.day and not coalesce(f.rectified_on <= s.day, false))
        as overdue
from spine s left join facts f on f.found_on <= s.day
group by s.day""",
}


def sql(con: duckdb.DuckDBPyConnection, req: tuple) -> pd.DataFrame:
    family = req[0]
    text = SQL[family].replace("{tree}", TREE)
    if family == "rect_days":
        params = {"scope_id": req[1], "level": "self", "start_date": req[2], "as_of": req[3]}
    else:
        params = {"scope_id": req[1], "level": req[2], "as_of": req[3]}
        if family == "cov":
            params["campaign_id"] = req[4]
    names = set(_param_names(text))
    return _tidy(con.execute(text, {k: v for k, v in params.items() if k in names}).df(), family)


def _param_names(text: str) -> list[str]:
    import re

    return re.findall(r"\$([a-z_]+)", text)


# ── pandas ───────────────────────────────────────────────────────────────────────────────


def load(con: duckdb.DuckDBPyConnection, names: set[str]) -> dict[str, pd.DataFrame]:
    """The raw tables, as a pandas app would read them (dates as datetime64)."""
    tables = {}
    for name in sorted(names):
        sql = f"select {RAW_COLUMNS[name]} from {name}"  # noqa: S608 sql: identifiers from allow-list
        tables[name] = con.execute(sql).df()
    return tables


def _tree(units: pd.DataFrame) -> pd.DataFrame:
    """(ancestor_id, descendant_id, depth) by walking parent links."""
    parent = dict(zip(units["unit_id"], units["parent_id"], strict=True))
    rows = []
    for unit in units["unit_id"]:
        node, depth = unit, 0
        while node is not None and not pd.isna(node):
            rows.append((int(node), int(unit), depth))
            node, depth = parent.get(node), depth + 1
    return pd.DataFrame(rows, columns=["ancestor_id", "descendant_id", "depth"])


def _ranked(tables: dict, scope_id: int, level: str) -> tuple[pd.Series, pd.DataFrame]:
    if "_tree" not in tables:
        tables["_tree"] = _tree(tables["units"])
    tree = tables["_tree"]
    under = tree[tree["ancestor_id"] == scope_id]
    kinds = tables["units"].set_index("unit_id")["kind"]
    if level == "self":
        ranked = under[under["depth"] == 0]["descendant_id"]
    else:
        ranked = under["descendant_id"][kinds.loc[under["descendant_id"]].to_numpy() == level]
    members = tree[tree["ancestor_id"].isin(ranked)].rename(
        columns={"ancestor_id": "rank_unit_id", "descendant_id": "member_id"}
    )[["rank_unit_id", "member_id"]]
    return ranked.astype("int64").reset_index(drop=True), members


def _per_unit(ranked: pd.Series, sums: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    out = pd.DataFrame({"unit_id": ranked}).merge(
        sums, left_on="unit_id", right_index=True, how="left"
    )
    for c in columns:
        if c not in out:
            out[c] = 0
    return out


def _attributed(tables: dict, members: pd.DataFrame, as_of: dt.date | None) -> pd.DataFrame:
    p = tables["problems"]
    if as_of is not None:
        p = p[p["found_on"] <= pd.Timestamp(as_of)]
    by_unit = members.merge(p, left_on="member_id", right_on="unit_id")
    by_dept = members.merge(p, left_on="member_id", right_on="dept_id")
    both = pd.concat([by_unit, by_dept], ignore_index=True)
    return both.drop_duplicates(["rank_unit_id", "problem_id"])


def pandas(tables: dict, req: tuple) -> pd.DataFrame:
    family = req[0]
    if family == "rect_days":
        return _pandas_rect_days(tables, req)
    scope_id, level, as_of = req[1], req[2], pd.Timestamp(req[3])
    ranked, members = _ranked(tables, scope_id, level)
    if family == "rect":
        a = _attributed(tables, members, req[3])
        problems = tables["problems"].set_index("problem_id")
        earlier = problems.reindex(a["rebound_of"].to_numpy())
        gap = (a["found_on"].to_numpy() - earlier["found_on"].to_numpy()) / np.timedelta64(1, "D")
        same_point = earlier["point_id"].to_numpy() == a["point_id"].to_numpy()
        rebound = same_point & (gap >= 0) & (gap <= 90)
        rect = (a["rectified_on"] <= as_of).fillna(False)
        due = a["deadline"] <= as_of
        overdue = (a["deadline"] < as_of) & ~rect
        f = pd.DataFrame({
            "rank_unit_id": a["rank_unit_id"].to_numpy(),
            "found": 1,
            "rectified": rect.to_numpy(),
            "due": due.to_numpy(),
            "rectified_on_time": (due & (a["rectified_on"] <= a["deadline"])).to_numpy(),
            "overdue": overdue.to_numpy(),
            "overdue_severe": (overdue & (a["severity"] == "severe")).to_numpy(),
            "closed": (a["closed_on"] <= as_of).to_numpy(),
            "rebounds": rebound,
        })  # fmt: skip
        sums = f.groupby("rank_unit_id").sum()
        return _tidy(_per_unit(ranked, sums, RECT), family)
    if family == "cov":
        v = tables["visits"]
        v = v[(v["campaign_id"] == req[4]) & (v["visited_on"] <= as_of)]
        per_unit = v.groupby("unit_id").agg(
            visits=("subject_id", "size"), entered=("entered_on_platform", "sum")
        )
        per_unit["covered"] = (
            v.drop_duplicates(["unit_id", "subject_kind", "subject_id"]).groupby("unit_id").size()
        )
        t = tables["visit_targets"]
        per_unit = per_unit.join(
            t[t["campaign_id"] == req[4]].groupby("unit_id")["target"].sum(), how="outer"
        )
        rolled = members.merge(per_unit, left_on="member_id", right_index=True)
        sums = rolled.groupby("rank_unit_id")[COV].sum()
        return _tidy(_per_unit(ranked, sums, COV), family)
    if family == "mat":
        m = tables["materials"]
        m = m[m["updated_on"] <= as_of].sort_values("updated_on")
        latest = m.groupby(["unit_id", "indicator_id"]).tail(1)
        latest = latest.assign(completed=latest["approved"].fillna(latest["submitted"]))
        rolled = members.merge(latest, left_on="member_id", right_on="unit_id")
        sums = rolled.groupby("rank_unit_id")[MAT].sum()
        return _tidy(_per_unit(ranked, sums, MAT), family)
    if family == "pts":
        c = tables["point_checks"]
        c = c[c["is_static"] & (c["checked_on"] <= as_of)].sort_values(["checked_on", "check_id"])
        latest = c.groupby(["point_id", "indicator_id"]).tail(1)
        per_point = latest.groupby("point_id").agg(
            static_checked=("passed", "size"), static_passed=("passed", "sum")
        )
        pts = tables["points"]
        attributed = pd.concat([
            members.merge(pts, left_on="member_id", right_on="unit_id"),
            members.merge(pts, left_on="member_id", right_on="dept_id"),
        ]).drop_duplicates(["rank_unit_id", "point_id"])  # fmt: skip
        rolled = attributed.merge(per_point, left_on="point_id", right_index=True)
        sums = rolled.groupby("rank_unit_id")[PTS].sum()
        return _tidy(_per_unit(ranked, sums, PTS), family)
    raise ValueError(family)


def _pandas_rect_days(tables: dict, req: tuple) -> pd.DataFrame:
    scope_id, start, as_of = req[1], req[2], req[3]
    _ranked_ids, members = _ranked(tables, scope_id, "self")
    a = _attributed(tables, members, None)
    first = a["found_on"].min()
    begin = max(
        pd.Timestamp(start),
        (first if pd.notna(first) else pd.Timestamp(as_of)) - pd.Timedelta(days=1),
    )
    rows = []
    for day in pd.date_range(begin, pd.Timestamp(as_of), freq="D"):
        f = a[a["found_on"] <= day]
        rect = (f["rectified_on"] <= day).fillna(False)
        due = f["deadline"] <= day
        rows.append({
            "day": day.date(),
            "found": len(f),
            "rectified": int(rect.sum()),
            "due": int(due.sum()),
            "rectified_on_time": int((due & (f["rectified_on"] <= f["deadline"])).sum()),
            "overdue": int(((f["deadline"] < day) & ~rect).sum()),
        })  # fmt: skip
    return _tidy(pd.DataFrame(rows, columns=["day", *DAYS]), "rect_days")


def equal(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    return a.shape == b.shape and bool((a.to_numpy() == b.to_numpy()).all())
