-- flag_rule_materials_zero: red-flag rule materials_zero (config/flags.toml) for each day
-- as_of of $days (a DATE[]): per unit under $scope_id, its latest 台账 lines (material_spans,
-- as in materials_lines.sql) at 0% that are due within $within_days days of as_of or past
-- due. deadline / days_left are the nearest line's; weight the largest indicator weight.
-- params: $scope_id, $days, $within_days
with days as (
    select unnest($days::date[]) as as_of
),
members as (
    select descendant_id as unit_id
    from unit_tree
    where ancestor_id = $scope_id
),
lines as (
    select
        days.as_of,
        s.unit_id,
        s.required,
        coalesce(s.approved, s.submitted) as completed,
        s.deadline,
        (s.deadline - days.as_of)::integer as days_left,
        coalesce(i.weight, 0)::double as weight
    from material_spans s
    join days on s.updated_on <= days.as_of
      and (s.next_updated_on is null or s.next_updated_on > days.as_of)
    left join indicators i on i.indicator_id = s.indicator_id
    where s.unit_id in (select unit_id from members)
      and s.required > 0
      and (s.deadline - days.as_of)::integer <= $within_days
)
select
    as_of,
    unit_id,
    unit_id as owner_id,
    '' as subject,
    count(*) as lines,
    sum(required)::bigint as required,
    sum(completed)::bigint as completed,
    min(deadline) as deadline,
    min(days_left) as days_left,
    max(weight) as weight
from lines
where completed = 0
group by as_of, unit_id
order by as_of, unit_id
