-- unit_owned_items: the questionnaire and phone-survey items $unit_id leads (牵头,
-- indicators.lead_unit_id), each with the latest and the previous value of the city the
-- unit belongs to, from assessments that ended on or before $as_of.
-- params: $unit_id, $as_of
with city as (
    select t.ancestor_id as city_id
    from unit_tree t
    join units c on c.unit_id = t.ancestor_id
    where t.descendant_id = $unit_id and c.kind = 'city'
),
owned as (
    select *
    from indicators
    where lead_unit_id = $unit_id
      and category in ('questionnaire', 'phone')
      and parent_id is not null
),
valued as (
    select
        s.indicator_id,
        s.value,
        s.max_value,
        s.sample_size,
        a.name as assessment_name,
        a.end_date,
        row_number() over (
            partition by s.indicator_id order by a.end_date desc, a.assessment_id desc
        ) as recency
    from scores s
    join assessments a on a.assessment_id = s.assessment_id
    where s.unit_id = (select city_id from city)
      and s.indicator_id in (select indicator_id from owned)
      and a.end_date <= $as_of
)
select
    o.indicator_id,
    o.code,
    o.name,
    o.category,
    o.target,
    cur.value,
    cur.max_value,
    cur.sample_size,
    cur.assessment_name,
    cur.end_date,
    prev.value as prev_value,
    prev.max_value as prev_max_value,
    prev.assessment_name as prev_assessment_name
from owned o
left join valued cur on cur.indicator_id = o.indicator_id and cur.recency = 1
left join valued prev on prev.indicator_id = o.indicator_id and prev.recency = 2
order by o.category, o.code
