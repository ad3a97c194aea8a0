-- trend_survey: one unit's survey items in every wave of kind $category ('phone' = 群众满意度
-- 电话调查, 'questionnaire' = 问卷调查) that ended by $as_of. value / max_value is the item's
-- rate (phone: percent out of 100; questionnaire: points out of the item's weight).
-- $unit_id NULL: every unit's rows, by unit (trends._survey_rows, read once per snapshot
-- at the default date; a unit's rows are its slice, in the same order).
-- params: $unit_id, $as_of, $category
select
    s.unit_id,
    a.assessment_id,
    a.name as assessment_name,
    a.level,
    a.start_date,
    a.end_date,
    i.indicator_id,
    i.code,
    i.name as item_name,
    i.target,
    lead.name as lead_unit_name,
    s.value,
    s.max_value,
    s.sample_size
from assessments a
join scores s on s.assessment_id = a.assessment_id
join indicators i on i.indicator_id = s.indicator_id
left join units lead on lead.unit_id = i.lead_unit_id
where a.kind = $category
  and i.category = $category
  and a.end_date <= $as_of
  and ($unit_id is null or s.unit_id = $unit_id)
order by s.unit_id, a.start_date, a.assessment_id, i.code
