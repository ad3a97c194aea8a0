-- sim_default_states: queries/sim_field_states.sql for every point (every root's subtree)
-- at the snapshot's default date with the shipped settings, stored when the snapshot was
-- written (derived table sim_default_states, simulator.precompute_backtests): the 测算 page
-- at its default date filters these rows to its scope instead of running the query. In the
-- query's own order.
-- params: none
select * from sim_default_states order by as_of, indicator_id, point_id
