-- flag_point_failures: fixed points (固定点位) whose latest check on or before $as_of of a
-- static indicator (静态指标) failed, that check falling on or after $start_date. A point
-- belongs to $scope_id when its 属地 unit or its 主管 department lies in the subtree.
-- params: $scope_id, $as_of, $start_date
with members as (
    select descendant_id as unit_id
    from unit_tree
    where ancestor_id = $scope_id
),
latest as (
    -- point_check_spans (derived.sql): the check in force at $as_of, without a window
    select check_id, point_id, indicator_id, checked_on, passed, problem_id
    from point_check_spans
    where is_static and checked_on <= $as_of
      and (next_checked_on is null or next_checked_on > $as_of)
)
select
    pt.point_id,
    pt.name as point_name,
    pt.type as point_type,
    pt.unit_id,
    pt.dept_id,
    l.indicator_id,
    i.code as indicator_code,
    i.name as indicator_name,
    coalesce(i.weight, 0) as weight,
    l.checked_on,
    l.problem_id
from latest l
join points pt on pt.point_id = l.point_id
left join indicators i on i.indicator_id = l.indicator_id
where not l.passed
  and pt.is_fixed
  and l.checked_on >= $start_date
  and (pt.unit_id in (select unit_id from members) or pt.dept_id in (select unit_id from members))
order by pt.point_id, l.indicator_id
