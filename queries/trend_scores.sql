-- trend_scores: one unit's scores in every overall test that ended by $as_of: the composite
-- (indicator NULL), each category (field / materials / questionnaire: the sum of its leaf
-- items' values out of the sum of their max_value, only over items actually scored) and each
-- leaf indicator. A test without a value for the unit yields no row (a gap, never a zero).
-- params: $unit_id, $as_of
with tests as (
    select assessment_id, name, level, start_date, end_date
    from assessments
    where kind = 'overall' and end_date <= $as_of
),
leaves as (
    select i.indicator_id, i.category
    from indicators i
    where i.parent_id is not null
      and not exists (select 1 from indicators c where c.parent_id = i.indicator_id)
),
unit_scores as (
    select s.assessment_id, s.indicator_id, s.value, s.max_value
    from scores s
    join tests t on t.assessment_id = s.assessment_id
    where s.unit_id = $unit_id
),
overall as (
    select assessment_id, 'overall' as measure, null::integer as indicator_id,
           value, max_value, 1 as items
    from unit_scores
    where indicator_id is null
),
categories as (
    select us.assessment_id, l.category as measure, null::integer as indicator_id,
           sum(us.value) as value, sum(us.max_value) as max_value, count(*) as items
    from unit_scores us
    join leaves l on l.indicator_id = us.indicator_id
    where l.category in ('field', 'materials', 'questionnaire')
    group by all
),
items as (
    select us.assessment_id, 'indicator' as measure, us.indicator_id,
           us.value, us.max_value, 1 as items
    from unit_scores us
    join leaves l on l.indicator_id = us.indicator_id
),
combined as (
    select * from overall
    union all
    select * from categories
    union all
    select * from items
)
select
    t.assessment_id,
    t.name as assessment_name,
    t.level,
    t.start_date,
    t.end_date,
    c.measure,
    c.indicator_id,
    c.value,
    c.max_value,
    c.items
from combined c
join tests t on t.assessment_id = c.assessment_id
order by t.start_date, t.assessment_id, c.measure, c.indicator_id
