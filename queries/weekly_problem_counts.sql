-- weekly_problem_counts: per unit ranked at $level under $scope_id, the problems newly
-- found, newly rectified and newly overdue in the week $week_start..$week_end.
-- Newly overdue = the first day the problem counts as 逾期 falls in the week: that day is
-- greatest(deadline + 1, found_on) and the problem is not rectified by then (DESIGN §4:
-- overdue at d = found by d, deadline < d, not rectified by d).
-- A problem belongs to a unit when its 属地 unit or its 责任单位 lies in the unit's subtree.
-- Only problems with an event in the week are attributed to units (the others count
-- nowhere): a few hundred rows joined to the tree instead of every problem.
-- params: $scope_id, $level, $week_start, $week_end
with ranked as (
    select u.unit_id
    from unit_tree t
    join units u on u.unit_id = t.descendant_id
    where t.ancestor_id = $scope_id
      and (($level = 'self' and t.depth = 0) or ($level <> 'self' and u.kind = $level))
),
facts as (
    select
        p.problem_id,
        p.unit_id,
        p.dept_id,
        p.severity,
        p.rectified_on,
        p.found_on between $week_start and $week_end as is_new,
        coalesce(p.rectified_on between $week_start and $week_end, false) as is_rectified,
        greatest(p.deadline + 1, p.found_on) as overdue_from
    from problems p
    where p.found_on <= $week_end
),
events as (
    select
        *,
        overdue_from between $week_start and $week_end
            and not coalesce(rectified_on <= overdue_from, false) as is_newly_overdue
    from facts
),
in_week as (
    select * from events where is_new or is_rectified or is_newly_overdue
),
attributed as (
    select r.unit_id as rank_unit_id, e.problem_id
    from ranked r
    join unit_tree t on t.ancestor_id = r.unit_id
    join in_week e on e.unit_id = t.descendant_id
    union
    select r.unit_id as rank_unit_id, e.problem_id
    from ranked r
    join unit_tree t on t.ancestor_id = r.unit_id
    join in_week e on e.dept_id = t.descendant_id
)
select
    r.unit_id,
    count(*) filter (where e.is_new) as found_in_week,
    count(*) filter (where e.is_rectified) as rectified_in_week,
    count(*) filter (where e.is_newly_overdue) as newly_overdue,
    count(*) filter (where e.is_newly_overdue and e.severity = 'severe') as newly_overdue_severe
from ranked r
left join attributed a on a.rank_unit_id = r.unit_id
left join in_week e on e.problem_id = a.problem_id
group by r.unit_id
order by r.unit_id
