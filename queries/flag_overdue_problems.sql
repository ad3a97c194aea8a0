-- flag_overdue_problems: every problem overdue at as_of (found on or before it, not
-- rectified by it, deadline before it), for each day as_of of $days (a DATE[]) and each
-- scope of $scope_ids (an INTEGER[]) it belongs to — its 属地 unit or its 责任单位 lies in
-- the scope's subtree — with its point, owners, indicator and weight.
-- params: $scope_ids, $days
with days as (
    select unnest($days::date[]) as as_of
),
members as (
    select scope_id, unit_id from scope_members($scope_ids)  -- derived.sql
),
overdue as (
    select days.as_of, p.problem_id, p.unit_id, p.dept_id
    from problems p
    join days on p.found_on <= days.as_of
      and p.deadline < days.as_of
      and not coalesce(p.rectified_on <= days.as_of, false)
),
scoped as (
    -- each overdue problem once for every scope it belongs to
    select m.scope_id, o.as_of, o.problem_id
    from overdue o join members m on m.unit_id = o.unit_id
    union
    select m.scope_id, o.as_of, o.problem_id
    from overdue o join members m on m.unit_id = o.dept_id
)
select
    s.scope_id,
    s.as_of,
    p.problem_id,
    p.found_on,
    p.deadline,
    (s.as_of - p.deadline)::integer as days_overdue,
    p.severity,
    p.source,
    p.category,
    p.description,
    p.point_id,
    pt.name as point_name,
    p.unit_id,
    u.name as unit_name,
    p.dept_id,
    d.name as dept_name,
    p.indicator_id,
    i.name as indicator_name,
    coalesce(i.weight, 0) as weight
from scoped s
join problems p on p.problem_id = s.problem_id
left join points pt on pt.point_id = p.point_id
left join units u on u.unit_id = p.unit_id
left join units d on d.unit_id = p.dept_id
left join indicators i on i.indicator_id = p.indicator_id
order by s.scope_id, s.as_of, p.deadline, p.problem_id
