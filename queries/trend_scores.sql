-- trend_scores: every score row of one unit — its composite (indicator NULL) and each item
-- — in every assessment, by assessment and then indicator (the composite first). The same
-- rows serve every date and measure: trends.score_series keeps the overall tests ended by
-- its as_of, and makes each category's score (field / materials / questionnaire: the sum of
-- its leaf items' values out of the sum of their max_value, over the items actually scored,
-- leaves and categories from trend_indicators). A test without a value for the unit has no
-- row (a gap, never a zero).
-- params: $unit_id
select assessment_id, indicator_id, value, max_value
from scores
where unit_id = $unit_id
order by assessment_id, indicator_id nulls first
