-- materials_lines: the latest 台账 line per (unit, indicator) reported on or before
-- as_of, for each day as_of of $days (a DATE[]), for every unit under $scope_id, with completed items (approved where tracked,
-- submitted otherwise), the deadline, days left to it and the indicator's weight.
-- Read by the red-flag rules and by the unit view's "still missing" list.
-- params: $scope_id, $days
with days as (
    select unnest($days::date[]) as as_of
),
members as (
    select descendant_id as unit_id
    from unit_tree
    where ancestor_id = $scope_id
),
latest as (
    -- material_spans (derived.sql): the line in force at as_of, without a window
    select days.as_of, s.* exclude (next_updated_on)
    from material_spans s
    join days on s.updated_on <= days.as_of
      and (s.next_updated_on is null or s.next_updated_on > days.as_of)
    where s.unit_id in (select unit_id from members)
)
select
    l.as_of,
    l.unit_id,
    u.name as unit_name,
    u.sort_order as unit_sort_order,
    l.indicator_id,
    i.code as indicator_code,
    i.name as indicator_name,
    coalesce(i.weight, 0) as weight,
    l.required,
    coalesce(l.approved, l.submitted) as completed,
    l.submitted,
    l.approved,
    l.deadline,
    (l.deadline - l.as_of)::integer as days_left,
    l.updated_on
from latest l
join units u on u.unit_id = l.unit_id
left join indicators i on i.indicator_id = l.indicator_id
where l.required > 0
order by l.as_of, l.deadline, l.unit_id, l.indicator_id
