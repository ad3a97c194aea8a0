-- flag_rule_overdue_severe: red-flag rule overdue_severe (config/flags.toml) for each day
-- as_of of $days (a DATE[]): every severe problem of $scope_id (属地 unit or 责任单位 in
-- its subtree) overdue at as_of by at least $min_days days, one row each, owned by its
-- 责任单位 (its 属地 unit when it has none). Rows in the order the flags are listed.
-- params: $scope_id, $days, $min_days
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
    p.unit_id,
    coalesce(p.dept_id, p.unit_id) as owner_id,
    p.problem_id::varchar as subject,
    (days.as_of - p.deadline)::integer as days_overdue,
    p.deadline,
    p.category,
    coalesce(i.weight, 0)::double as weight
from problems p
join days on p.found_on <= days.as_of
  and p.deadline < days.as_of
  and not coalesce(p.rectified_on <= days.as_of, false)
left join indicators i on i.indicator_id = p.indicator_id
where p.severity = 'severe'
  and (days.as_of - p.deadline)::integer >= $min_days
  and (p.unit_id in (select unit_id from members) or p.dept_id in (select unit_id from members))
order by days.as_of, p.deadline, p.problem_id
