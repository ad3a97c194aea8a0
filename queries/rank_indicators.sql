-- rank_indicators: every (assessment, indicator) pair that holds item scores, with the
-- indicator's code, name, category and target, for the single-indicator ranking picker.
-- params: none
select
    s.assessment_id,
    a.name as assessment_name,
    a.kind as assessment_kind,
    a.start_date,
    a.end_date,
    i.indicator_id,
    i.code,
    i.name,
    i.category,
    i.target,
    count(*) as units_scored
from scores s
join indicators i on i.indicator_id = s.indicator_id
join assessments a on a.assessment_id = s.assessment_id
group by all
order by i.category, i.code, a.start_date desc, s.assessment_id desc
