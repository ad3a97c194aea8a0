-- flag_random_pool: each random-pool point (随机点位) of $scope_id checked in the
-- $lookback_days days up to as_of, for each day as_of of $days (a DATE[]), with whether
-- it passed every indicator at its latest check of each (static and dynamic) — the per-type pass rate behind the "failed draw" risk.
-- A point belongs to the scope when its 属地 unit or 主管 department lies in the subtree.
-- params: $scope_id, $days, $lookback_days
with days as (
    select unnest($days::date[]) as as_of
),
members as (
    select descendant_id as unit_id
    from unit_tree
    where ancestor_id = $scope_id
),
pool as (
    select point_id, name, type, unit_id, dept_id
    from points
    where not is_fixed
      and (unit_id in (select unit_id from members) or dept_id in (select unit_id from members))
),
latest as (
    -- the check in force at as_of (point_check_spans, derived.sql) if made within the
    -- look-back: the same as the latest check in the window
    select days.as_of, c.point_id, c.indicator_id, c.checked_on, c.passed
    from point_check_spans c
    join pool using (point_id)
    join days on c.checked_on between days.as_of - $lookback_days::integer and days.as_of
      and (c.next_checked_on is null or c.next_checked_on > days.as_of)
)
select
    l.as_of,
    p.point_id,
    p.name as point_name,
    p.type as point_type,
    p.unit_id,
    p.dept_id,
    count(*) as indicators_checked,
    count(*) filter (where not l.passed) as indicators_failed,
    bool_and(l.passed) as passed_all,
    max(l.checked_on) as last_checked
from latest l
join pool p using (point_id)
group by all
order by l.as_of, p.type, p.point_id
