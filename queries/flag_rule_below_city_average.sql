-- flag_rule_below_city_average: red-flag rule below_city_average (config/flags.toml) for
-- each day as_of of $days (a DATE[]): in the newest overall assessment scored by as_of
-- (ended by then, with overall scores; as metrics.latest_scored), units of each level in
-- $levels under $scope_id ('self' = the scope unit) whose overall score is more than
-- $gap_points below their city's. Rows level by level, units in official order.
-- params: $scope_id, $days, $levels, $gap_points
with days as (
    select unnest($days::date[]) as as_of
),
levels as (
    select unnest($levels::varchar[]) as level, generate_subscripts($levels::varchar[], 1) as level_pos
),
ranked as (
    select l.level_pos, u.unit_id, u.sort_order
    from levels l
    join unit_tree t on t.ancestor_id = $scope_id
    join units u on u.unit_id = t.descendant_id
    where (l.level = 'self' and t.depth = 0) or (l.level <> 'self' and u.kind = l.level)
),
latest as (
    select as_of, assessment_id
    from (
        select days.as_of, a.assessment_id,
            row_number() over (
                partition by days.as_of order by a.start_date desc, a.assessment_id desc
            ) as recency
        from days
        join assessments a on a.end_date <= days.as_of
        where a.kind = 'overall'
          and exists (
              select 1 from scores s
              where s.assessment_id = a.assessment_id and s.indicator_id is null
          )
    )
    where recency = 1
),
city_of as (
    select t.descendant_id as unit_id, t.ancestor_id as city_id
    from unit_tree t
    join units c on c.unit_id = t.ancestor_id
    where c.kind = 'city'
)
select
    l.as_of,
    r.unit_id,
    r.unit_id as owner_id,
    '' as subject,
    l.assessment_id,
    v.value,
    cv.value as city_value,
    v.value - cv.value as gap
from latest l
cross join ranked r
join scores v on v.assessment_id = l.assessment_id and v.unit_id = r.unit_id
  and v.indicator_id is null
join city_of c on c.unit_id = r.unit_id
join scores cv on cv.assessment_id = l.assessment_id and cv.unit_id = c.city_id
  and cv.indicator_id is null
where v.value - cv.value < -$gap_points
order by l.as_of, r.level_pos, r.sort_order, r.unit_id
