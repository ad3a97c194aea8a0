-- flag_rule_fixed_point_static_fail: red-flag rule fixed_point_static_fail
-- (config/flags.toml) for each day as_of of $days (a DATE[]): fixed points (固定点位) of
-- $scope_id (属地 unit or 主管 department in its subtree) with at least $min_failed static
-- indicators whose latest check on or before as_of, within $lookback_days days, failed.
-- The unit is the point's 属地 unit, the owner its 主管 department.
-- params: $scope_id, $days, $lookback_days, $min_failed
with days as (
    select unnest($days::date[]) as as_of
),
members as (
    select descendant_id as unit_id
    from unit_tree
    where ancestor_id = $scope_id
),
failed as (
    -- point_check_spans (derived.sql): the check in force at as_of, without a window
    select days.as_of, c.point_id, c.indicator_id
    from point_check_spans c
    join days on c.checked_on <= days.as_of
      and (c.next_checked_on is null or c.next_checked_on > days.as_of)
      and c.checked_on >= days.as_of - $lookback_days::integer
    where c.is_static and not c.passed
)
select
    f.as_of,
    pt.unit_id,
    pt.dept_id as owner_id,
    pt.point_id::varchar as subject,
    pt.name as point_name,
    pt.type as point_type,
    count(*) as failed,
    list(i.name order by f.indicator_id) as indicator_names,
    max(coalesce(i.weight, 0))::double as weight
from failed f
join points pt on pt.point_id = f.point_id
left join indicators i on i.indicator_id = f.indicator_id
where pt.is_fixed
  and (pt.unit_id in (select unit_id from members) or pt.dept_id in (select unit_id from members))
group by f.as_of, pt.point_id, pt.unit_id, pt.dept_id, pt.name, pt.type
having count(*) >= $min_failed
order by f.as_of, pt.point_id
