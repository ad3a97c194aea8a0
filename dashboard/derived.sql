-- Derived tables: rebuilt from the base tables by dashboard/store.py every
-- time a snapshot is written (demo generation or import). Never edited by
-- hand, never imported. tests/test_derived.py checks each one against the
-- raw tables it summarises.
--
-- They exist for speed: a distinct count over all visits on every request is
-- over a second at province scale; these answer the same questions in
-- milliseconds at any as-of date.

-- unit_tree: the transitive closure of units.parent_id, including each unit
-- as its own descendant at depth 0. "Everything under X" is
--   select descendant_id from unit_tree where ancestor_id = X
-- The walk carries the units it has passed, so a cycle in parent_id (which the
-- importer refuses) ends the walk instead of recursing for ever.
create or replace table unit_tree as
with recursive walk(ancestor_id, descendant_id, depth, path) as (
    select unit_id, unit_id, 0, [unit_id] from units
    union all
    select w.ancestor_id, u.unit_id, w.depth + 1, list_append(w.path, u.unit_id)
    from walk w
    join units u on u.parent_id = w.descendant_id
    where not list_contains(w.path, u.unit_id)
)
select ancestor_id, descendant_id, depth from walk;

-- scope_members(scope_ids): every unit under each scope of scope_ids (an INTEGER[]), itself
-- included, as (scope_id, unit_id) — a table macro, so the red-flag queries over a list of
-- scopes (queries/flag_*.sql taking $scope_ids) do not each repeat how a scope's units
-- are found.
create or replace macro scope_members(scope_ids) as table
select ancestor_id as scope_id, descendant_id as unit_id
from unit_tree
where ancestor_id in (select unnest(scope_ids::integer[]));

-- visit_daily: per campaign, unit, subject kind and day:
--   new_subjects  subjects whose FIRST visit in the campaign was that day
--                 (so a running sum is the distinct-subject coverage numerator)
--   visits        all visits that day (repeat visits included)
--   entered       of those, visits entered on the platform
create or replace table visit_daily as
with first_visit as (
    select campaign_id, unit_id, subject_kind, subject_id, min(visited_on) as first_on
    from visits
    group by all
),
new_per_day as (
    select campaign_id, unit_id, subject_kind, first_on as day, count(*) as new_subjects
    from first_visit
    group by all
),
visits_per_day as (
    select campaign_id, unit_id, subject_kind, visited_on as day,
           count(*) as visits,
           count(*) filter (where entered_on_platform) as entered
    from visits
    group by all
)
select
    coalesce(v.campaign_id, n.campaign_id) as campaign_id,
    coalesce(v.unit_id, n.unit_id) as unit_id,
    coalesce(v.subject_kind, n.subject_kind) as subject_kind,
    coalesce(v.day, n.day) as day,
    coalesce(n.new_subjects, 0)::bigint as new_subjects,
    coalesce(v.visits, 0)::bigint as visits,
    coalesce(v.entered, 0)::bigint as entered
from visits_per_day v
full join new_per_day n
  on n.campaign_id = v.campaign_id and n.unit_id = v.unit_id
 and n.subject_kind = v.subject_kind and n.day = v.day
order by campaign_id, unit_id, subject_kind, day;

