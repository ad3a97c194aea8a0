-- flag_rule_survey_below_city: red-flag rule survey_below_city (config/flags.toml) for
-- each day as_of of $days (a DATE[]): for each survey category (phone 电话调查,
-- questionnaire 问卷调查) and each city of the units under $scope_id, the city's newest
-- wave ended by as_of holding the city's item scores; then every unit under $scope_id of a
-- kind in $levels (the city itself left out) with items of that wave on which its rate is
-- more than $gap_points below the city's own rate (全市得分: the city's value, not a mean
-- of units). One row per unit and category (subject = the category): how many items, the
-- worst item and its gap. Rates in points of value ÷ max_value × 100. The same comparison
-- as queries/survey_item_gaps.sql (趋势, 本单位, and this flag's evidence).
-- params: $scope_id, $days, $levels, $gap_points
with days as (
    select unnest($days::date[]) as as_of
),
categories as (
    select unnest(['phone', 'questionnaire']) as category,
        generate_subscripts(['phone', 'questionnaire'], 1) as category_pos
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
        a.kind as category,
        s.assessment_id,
        s.unit_id,
        s.indicator_id,
        100.0 * s.value / nullif(s.max_value, 0) as rate,
        a.start_date,
        a.end_date
    from scores s
    join assessments a on a.assessment_id = s.assessment_id
    join indicators i on i.indicator_id = s.indicator_id
    where a.kind in (select category from categories)
      and i.category = a.kind
),
city_waves as (
    -- per day, category and city: the newest wave ended by that day holding the city's items
    select distinct as_of, category, city_id, assessment_id
    from (
        select
            d.as_of,
            r.category,
            r.unit_id as city_id,
            r.assessment_id,
            dense_rank() over (
                partition by d.as_of, r.category, r.unit_id
                order by r.start_date desc, r.assessment_id desc
            ) as newest
        from days d
        join rates r on r.end_date <= d.as_of
        where r.unit_id in (
            select city_id from city_of where unit_id in (select unit_id from members)
        )
    )
    where newest = 1
),
items as (
    select
        w.as_of,
        r.unit_id,
        u.sort_order,
        k.category_pos,
        w.category,
        w.assessment_id,
        a.name as assessment_name,
        i.name as item_name,
        coalesce(i.weight, 0) as weight,
        r.rate,
        c.rate as city_rate,
        r.rate - c.rate as gap
    from city_waves w
    join categories k on k.category = w.category
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
      and u.kind in (select unnest($levels::varchar[]))
      and r.rate - c.rate < -$gap_points
)
select
    as_of,
    unit_id,
    unit_id as owner_id,
    category as subject,
    category,
    any_value(assessment_name) as assessment_name,
    count(*) as items,
    arg_min(item_name, (gap, item_name)) as item_name,
    arg_min(rate, (gap, item_name)) as rate,
    arg_min(city_rate, (gap, item_name)) as city_rate,
    min(gap) as gap,
    max(weight) as weight
from items
group by as_of, unit_id, sort_order, category_pos, category
order by as_of, category_pos, min(gap), sort_order, unit_id
