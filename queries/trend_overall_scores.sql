-- trend_overall_scores: one unit's composite score (综合得分: the score row without an
-- indicator) in every overall test that ended by $as_of — trend_scores' 'overall' rows
-- alone, for the comparison and city lines of 趋势, which need no categories or items.
-- params: $unit_id, $as_of
select s.assessment_id, s.value, s.max_value
from scores s
join assessments a on a.assessment_id = s.assessment_id
where s.unit_id = $unit_id
  and s.indicator_id is null
  and a.kind = 'overall'
  and a.end_date <= $as_of
order by a.start_date, s.assessment_id
