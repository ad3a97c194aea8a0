-- flag_rebounds: rebounds (反弹) found in the $lookback_days days up to as_of, for each day
-- as_of of $days (a DATE[]) — found between as_of − $lookback_days and as_of: a problem whose
-- rebound_of is an earlier problem at the same point found at most 90 days before it
-- (the derived table problem_rebounds, derived.sql) — and each scope of $scope_ids (an
-- INTEGER[]) it belongs to: the point's 属地 unit or 主管 department, or the problem's 属地
-- unit or 责任单位, lies in the scope's subtree.
-- params: $scope_ids, $days, $lookback_days
with days as (
    select unnest($days::date[]) as as_of
),
members as (
    select scope_id, unit_id from scope_members($scope_ids)  -- derived.sql
),
rebound_problems as materialized (
    -- the few problems that are rebounds, picked before they are joined with the days
    select p.problem_id, p.found_on, pt.unit_id as point_unit_id,
        pt.dept_id as point_dept_id, p.unit_id, p.dept_id
    from problem_rebounds r
    join problems p on p.problem_id = r.problem_id
    join points pt on pt.point_id = p.point_id
    where p.found_on <= (select max(as_of) from days)
),
found as (
    select days.as_of, p.problem_id, p.point_unit_id, p.point_dept_id, p.unit_id, p.dept_id
    from rebound_problems p
    join days on p.found_on between days.as_of - $lookback_days::integer and days.as_of
),
scoped as (
    -- each rebound once for every scope it belongs to
    select m.scope_id, f.as_of, f.problem_id
    from found f join members m on m.unit_id = f.point_unit_id
    union
    select m.scope_id, f.as_of, f.problem_id
    from found f join members m on m.unit_id = f.point_dept_id
    union
    select m.scope_id, f.as_of, f.problem_id
    from found f join members m on m.unit_id = f.unit_id
    union
    select m.scope_id, f.as_of, f.problem_id
    from found f join members m on m.unit_id = f.dept_id
)
select
    s.scope_id,
    s.as_of,
    p.point_id,
    pt.name as point_name,
    pt.type as point_type,
    pt.unit_id as point_unit_id,
    coalesce(pt.dept_id, p.dept_id) as owner_id,
    p.problem_id,
    p.found_on,
    p.deadline,
    coalesce(p.rectified_on <= s.as_of, false) as is_rectified,
    q.problem_id as earlier_problem_id,
    q.found_on as earlier_found_on,
    r.gap_days,
    p.category,
    p.indicator_id,
    coalesce(i.weight, 0) as weight
from scoped s
join problem_rebounds r on r.problem_id = s.problem_id
join problems p on p.problem_id = r.problem_id
join problems q on q.problem_id = r.earlier_problem_id
join points pt on pt.point_id = p.point_id
left join indicators i on i.indicator_id = p.indicator_id
order by s.scope_id, s.as_of, p.point_id, p.found_on, p.problem_id
