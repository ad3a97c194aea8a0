-- survey_item_gaps: how each unit's survey items compare with its city, as the city reports
-- them ("东阁街道 85.74 分，低于全市 4.95 分"). For each day as_of of $days (a DATE[]) and
-- each city of the units under $scope_id: the newest $category wave ('phone' = 电话调查,
-- 'questionnaire' = 问卷调查) ended by as_of in which the city has item scores; then, for
-- every unit under $scope_id (the city itself left out) scored on an item of that wave,
-- its rate, the city's rate (全市得分: the city's own value, not a mean of its units) and
-- gap = unit − city, in points of the rate (value ÷ max_value × 100).
-- params: $scope_id, $days, $category
with days as (
    select unnest($days::date[]) as as_of
),
members as (
    select descendant_id as unit_id
    from unit_tree
    where ancestor_id = $scope_id
),
city_of as (
    select t.descendant_id as unit_id, t.ancestor_id as city_id
    from unit_tree t
    join units c on c.unit_id = t.ancestor_id
    where c.kind = 'city'
),
rates as (
    select
        s.assessment_id,
        s.unit_id,
        s.indicator_id,
        100.0 * s.value / nullif(s.max_value, 0) as rate,
        a.start_date,
        a.end_date
    from scores s
    join assessments a on a.assessment_id = s.assessment_id
    join indicators i on i.indicator_id = s.indicator_id
    where a.kind = $category
      and i.category = $category
),
city_waves as (
    -- per day and city: the newest wave ended by that day holding the city's items
    select distinct as_of, city_id, assessment_id
    from (
        select
            d.as_of,
            r.unit_id as city_id,
            r.assessment_id,
            dense_rank() over (
                partition by d.as_of, r.unit_id order by r.start_date desc, r.assessment_id desc
            ) as newest
        from days d
        join rates r on r.end_date <= d.as_of
        where r.unit_id in (
            select city_id from city_of where unit_id in (select unit_id from members)
        )
    )
    where newest = 1
)
select
    w.as_of,
    w.assessment_id,
    a.name as assessment_name,
    r.indicator_id,
    i.code,
    i.name as item_name,
    coalesce(i.weight, 0) as weight,
    r.unit_id,
    u.kind,
    u.sort_order,
    r.rate,
    c.rate as city_rate,
    r.rate - c.rate as gap
from city_waves w
join rates c on c.assessment_id = w.assessment_id and c.unit_id = w.city_id
join city_of co on co.city_id = w.city_id and co.unit_id <> w.city_id
join rates r
  on r.assessment_id = w.assessment_id
 and r.unit_id = co.unit_id
 and r.indicator_id = c.indicator_id
join assessments a on a.assessment_id = w.assessment_id
join indicators i on i.indicator_id = r.indicator_id
join units u on u.unit_id = r.unit_id
where r.unit_id in (select unit_id from members)
order by w.as_of, i.code, gap, u.sort_order, r.unit_id
