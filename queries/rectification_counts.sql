-- rectification_counts: the counts behind 整改率, 按期整改率, 逾期, 销号率 and 反弹 for each
-- unit ranked at $level under $scope_id ($level = 'self' means the scope unit itself).
-- A problem belongs to a unit when its 属地 unit or its 责任单位 lies in the unit's subtree.
-- Each count is the running sum to $as_of of the derived table problem_daily, which holds
-- per unit and day the problems entering that count (see dashboard/derived.sql):
--   found ≤ as_of; rectified ≤ as_of; due: deadline ≤ as_of; on time: rectified ≤ deadline;
--   overdue: deadline < as_of and not rectified by as_of; closed ≤ as_of; rebounds (90 days).
-- params: $scope_id, $level, $as_of
with ranked as (
    select u.unit_id
    from unit_tree t
    join units u on u.unit_id = t.descendant_id
    where t.ancestor_id = $scope_id
      and (($level = 'self' and t.depth = 0) or ($level <> 'self' and u.kind = $level))
),
sums as (
    select
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
    where d.unit_id in (select unit_id from ranked) and d.day <= $as_of
    group by d.unit_id
)
select
    r.unit_id,
    coalesce(s.found, 0)::bigint as found,
    coalesce(s.rectified, 0)::bigint as rectified,
    coalesce(s.due, 0)::bigint as due,
    coalesce(s.rectified_on_time, 0)::bigint as rectified_on_time,
    coalesce(s.overdue, 0)::bigint as overdue,
    coalesce(s.overdue_severe, 0)::bigint as overdue_severe,
    coalesce(s.closed, 0)::bigint as closed,
    coalesce(s.rebounds, 0)::bigint as rebounds
from ranked r
left join sums s on s.unit_id = r.unit_id
order by r.unit_id
