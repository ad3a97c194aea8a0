-- flag_rule_bottom_of_level: red-flag rule bottom_of_level (config/flags.toml) for each
-- scope of $scope_ids (an INTEGER[]) and each day as_of of $days (a DATE[]): in the newest
-- overall assessment scored by as_of (as metrics.latest_scored), the units of each level
-- in $levels under the scope ('self' = the scope unit) dense-ranked by overall score among
-- those scored in the scope — so the ranking depends on the scope — when at least
-- $min_units are ranked: the bottom $n ranks (never rank 1). Rows scope by scope, level by
-- level, units in official order.
-- params: $scope_ids, $days, $levels, $n, $min_units
with days as (
    select unnest($days::date[]) as as_of
),
levels as (
    select unnest($levels::varchar[]) as level, generate_subscripts($levels::varchar[], 1) as level_pos
),
ranked as (
    select t.ancestor_id as scope_id, l.level_pos, u.unit_id, u.sort_order
    from levels l
    join unit_tree t on t.ancestor_id in (select unnest($scope_ids::integer[]))
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
standing as (
    select
        r.scope_id,
        l.as_of,
        l.assessment_id,
        r.level_pos,
        r.sort_order,
        r.unit_id,
        v.value,
        dense_rank() over (
            partition by r.scope_id, l.as_of, r.level_pos order by v.value desc
        ) as rank,
        count(*) over (partition by r.scope_id, l.as_of, r.level_pos) as ranked_units
    from latest l
    cross join ranked r
    join scores v on v.assessment_id = l.assessment_id and v.unit_id = r.unit_id
      and v.indicator_id is null
    where v.value is not null
),
bounds as (
    select *, max(rank) over (partition by scope_id, as_of, level_pos) as worst
    from standing
)
select
    scope_id,
    as_of,
    unit_id,
    unit_id as owner_id,
    '' as subject,
    assessment_id,
    level_pos,
    value,
    rank,
    ranked_units,
    worst
from bounds
where ranked_units >= $min_units and rank > worst - $n and rank > 1
order by scope_id, as_of, level_pos, sort_order, unit_id
