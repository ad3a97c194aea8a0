-- sim_unit_scores: every score of $unit_id (overall, indicator NULL, and per item) with its
-- assessment's level, kind and dates — the 测算 engine's survey results (the latest
-- questionnaire item scores), its fallback (the last test's rates), the backtest's actual
-- scores and the "same as last test" baseline. Small: a few dozen assessments.
-- params: $unit_id
select
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
where s.unit_id = $unit_id
order by a.end_date, s.assessment_id, s.indicator_id nulls first
