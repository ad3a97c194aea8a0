-- flag_rule_overdue_problems: red-flag rule overdue_problems (config/flags.toml) for each
-- scope of $scope_ids (an INTEGER[]) and each day as_of of $days (a DATE[]): per 责任单位
-- (the 属地 unit when a problem has none), its overdue problems other than severe ones
-- among the problems of the scope (属地 unit or 责任单位 in its subtree), when there are
-- at least $min_count — so the count depends on the scope. deadline is the oldest one's,
-- weight the largest indicator weight.
-- params: $scope_ids, $days, $min_count
with days as (
    select unnest($days::date[]) as as_of
),
members as (
    select scope_id, unit_id from scope_members($scope_ids)  -- derived.sql
),
open_problems as materialized (
    -- the problems that can be overdue on one of the days (past their deadline by the
    -- last day, not rectified by the first), picked before they are joined with the days
    select problem_id, unit_id, dept_id, found_on, deadline, rectified_on, indicator_id
    from problems
    where severity is distinct from 'severe'
      and found_on <= (select max(as_of) from days)
      and deadline < (select max(as_of) from days)
      and not coalesce(rectified_on <= (select min(as_of) from days), false)
),
overdue as (
    select
        days.as_of,
        p.problem_id,
        p.unit_id,
        p.dept_id,
        coalesce(p.dept_id, p.unit_id) as owner_id,
        p.deadline,
        (days.as_of - p.deadline)::integer as days_overdue,
        coalesce(i.weight, 0)::double as weight
    from open_problems p
    join days on p.found_on <= days.as_of
      and p.deadline < days.as_of
      and not coalesce(p.rectified_on <= days.as_of, false)
    left join indicators i on i.indicator_id = p.indicator_id
),
scoped as (
    -- each overdue problem once for every scope it belongs to
    select m.scope_id, o.as_of, o.problem_id
    from overdue o
    join members m on m.unit_id = o.unit_id
    union
    select m.scope_id, o.as_of, o.problem_id
    from overdue o
    join members m on m.unit_id = o.dept_id
)
select
    s.scope_id,
    o.as_of,
    o.owner_id as unit_id,
    o.owner_id,
    '' as subject,
    count(*) as overdue,
    max(o.days_overdue) as longest_days,
    min(o.deadline) as deadline,
    max(o.weight) as weight
from scoped s
join overdue o on o.as_of = s.as_of and o.problem_id = s.problem_id
group by s.scope_id, o.as_of, o.owner_id
having count(*) >= $min_count
order by s.scope_id, o.as_of, o.owner_id
