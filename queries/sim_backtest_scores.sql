-- sim_backtest_scores: queries/sim_unit_scores.sql for many units at once — every score
-- (overall, indicator NULL, and per item) of each unit of $scope_ids (an INTEGER[]) as
-- scope_id, with its assessment's level, kind and dates, in the same order per unit. Read
-- only when a snapshot is written, to precompute the 测算 backtest (sim_backtest).
-- params: $scope_ids
select
    s.unit_id as scope_id,
    s.assessment_id,
    a.name as assessment_name,
    a.level,
    a.kind,
    a.start_date,
    a.end_date,
    s.indicator_id,
    s.value,
    s.max_value
from scores s
join assessments a using (assessment_id)
where s.unit_id in (select unnest($scope_ids::integer[]))
order by s.unit_id, a.end_date, s.assessment_id, s.indicator_id nulls first
