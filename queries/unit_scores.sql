-- unit_scores: the value of one indicator ($indicator_id; NULL = the overall score) in one
-- assessment for each unit ranked at $level under $scope_id, with the value of the city
-- each unit belongs to. Units without a score come back with NULL (无数据).
-- params: $scope_id, $level, $assessment_id, $indicator_id
with ranked as (
    select u.unit_id, u.parent_id
    from unit_tree t
    join units u on u.unit_id = t.descendant_id
    where t.ancestor_id = $scope_id
      and (($level = 'self' and t.depth = 0) or ($level <> 'self' and u.kind = $level))
),
city_of as (
    select t.descendant_id as unit_id, t.ancestor_id as city_id
    from unit_tree t
    join units c on c.unit_id = t.ancestor_id
    where c.kind = 'city'
),
values_ as (
    select unit_id, value, max_value, sample_size
    from scores
    where assessment_id = $assessment_id and indicator_id is not distinct from $indicator_id
)
select
    r.unit_id,
    r.parent_id,
    v.value,
    v.max_value,
    v.sample_size,
    c.city_id,
    cv.value as city_value
from ranked r
left join values_ v on v.unit_id = r.unit_id
left join city_of c on c.unit_id = r.unit_id
left join values_ cv on cv.unit_id = c.city_id
order by r.unit_id
