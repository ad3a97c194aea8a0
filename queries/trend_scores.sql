-- trend_scores: every score row of one unit — its composite (indicator NULL) and each item
-- — in every assessment, by assessment and then indicator (the composite first). The same
-- rows serve every date and measure: trends.score_series keeps the overall tests ended by
-- its as_of, and makes each category's score (field / materials / questionnaire: the sum of
-- its leaf items' values out of the sum of their max_value, over the items actually scored,
-- leaves and categories from trend_indicators). A test without a value for the unit has no
-- row (a gap, never a zero).
-- $unit_id NULL: every unit's rows, by unit (trends._score_rows, read once per snapshot:
-- they do not depend on the date; a unit's rows are its slice, in the same order).
-- params: $unit_id
select unit_id, assessment_id, indicator_id, value, max_value
from scores
where $unit_id is null or unit_id = $unit_id
order by unit_id, assessment_id, indicator_id nulls first
