-- flag_rule_rebound_point: red-flag rule rebound_point (config/flags.toml) for each day
-- as_of of $days (a DATE[]): points with at least $min_rebounds rebounds (反弹, derived
-- table problem_rebounds) found in the $lookback_days days up to as_of, counting the
-- rebounds that belong to $scope_id (the point's 属地 unit or 主管 department, or the
-- problem's 属地 unit or 责任单位, in its subtree). The unit is the point's 属地 unit, the
-- owner the 主管 department (else the first rebound's 责任单位); deadline the nearest of
-- those still open.
-- params: $scope_id, $days, $lookback_days, $min_rebounds
with days as (
    select unnest($days::date[]) as as_of
),
members as (
    select descendant_id as unit_id
    from unit_tree
    where ancestor_id = $scope_id
),
rebounds as (
    select
        days.as_of,
        p.point_id,
        pt.name as point_name,
        pt.unit_id as point_unit_id,
        coalesce(pt.dept_id, p.dept_id) as owner_id,
        p.found_on,
        p.problem_id,
        p.deadline,
        coalesce(p.rectified_on <= days.as_of, false) as is_rectified,
        coalesce(i.weight, 0)::double as weight
    from problem_rebounds r
    join problems p on p.problem_id = r.problem_id
    join problems q on q.problem_id = r.earlier_problem_id
    join points pt on pt.point_id = p.point_id
    join days on p.found_on between days.as_of - $lookback_days::integer and days.as_of
    left join indicators i on i.indicator_id = p.indicator_id
    where (pt.unit_id in (select unit_id from members)
           or pt.dept_id in (select unit_id from members)
           or p.unit_id in (select unit_id from members)
           or p.dept_id in (select unit_id from members))
)
select
    as_of,
    first(point_unit_id order by found_on, problem_id) as unit_id,
    first(owner_id order by found_on, problem_id) as owner_id,
    point_id::varchar as subject,
    first(point_name order by found_on, problem_id) as point_name,
    count(*) as rebounds,
    count(*) filter (where not is_rectified) as still_open,
    min(deadline) filter (where not is_rectified) as deadline,
    max(weight) as weight
from rebounds
group by as_of, point_id
having count(*) >= $min_rebounds
order by as_of, point_id
