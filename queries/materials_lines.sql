-- materials_lines: the latest 台账 line per (unit, indicator) reported on or before
-- $as_of for every unit under $scope_id, with completed items (approved where tracked,
-- submitted otherwise), the deadline, days left to it and the indicator's weight.
-- Read by the red-flag rules and by the unit view's "still missing" list.
-- params: $scope_id, $as_of
with members as (
    select descendant_id as unit_id
    from unit_tree
    where ancestor_id = $scope_id
),
latest as (
    -- material_spans (derived.sql): the line in force at $as_of, without a window
    select * exclude (next_updated_on)
    from material_spans
    where updated_on <= $as_of
      and (next_updated_on is null or next_updated_on > $as_of)
      and unit_id in (select unit_id from members)
)
select
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
    (l.deadline - $as_of)::integer as days_left,
    l.updated_on
from latest l
join units u on u.unit_id = l.unit_id
left join indicators i on i.indicator_id = l.indicator_id
where l.required > 0
order by l.deadline, l.unit_id, l.indicator_id
