-- weekly_problem_counts: per unit ranked at each of $levels under $scope_id ('self' = the
-- scope unit itself) and per week of $week_starts (each Monday; the week runs to the
-- Sunday, week_start + 6), the problems newly found, newly rectified and newly overdue in
-- the week. One row per (level, week_start, unit_id), in that order.
-- Newly overdue = the first day the problem counts as 逾期 falls in the week: that day is
-- greatest(deadline + 1, found_on) and the problem is not rectified by then (DESIGN §4:
-- overdue at d = found by d, deadline < d, not rectified by d).
-- A problem belongs to a unit when its 属地 unit or its 责任单位 lies in the unit's subtree.
-- Only problems with an event in a week are attributed to units (the others count
-- nowhere): a few hundred rows joined to the tree instead of every problem.
-- params: $scope_id, $levels, $week_starts
with weeks as (
    select week_start, week_start + 6 as week_end
    from (select unnest($week_starts::date[]) as week_start)
),
levels as (
    select unnest($levels::varchar[]) as level
),
ranked as (
    select l.level, u.unit_id
    from unit_tree t
    join units u on u.unit_id = t.descendant_id
    join levels l
      on (l.level = 'self' and t.depth = 0) or (l.level <> 'self' and u.kind = l.level)
    where t.ancestor_id = $scope_id
),
facts as (
    select
        w.week_start,
        w.week_end,
        p.problem_id,
        p.unit_id,
        p.dept_id,
        p.severity,
        p.rectified_on,
        p.found_on between w.week_start and w.week_end as is_new,
        coalesce(p.rectified_on between w.week_start and w.week_end, false) as is_rectified,
        greatest(p.deadline + 1, p.found_on) as overdue_from
    from problems p
    join weeks w on p.found_on <= w.week_end
),
events as (
    select
        *,
        overdue_from between week_start and week_end
            and not coalesce(rectified_on <= overdue_from, false) as is_newly_overdue
    from facts
),
in_week as (
    select * from events where is_new or is_rectified or is_newly_overdue
),
attributed as (
    select r.level, r.unit_id as rank_unit_id, e.week_start, e.problem_id
    from ranked r
    join unit_tree t on t.ancestor_id = r.unit_id
    join in_week e on e.unit_id = t.descendant_id
    union
    select r.level, r.unit_id as rank_unit_id, e.week_start, e.problem_id
    from ranked r
    join unit_tree t on t.ancestor_id = r.unit_id
    join in_week e on e.dept_id = t.descendant_id
)
select
    r.level,
    w.week_start,
    r.unit_id,
    count(*) filter (where e.is_new) as found_in_week,
    count(*) filter (where e.is_rectified) as rectified_in_week,
    count(*) filter (where e.is_newly_overdue) as newly_overdue,
    count(*) filter (where e.is_newly_overdue and e.severity = 'severe') as newly_overdue_severe
from ranked r
cross join weeks w
left join attributed a
  on a.level = r.level and a.rank_unit_id = r.unit_id and a.week_start = w.week_start
left join in_week e on e.problem_id = a.problem_id and e.week_start = a.week_start
group by r.level, w.week_start, r.unit_id
order by r.level, w.week_start, r.unit_id
