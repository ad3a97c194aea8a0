-- flag_random_pool: each random-pool point (随机点位) checked in the $lookback_days days up
-- to as_of, for each day as_of of $days (a DATE[]) and each scope of $scope_ids (an
-- INTEGER[]) it belongs to — its 属地 unit or 主管 department lies in the scope's subtree —
-- with whether it passed every indicator at its latest check of each (static and dynamic):
-- the per-type pass rate behind the "failed draw" risk.
-- params: $scope_ids, $days, $lookback_days
with days as (
    select unnest($days::date[]) as as_of
),
members as (
    select scope_id, unit_id from scope_members($scope_ids)  -- derived.sql
),
latest as (
    -- the check in force at as_of (point_check_spans, derived.sql) if made within the
    -- look-back: the same as the latest check in the window
    select days.as_of, c.point_id, c.indicator_id, c.checked_on, c.passed
    from point_check_spans c
    join points p on p.point_id = c.point_id and not p.is_fixed
    join days on c.checked_on between days.as_of - $lookback_days::integer and days.as_of
      and (c.next_checked_on is null or c.next_checked_on > days.as_of)
),
checked as (
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
    join points p using (point_id)
    group by all
),
scoped as (
    -- each point once for every scope it belongs to
    select m.scope_id, c.as_of, c.point_id
    from checked c join members m on m.unit_id = c.unit_id
    union
    select m.scope_id, c.as_of, c.point_id
    from checked c join members m on m.unit_id = c.dept_id
)
select s.scope_id, c.*
from scoped s
join checked c on c.as_of = s.as_of and c.point_id = s.point_id
order by s.scope_id, c.as_of, c.point_type, c.point_id
