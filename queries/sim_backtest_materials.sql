-- sim_backtest_materials: the 台账 completion of queries/materials_lines.sql summed for many
-- scopes at once — per scope_id of $scope_ids (an INTEGER[]), day as_of of $days (a DATE[])
-- and indicator: the required and completed items (approved where tracked, submitted
-- otherwise) of the latest line per (unit, indicator) reported on or before as_of, over
-- every unit in the scope's subtree (lines with nothing required left out, as there).
-- Read only when a snapshot is written, to precompute the 测算 backtest (sim_backtest);
-- tests/test_simulator.py checks it against materials_lines for every scope.
-- params: $scope_ids, $days
with days as (
    select unnest($days::date[]) as as_of
),
scopes as (
    select unnest($scope_ids::integer[]) as scope_id
),
latest as (
    -- material_spans (derived.sql): the line in force at as_of, without a window
    select days.as_of, s.unit_id, s.indicator_id, s.required,
        coalesce(s.approved, s.submitted) as completed
    from material_spans s
    join days on s.updated_on <= days.as_of
      and (s.next_updated_on is null or s.next_updated_on > days.as_of)
    where s.required > 0
)
select
    t.ancestor_id as scope_id,
    l.as_of,
    l.indicator_id,
    sum(l.required)::double as required,
    sum(l.completed)::double as completed
from latest l
join unit_tree t on t.descendant_id = l.unit_id
where t.ancestor_id in (select scope_id from scopes)
group by all
order by all