-- unit_visit_daily: visit_daily rolled up to every unit over its whole subtree (a unit's
-- own rows plus all of its descendants'), per campaign, subject kind and day. Coverage of
-- any unit at any as-of date is a sum over at most (kinds × days) rows of one unit_id,
-- instead of a join of the unit's subtree with visit_daily. Columns as in visit_daily
-- (unit_id is the ancestor). Sorted by unit so a lookup reads one block range.
create or replace table unit_visit_daily as
select
    t.ancestor_id as unit_id,
    vd.campaign_id,
    vd.subject_kind,
    vd.day,
    sum(vd.new_subjects)::bigint as new_subjects,
    sum(vd.visits)::bigint as visits,
    sum(vd.entered)::bigint as entered
from visit_daily vd
join unit_tree t on t.descendant_id = vd.unit_id
group by all
order by unit_id, campaign_id, subject_kind, day;

-- problem_daily: for every unit and day, how many of the unit's problems (属地 unit OR
-- 责任单位 in its subtree, each problem once) enter each count of DESIGN §4 that day, so
-- every count as of a date is a running sum over days ≤ that date:
--   found                    found_on
--   rectified                greatest(found_on, rectified_on)          (rectified by d)
--   due                      greatest(found_on, deadline)              (deadline ≤ d)
--   on_time                  as due, when rectified_on ≤ deadline
--   past_deadline            greatest(found_on, deadline + 1)          (deadline < d)
--   past_deadline_rectified  greatest(found_on, deadline + 1, rectified_on)
--                            → overdue at d = past_deadline − past_deadline_rectified
--   *_severe                 the same two for severity = 'severe'
--   closed                   greatest(found_on, closed_on)             (closed by d)
--   rebounds                 found_on, for problems whose rebound_of is an earlier problem
--                            at the same point found 0..90 days before (rectification_counts)
create or replace table problem_daily as
with attributed as (
    select t.ancestor_id as unit_id, p.problem_id
    from problems p
    join unit_tree t on t.descendant_id = p.unit_id
    union
    select t.ancestor_id as unit_id, p.problem_id
    from problems p
    join unit_tree t on t.descendant_id = p.dept_id
),
-- not materialized: read by each event below, recomputed rather than held (a materialized
-- CTE stays in memory, about 400 MB at province scale; the rest of the rebuild can spill)
facts as not materialized (
    select
        a.unit_id,
        p.found_on,
        p.deadline,
        p.rectified_on,
        p.closed_on,
        p.severity = 'severe' as is_severe,
        q.problem_id is not null as is_rebound
    from attributed a
    join problems p on p.problem_id = a.problem_id
    left join problems q
      on q.problem_id = p.rebound_of
     and q.point_id = p.point_id
     and p.found_on - q.found_on between 0 and 90
),
events as (
    select unit_id, found_on as day, 'found' as measure from facts
    union all
    select unit_id, found_on, 'rebounds' from facts where is_rebound
    union all
    select unit_id, greatest(found_on, rectified_on), 'rectified'
    from facts where rectified_on is not null
    union all
    select unit_id, greatest(found_on, deadline), 'due' from facts
    union all
    select unit_id, greatest(found_on, deadline), 'on_time'
    from facts where rectified_on <= deadline
    union all
    select unit_id, greatest(found_on, deadline + 1),
           case when is_severe then 'past_deadline_severe' else 'past_deadline' end
    from facts
    union all
    select unit_id, greatest(found_on, deadline + 1, rectified_on),
           case when is_severe then 'past_deadline_rectified_severe'
                else 'past_deadline_rectified' end
    from facts where rectified_on is not null
    union all
    select unit_id, greatest(found_on, closed_on), 'closed'
    from facts where closed_on is not null
)
select
    unit_id,
    day,
    count(*) filter (where measure = 'found')::bigint as found,
    count(*) filter (where measure = 'rectified')::bigint as rectified,
    count(*) filter (where measure = 'due')::bigint as due,
    count(*) filter (where measure = 'on_time')::bigint as on_time,
    count(*) filter (where measure in ('past_deadline', 'past_deadline_severe'))::bigint
        as past_deadline,
    count(*) filter (where measure in ('past_deadline_rectified',
                                       'past_deadline_rectified_severe'))::bigint
        as past_deadline_rectified,
    count(*) filter (where measure = 'past_deadline_severe')::bigint as past_deadline_severe,
    count(*) filter (where measure = 'past_deadline_rectified_severe')::bigint
        as past_deadline_rectified_severe,
    count(*) filter (where measure = 'closed')::bigint as closed,
    count(*) filter (where measure = 'rebounds')::bigint as rebounds
from events
group by all
order by unit_id, day;

-- point_check_spans: every point check with the day the next check of the same point and
-- indicator was made (next_checked_on, NULL for the latest). "The latest check on or
-- before d" (ties on one day: the higher check_id) is then a filter, not a window:
--   checked_on <= d and (next_checked_on is null or next_checked_on > d)
create or replace table point_check_spans as
select
    c.*,
    lead(c.checked_on) over (
        partition by c.point_id, c.indicator_id order by c.checked_on, c.check_id
    ) as next_checked_on
from point_checks c
order by c.point_id, c.indicator_id, c.checked_on;

-- material_spans: every 台账 line with the day the next line of the same unit and
-- indicator was reported (next_updated_on, NULL for the latest), so "the latest line on
-- or before d" is updated_on <= d and (next_updated_on is null or next_updated_on > d).
create or replace table material_spans as
select
    m.*,
    lead(m.updated_on) over (
        partition by m.unit_id, m.indicator_id order by m.updated_on
    ) as next_updated_on
from materials m
order by m.unit_id, m.indicator_id, m.updated_on;

