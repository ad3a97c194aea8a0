-- sim_backtest_field_counts: the counts of queries/sim_field_states.sql for many scopes — per
-- scope_id of $scope_ids (an INTEGER[]), day as_of of $days (a DATE[]), field indicator,
-- fixed / random point and point type: how many (point, indicator) pairs are observed (latest
-- check on or before as_of, made within $lookback_days days) and how many of them fail as
-- they stand (the check failed and the problem it raised is not rectified by as_of, or a
-- problem there found on or after the check is still open at as_of). The same rule as
-- sim_field_states.sql (tests/test_simulator.py checks they agree for every scope); read
-- only when a snapshot is written, to precompute the 测算 backtest (derived table sim_backtest).
-- A point belongs to a scope when its 属地 unit or its 主管 department lies in the subtree.
-- params: $scope_ids, $days, $lookback_days
with days as (
    select unnest($days::date[]) as as_of
),
scopes as (
    select unnest($scope_ids::integer[]) as scope_id
),
point_scopes as (
    select t.ancestor_id as scope_id, p.point_id
    from points p
    join unit_tree t on t.descendant_id = p.unit_id
    where t.ancestor_id in (select scope_id from scopes)
    union
    select t.ancestor_id as scope_id, p.point_id
    from points p
    join unit_tree t on t.descendant_id = p.dept_id
    where t.ancestor_id in (select scope_id from scopes)
),
latest as (
    -- point_check_spans (derived.sql): the check in force at as_of, without a window
    select days.as_of, c.point_id, c.indicator_id, c.checked_on, c.passed, c.problem_id
    from point_check_spans c
    join days on c.checked_on between days.as_of - $lookback_days::integer and days.as_of
      and (c.next_checked_on is null or c.next_checked_on > days.as_of)
    where c.point_id in (select point_id from point_scopes)
),
still_open as (
    select distinct l.as_of, l.point_id, l.indicator_id
    from latest l
    join problems p on p.point_id = l.point_id
      and p.indicator_id = l.indicator_id
      and p.found_on >= l.checked_on
      and p.found_on <= l.as_of
      and not coalesce(p.rectified_on <= l.as_of, false)
),
judged as (
    select
        l.as_of,
        l.point_id,
        l.indicator_id,
        (not l.passed and not coalesce(raised.rectified_on <= l.as_of, false))
            or o.point_id is not null as failing
    from latest l
    left join problems raised on raised.problem_id = l.problem_id
    left join still_open o on o.as_of = l.as_of
      and o.point_id = l.point_id
      and o.indicator_id = l.indicator_id
)
select
    s.scope_id,
    j.as_of,
    j.indicator_id,
    pt.is_fixed,
    pt.type as point_type,
    count(*) as observed,
    count(*) filter (where j.failing) as failing
from judged j
join point_scopes s on s.point_id = j.point_id
join points pt on pt.point_id = j.point_id
group by all
order by all
