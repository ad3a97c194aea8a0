-- sim_field_counts: per day as_of of $days (a DATE[]), field indicator, fixed / random
-- point and point type of $scope_id: how many (point, indicator) pairs are observed (latest
-- check on or before as_of, made within $lookback_days days) and how many of them fail as
-- they stand — the check failed and the problem it raised (if any) is not rectified by
-- as_of, or a problem there found on or after the check is still open at as_of. The field
-- measure of the 测算 estimate and its backtest; the same rule as
-- queries/sim_field_failures.sql (tests/test_simulator.py checks they agree).
-- A point belongs to the scope when its 属地 unit or its 主管 department lies in the subtree.
-- params: $scope_id, $days, $lookback_days
with days as (
    select unnest($days::date[]) as as_of
),
members as (
    select descendant_id as unit_id
    from unit_tree
    where ancestor_id = $scope_id
),
pts as (
    select point_id, name, type, unit_id, dept_id, is_fixed
    from points
    where unit_id in (select unit_id from members) or dept_id in (select unit_id from members)
),
latest as (
    -- point_check_spans (derived.sql): the check in force at as_of, without a window
    select days.as_of, c.point_id, c.indicator_id, c.checked_on, c.passed, c.problem_id
    from point_check_spans c
    join pts using (point_id)
    join days on c.checked_on between days.as_of - $lookback_days::integer and days.as_of
      and (c.next_checked_on is null or c.next_checked_on > days.as_of)
),
still_open as (
    select distinct l.as_of, l.point_id, l.indicator_id
    from latest l
    join problems p on p.point_id = l.point_id
      and p.indicator_id = l.indicator_id
      and p.found_on >= l.checked_on
      and p.found_on <= l.as_of
      and not coalesce(p.rectified_on <= l.as_of, false)
)
select
    l.as_of,
    l.indicator_id,
    pt.is_fixed,
    pt.type as point_type,
    count(*) as observed,
    count(*) filter (
        where (not l.passed and not coalesce(raised.rectified_on <= l.as_of, false))
           or o.point_id is not null
    ) as failing
from latest l
join pts pt on pt.point_id = l.point_id
left join problems raised on raised.problem_id = l.problem_id
left join still_open o on o.as_of = l.as_of
  and o.point_id = l.point_id
  and o.indicator_id = l.indicator_id
group by all
order by all
