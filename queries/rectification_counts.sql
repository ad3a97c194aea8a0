-- rectification_counts: the counts behind 整改率, 按期整改率, 逾期, 销号率 and 反弹 for each
-- unit ranked at $level under $scope_id ($level = 'self' means the scope unit itself).
-- A problem belongs to a unit when its 属地 unit or its 责任单位 lies in the unit's subtree.
-- One row per day of $days (a DATE[]; `as_of` in the result) and unit.
-- Each count is the running sum to as_of of the derived table problem_daily, which holds
-- per unit and day the problems entering that count (see dashboard/derived.sql):
--   found ≤ as_of; rectified ≤ as_of; due: deadline ≤ as_of; on time: rectified ≤ deadline;
--   overdue: deadline < as_of and not rectified by as_of; closed ≤ as_of; rebounds (90 days).
-- params: $scope_id, $level, $days
with days as (
    select unnest($days::date[]) as as_of
),
ranked as (
    select u.unit_id
    from unit_tree t
    join units u on u.unit_id = t.descendant_id
    where t.ancestor_id = $scope_id
      and (($level = 'self' and t.depth = 0) or ($level <> 'self' and u.kind = $level))
),
sums as (
    select
        days.as_of,
        d.unit_id,
        sum(d.found) as found,
        sum(d.rectified) as rectified,
        sum(d.due) as due,
        sum(d.on_time) as rectified_on_time,
        sum(d.past_deadline) - sum(d.past_deadline_rectified) as overdue,
        sum(d.past_deadline_severe) - sum(d.past_deadline_rectified_severe) as overdue_severe,
        sum(d.closed) as closed,
        sum(d.rebounds) as rebounds
    from problem_daily d
    join days on d.day <= days.as_of
    where d.unit_id in (select unit_id from ranked)
    group by days.as_of, d.unit_id
)
select
    days.as_of,
    r.unit_id,
    coalesce(s.found, 0)::bigint as found,
    coalesce(s.rectified, 0)::bigint as rectified,
    coalesce(s.due, 0)::bigint as due,
    coalesce(s.rectified_on_time, 0)::bigint as rectified_on_time,
    coalesce(s.overdue, 0)::bigint as overdue,
    coalesce(s.overdue_severe, 0)::bigint as overdue_severe,
    coalesce(s.closed, 0)::bigint as closed,
    coalesce(s.rebounds, 0)::bigint as rebounds
from days
cross join ranked r
left join sums s on s.as_of = days.as_of and s.unit_id = r.unit_id
order by days.as_of, r.unit_id
