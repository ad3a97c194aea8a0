-- unit_materials_open: the 台账 lines of $unit_id's subtree still short at $as_of — the
-- latest line per (unit, indicator) reported on or before $as_of whose completed items
-- (approved where approval is tracked, submitted otherwise) are fewer than required.
-- params: $unit_id, $as_of
with members as (
    select descendant_id as member_id
    from unit_tree
    where ancestor_id = $unit_id
),
latest as (
    -- material_spans (derived.sql): the line in force at $as_of, without a window
    select * exclude (next_updated_on)
    from material_spans
    where updated_on <= $as_of
      and (next_updated_on is null or next_updated_on > $as_of)
      and unit_id in (select member_id from members)
)
select
    l.unit_id,
    u.name as unit_name,
    l.indicator_id,
    i.code as indicator_code,
    i.name as indicator_name,
    l.required,
    coalesce(l.approved, l.submitted) as completed,
    l.required - coalesce(l.approved, l.submitted) as missing,
    l.approved is not null as approval_tracked,
    l.deadline,
    l.updated_on
from latest l
join units u on u.unit_id = l.unit_id
left join indicators i on i.indicator_id = l.indicator_id
where coalesce(l.approved, l.submitted) < l.required
order by l.deadline, u.sort_order, l.unit_id, i.code
