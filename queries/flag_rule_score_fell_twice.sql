-- flag_rule_score_fell_twice: red-flag rule score_fell_twice (config/flags.toml) for each
-- day as_of of $days (a DATE[]): over the three newest overall assessments scored by
-- as_of (as metrics.latest_scored), units of each level in $levels under $scope_id
-- ('self' = the scope unit) scored in all three whose overall score fell by more than
-- $min_drop at each step. Rows level by level, units in official order.
-- params: $scope_id, $days, $levels, $min_drop
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
recent as (
    select as_of, assessment_id, recency
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
    where recency <= 3
),
three as (
    -- days with three scored assessments: oldest (3), middle (2), newest (1)
    select as_of,
        max(assessment_id) filter (where recency = 3) as a0,
        max(assessment_id) filter (where recency = 2) as a1,
        max(assessment_id) filter (where recency = 1) as a2
    from recent
    group by as_of
    having count(*) = 3
)
select
    t.as_of,
    r.unit_id,
    r.unit_id as owner_id,
    '' as subject,
    t.a0, t.a1, t.a2,
    s0.value as v0,
    s1.value as v1,
    s2.value as v2
from three t
cross join ranked r
join scores s0 on s0.assessment_id = t.a0 and s0.unit_id = r.unit_id and s0.indicator_id is null
join scores s1 on s1.assessment_id = t.a1 and s1.unit_id = r.unit_id and s1.indicator_id is null
join scores s2 on s2.assessment_id = t.a2 and s2.unit_id = r.unit_id and s2.indicator_id is null
where s0.value - s1.value > $min_drop and s1.value - s2.value > $min_drop
order by t.as_of, r.level_pos, r.sort_order, r.unit_id
