-- rank_open_problems: the problems of one unit still open at $as_of (found on or before it,
-- not rectified by it), most overdue first. A problem belongs to the unit when its 属地
-- unit or its 责任单位 lies in the unit's subtree (as in rectification_counts).
-- params: $unit_id, $as_of
with members as (
    select descendant_id as unit_id
    from unit_tree
    where ancestor_id = $unit_id
)
select
    p.problem_id,
    p.found_on,
    p.source,
    p.category,
    p.description,
    p.severity,
    p.deadline,
    greatest(($as_of - p.deadline), 0)::integer as days_overdue,
    p.deadline < $as_of as is_overdue,
    loc.name as location_unit,
    dept.name as responsible_unit,
    pt.name as point_name
from problems p
left join units loc on loc.unit_id = p.unit_id
left join units dept on dept.unit_id = p.dept_id
left join points pt on pt.point_id = p.point_id
where p.found_on <= $as_of
  and not coalesce(p.rectified_on <= $as_of, false)
  and (p.unit_id in (select unit_id from members) or p.dept_id in (select unit_id from members))
order by p.deadline, p.severity = 'severe' desc, p.problem_id