-- problem_rebounds: every rebound (反弹) of DESIGN §4 — a problem whose rebound_of is an
-- earlier problem at the same point found 0..90 days before it — with that earlier problem
-- and the gap in days. A handful of rows, so "rebounds in a window" need not join the
-- problems table with itself.
create or replace table problem_rebounds as
select
    p.problem_id,
    q.problem_id as earlier_problem_id,
    (p.found_on - q.found_on)::integer as gap_days
from problems p
join problems q on q.problem_id = p.rebound_of and q.point_id = p.point_id
where p.found_on - q.found_on between 0 and 90
order by p.problem_id;

-- flag_snapshot: the red flags (flags.evaluate) precomputed when the snapshot is written,
-- filled by store.write_snapshot after the tables above (flags.snapshot_frame): the flags of
-- every scope a user can pick (scope_id: each root and every city, district, street, group
-- and department, flags.precomputed_scopes) at the snapshot's default date (demo/test: its
-- reference date; real data: the day it was written) and its default week's two ends
-- (周报), with the rules in force then (`rules`, flags.rules_fingerprint). One row per
-- flag and scope in the scope's priority order (`rank`), with the rule's and the query
-- row's position (ties), every field of flags.Flag, and the evidence rows as JSON (dates
-- as {"$date": "…"}). A root's rows are its own evaluation; another scope's are the root's
-- flags on units or owners in its subtree, except the scope-dependent rules'
-- (flags.SCOPE_DEPENDENT), plus those rules' flags evaluated for the scope. A page at one
-- of those dates with the same rules reads its scope's rows (queries/flag_snapshot.sql)
-- instead of running the rules. If the evaluation fails, the snapshot is refused.
create or replace table flag_snapshot (
    as_of date not null,
    rules varchar not null,
    scope_id integer not null,
    rank integer not null,
    rule_pos integer not null,
    row_pos integer not null,
    rule_id varchar not null,
    rule_name varchar not null,
    severity varchar not null,
    unit_id integer not null,
    unit_name varchar not null,
    owner_id integer,
    owner_name varchar not null,
    metric varchar not null,
    value double,
    threshold double,
    value_text varchar not null,
    evidence varchar not null,
    deadline date,
    first_seen date,
    weeks_red integer not null,
    days_to_test integer,
    priority double not null,
    weight double not null,
    magnitude double not null,
    subject varchar not null
);

-- served_<query> (rectification_counts, coverage_counts, materials_counts, point_counts,
-- unit_scores; 周报's weekly_problem_counts and weekly_problem_events at its recent weeks,
-- keyed by week_start) and served_slots: the per-unit count queries of those names run for EVERY
-- unit when the snapshot is written (dashboard/served.py, filled by
-- store.precompute_served after the tables above), at the days the pages read at the
-- snapshot's default date (its day, a week and the rank-comparison day before, both ends
-- of the weekly bulletin's twelve recent weeks, every 7th day back to the campaign's start)
-- and for every test. Each table has its query's own columns, plus campaign_id
-- (coverage_counts) or assessment_id (unit_scores), the parameter it was run with;
-- served_slots lists every (query, as_of, campaign_id, assessment_id) held. db.query
-- answers a request for a held slot by filtering these rows (a unit's counts do not depend
-- on the scope it is asked under; tests/test_served.py); anything else runs its query.
-- Created there, not here: their columns are the queries' own.

-- unit_display_names: unit_id → the name every page shows, with as many parents in （） as
-- make a repeated name unique (metrics.display_names, dashboard/unit_match.py), computed
-- by store.precompute_served with the served_ tables (a page's first request would spend
-- tens of milliseconds on it at province scale).

-- sim_backtest: the 测算 page's backtest precomputed when the snapshot is written (filled
-- by store.write_snapshot through simulator.precompute_backtests): for every unit a view can
-- be scoped to (scope_id) and each of its overall tests (in test order, pos), the estimate
-- from the data as of the day before the test (estimate_as_of = start_date − 1) against the
-- actual score (both on 100), and the naive estimate "same as the unit's previous overall
-- test" — only tests with an estimate. `fingerprint` (simulator.backtest_fingerprint) names
-- the settings (config/simulator.toml) and model the rows were computed with; the snapshot's
-- meta key sim_backtest holds it when the table is complete. A page with other settings or
-- an older model computes its own backtest (once per process). The data as of a past day
-- does not change between imports, so a page reads the rows of tests ended by its as_of.
create or replace table sim_backtest (
    fingerprint varchar not null,
    scope_id integer not null,
    pos integer not null,
    assessment_id integer not null,
    assessment_name varchar,
    level varchar,
    start_date date,
    end_date date,
    estimate_as_of date,
    estimate double,
    actual double,
    error double,
    naive double,
    naive_error double,
    measured integer
);
