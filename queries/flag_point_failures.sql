-- flag_point_failures: fixed points (固定点位) whose latest check on or before as_of of a
-- static indicator (静态指标) failed, that check falling within $lookback_days days of
-- as_of, for each day as_of of $days (a DATE[]). A point
-- belongs to $scope_id when its 属地 unit or its 主管 department lies in the subtree.
-- params: $scope_id, $days, $lookback_days
with days as (
    select unnest($days::date[]) as as_of
),
members as (
    select descendant_id as unit_id
    from unit_tree
    where ancestor_id = $scope_id
),
latest as (
    -- point_check_spans (derived.sql): the check in force at as_of, without a window
    select days.as_of, c.check_id, c.point_id, c.indicator_id, c.checked_on, c.passed,
        c.problem_id
    from point_check_spans c
    join days on c.checked_on <= days.as_of
      and (c.next_checked_on is null or c.next_checked_on > days.as_of)
      and c.checked_on >= days.as_of - $lookback_days::integer
    where c.is_static
)
select
    l.as_of,
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
  and (pt.unit_id in (select unit_id from members) or pt.dept_id in (select unit_id from members))
order by l.as_of, pt.point_id, l.indicator_id
