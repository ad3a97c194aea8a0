-- flag_rule_overdue_problems: red-flag rule overdue_problems (config/flags.toml) for each
-- day as_of of $days (a DATE[]): per 责任单位 (the 属地 unit when a problem has none), its
-- overdue problems other than severe ones among the problems of $scope_id (属地 unit or
-- 责任单位 in its subtree), when there are at least $min_count — so the count depends on
-- the scope. deadline is the oldest one's, weight the largest indicator weight.
-- params: $scope_id, $days, $min_count
with days as (
    select unnest($days::date[]) as as_of
),
members as (
    select descendant_id as unit_id
    from unit_tree
    where ancestor_id = $scope_id
),
overdue as (
    select
        days.as_of,
        coalesce(p.dept_id, p.unit_id) as owner_id,
        p.deadline,
        (days.as_of - p.deadline)::integer as days_overdue,
        coalesce(i.weight, 0)::double as weight
    from problems p
    join days on p.found_on <= days.as_of
      and p.deadline < days.as_of
      and not coalesce(p.rectified_on <= days.as_of, false)
    left join indicators i on i.indicator_id = p.indicator_id
    where p.severity is distinct from 'severe'
      and (p.unit_id in (select unit_id from members) or p.dept_id in (select unit_id from members))
)
select
    as_of,
    owner_id as unit_id,
    owner_id,
    '' as subject,
    count(*) as overdue,
    max(days_overdue) as longest_days,
    min(deadline) as deadline,
    max(weight) as weight
from overdue
group by as_of, owner_id
having count(*) >= $min_count
order by as_of, owner_id
