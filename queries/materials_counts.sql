-- materials_counts: 台账 completion per unit ranked at $level under $scope_id, from the
-- latest ledger line per (unit, indicator) reported on or before as_of, for each day
-- as_of of $days (a DATE[]). completed counts
-- approved items where approval is tracked, submitted items otherwise.
-- params: $scope_id, $level, $days
with days as (
    select unnest($days::date[]) as as_of
),
ranked as (
    select u.unit_id
    from unit_tree t
    join units u on u.unit_id = t.descendant_id
    where t.ancestor_id = $scope_id
      and (($level = 'self' and t.depth = 0) or ($level <> 'self' and u.kind = $level))
),
members as (
    select r.unit_id as rank_unit_id, t.descendant_id as member_id
    from ranked r
    join unit_tree t on t.ancestor_id = r.unit_id
),
latest as (
    -- material_spans (derived.sql): the line in force at as_of, without a window
    select days.as_of, s.* exclude (next_updated_on)
    from material_spans s
    join days on s.updated_on <= days.as_of
      and (s.next_updated_on is null or s.next_updated_on > days.as_of)
)
select
    days.as_of,
    r.unit_id,
    count(l.unit_id) as lines,
    coalesce(sum(l.required), 0)::bigint as required,
    coalesce(sum(coalesce(l.approved, l.submitted)), 0)::bigint as completed,
    count(*) filter (where l.required > 0 and coalesce(l.approved, l.submitted) = 0) as lines_at_zero,
    count(*) filter (where coalesce(l.approved, l.submitted) < l.required and l.deadline < days.as_of)
        as lines_past_deadline
from days
cross join ranked r
left join members m on m.rank_unit_id = r.unit_id
left join latest l on l.as_of = days.as_of and l.unit_id = m.member_id
group by days.as_of, r.unit_id
order by days.as_of, r.unit_id
