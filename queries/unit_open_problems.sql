-- unit_open_problems: the problems of $unit_id's subtree that are still open at $as_of
-- (found on or before $as_of, not rectified by then), with their 属地 unit, 责任单位, point
-- and indicator. A problem belongs to the unit when its 属地 unit_id OR its 责任单位
-- dept_id lies in the unit's subtree; `as_territory` / `as_owner` say which.
-- params: $unit_id, $as_of
with members as (
    select descendant_id as member_id
    from unit_tree
    where ancestor_id = $unit_id
),
open_problems as (
    select p.*
    from problems p
    where p.found_on <= $as_of
      and not coalesce(p.rectified_on <= $as_of, false)
      and (p.unit_id in (select member_id from members)
           or p.dept_id in (select member_id from members))
)
select
    p.problem_id,
    p.found_on,
    p.source,
    p.severity,
    p.category,
    p.description,
    p.deadline,
    p.is_dynamic,
    p.rebound_of,
    p.unit_id,
    tu.name as unit_name,
    p.dept_id,
    du.name as dept_name,
    pt.name as point_name,
    i.code as indicator_code,
    i.name as indicator_name,
    p.unit_id in (select member_id from members) as as_territory,
    coalesce(p.dept_id in (select member_id from members), false) as as_owner
from open_problems p
join units tu on tu.unit_id = p.unit_id
left join units du on du.unit_id = p.dept_id
left join points pt on pt.point_id = p.point_id
left join indicators i on i.indicator_id = p.indicator_id
order by p.deadline, p.severity = 'severe' desc, p.found_on, p.problem_id
