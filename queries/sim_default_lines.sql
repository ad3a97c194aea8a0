-- sim_default_lines: queries/materials_lines.sql for every unit (every root's subtree) at
-- the snapshot's default date, stored when the snapshot was written (derived table
-- sim_default_lines, simulator.precompute_backtests): the 测算 page at its default date
-- filters these rows to its scope instead of running the query. In the query's own order.
-- params: none
select * from sim_default_lines order by as_of, deadline, unit_id, indicator_id
