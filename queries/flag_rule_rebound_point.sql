-- flag_rule_rebound_point: red-flag rule rebound_point (config/flags.toml) for each scope
-- of $scope_ids (an INTEGER[]) and each day as_of of $days (a DATE[]): points with at
-- least $min_rebounds rebounds (反弹, derived table problem_rebounds) found in the
-- $lookback_days days up to as_of, counting the rebounds that belong to the scope (the
-- point's 属地 unit or 主管 department, or the problem's 属地 unit or 责任单位, in its
-- subtree). The unit is the point's 属地 unit, the owner the 主管 department (else the
-- first rebound's 责任单位); deadline the nearest of those still open.
-- params: $scope_ids, $days, $lookback_days, $min_rebounds
with days as (
    select unnest($days::date[]) as as_of
),
members as (
    select scope_id, unit_id from scope_members($scope_ids)  -- derived.sql
),
rebound_problems as materialized (
    -- the few problems that are rebounds (problem_rebounds), joined before the days: a
    -- rebound is in as_of's window when it was found in it
    select
        p.point_id,
        pt.name as point_name,
        pt.unit_id as point_unit_id,
        pt.dept_id as point_dept_id,
        p.unit_id,
        p.dept_id,
        coalesce(pt.dept_id, p.dept_id) as owner_id,
        p.found_on,
        p.problem_id,
        p.deadline,
        p.rectified_on,
        coalesce(i.weight, 0)::double as weight
    from problem_rebounds r
    join problems p on p.problem_id = r.problem_id
    join points pt on pt.point_id = p.point_id
    left join indicators i on i.indicator_id = p.indicator_id
    where p.found_on <= (select max(as_of) from days)
),
rebounds as (
    select
        days.as_of,
        p.point_id,
        p.point_name,
        p.point_unit_id,
        p.point_dept_id,
        p.unit_id,
        p.dept_id,
        p.owner_id,
        p.found_on,
        p.problem_id,
        p.deadline,
        coalesce(p.rectified_on <= days.as_of, false) as is_rectified,
        p.weight
    from rebound_problems p
    join days on p.found_on between days.as_of - $lookback_days::integer and days.as_of
),
scoped as (
    -- each rebound once for every scope it belongs to
    select m.scope_id, r.as_of, r.problem_id
    from rebounds r join members m on m.unit_id = r.point_unit_id
    union
    select m.scope_id, r.as_of, r.problem_id
    from rebounds r join members m on m.unit_id = r.point_dept_id
    union
    select m.scope_id, r.as_of, r.problem_id
    from rebounds r join members m on m.unit_id = r.unit_id
    union
    select m.scope_id, r.as_of, r.problem_id
    from rebounds r join members m on m.unit_id = r.dept_id
)
select
    s.scope_id,
    r.as_of,
    first(r.point_unit_id order by r.found_on, r.problem_id) as unit_id,
    first(r.owner_id order by r.found_on, r.problem_id) as owner_id,
    r.point_id::varchar as subject,
    first(r.point_name order by r.found_on, r.problem_id) as point_name,
    count(*) as rebounds,
    count(*) filter (where not r.is_rectified) as still_open,
    min(r.deadline) filter (where not r.is_rectified) as deadline,
    max(r.weight) as weight
from scoped s
join rebounds r on r.as_of = s.as_of and r.problem_id = s.problem_id
group by s.scope_id, r.as_of, r.point_id
having count(*) >= $min_rebounds
order by s.scope_id, r.as_of, r.point_id
