-- weekly_problem_counts: per unit ranked at $level under $scope_id, the problems newly
-- found, newly rectified and newly overdue in the week $week_start..$week_end.
-- Newly overdue = the first day the problem counts as 逾期 falls in the week: that day is
-- greatest(deadline + 1, found_on) and the problem is not rectified by then (DESIGN §4:
-- overdue at d = found by d, deadline < d, not rectified by d).
-- A problem belongs to a unit when its 属地 unit or its 责任单位 lies in the unit's subtree.
-- params: $scope_id, $level, $week_start, $week_end
with ranked as (
    select u.unit_id
    from unit_tree t
    join units u on u.unit_id = t.descendant_id
    where t.ancestor_id = $scope_id
      and (($level = 'self' and t.depth = 0) or ($level <> 'self' and u.kind = $level))
),
members as (
    select r.unit_id as rank_unit_id, t.descendant_id as member_id
    from ranked r
    join unit_tree t on t.ancestor_id = r.unit_id
),
attributed as (
    select m.rank_unit_id, p.problem_id
    from members m
    join problems p on p.unit_id = m.member_id
    where p.found_on <= $week_end
    union
    select m.rank_unit_id, p.problem_id
    from members m
    join problems p on p.dept_id = m.member_id
    where p.found_on <= $week_end
),
facts as (
    select
        a.rank_unit_id,
        p.severity,
        p.rectified_on,
        p.found_on between $week_start and $week_end as is_new,
        coalesce(p.rectified_on between $week_start and $week_end, false) as is_rectified,
        greatest(p.deadline + 1, p.found_on) as overdue_from
    from attributed a
    join problems p on p.problem_id = a.problem_id
),
events as (
    select
        *,
        overdue_from between $week_start and $week_end
            and not coalesce(rectified_on <= overdue_from, false) as is_newly_overdue
    from facts
)
select
    r.unit_id,
    count(*) filter (where e.is_new) as found_in_week,
    count(*) filter (where e.is_rectified) as rectified_in_week,
    count(*) filter (where e.is_newly_overdue) as newly_overdue,
    count(*) filter (where e.is_newly_overdue and e.severity = 'severe') as newly_overdue_severe
from ranked r
left join events e on e.rank_unit_id = r.unit_id
group by r.unit_id
order by r.unit_id
