-- next_test: the provincial or national test under way at $as_of, else the next one to start.
-- params: $as_of
select *, start_date <= $as_of as under_way
from assessments
where level in ('provincial', 'national') and end_date >= $as_of
order by start_date, assessment_id
limit 1
