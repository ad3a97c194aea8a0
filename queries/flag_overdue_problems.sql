-- flag_overdue_problems: every problem overdue at as_of (found on or before it, not
-- rectified by it, deadline before it), for each day as_of of $days (a DATE[]), that
-- belongs to $scope_id — its 属地 unit or its
-- 责任单位 lies in the scope's subtree — with its point, owners, indicator and weight.
-- params: $scope_id, $days
with days as (
    select unnest($days::date[]) as as_of
),
members as (
    select descendant_id as unit_id
    from unit_tree
    where ancestor_id = $scope_id
)
select
    days.as_of,
    p.problem_id,
    p.found_on,
    p.deadline,
    (days.as_of - p.deadline)::integer as days_overdue,
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
from problems p
join days on p.found_on <= days.as_of
  and p.deadline < days.as_of
  and not coalesce(p.rectified_on <= days.as_of, false)
left join points pt on pt.point_id = p.point_id
left join units u on u.unit_id = p.unit_id
left join units d on d.unit_id = p.dept_id
left join indicators i on i.indicator_id = p.indicator_id
where (p.unit_id in (select unit_id from members) or p.dept_id in (select unit_id from members))
order by days.as_of, p.deadline, p.problem_id
