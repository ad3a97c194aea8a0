-- point_counts: 点位达标率 and 动态问题清零 per unit ranked at $level under $scope_id. A point
-- belongs to a unit when its 属地 unit or its 主管 department lies in the unit's subtree.
-- Static: the latest check on or before as_of per (point, static indicator).
-- Dynamic: a point is cleared when no dynamic problem at it is open at as_of.
-- One row per day as_of of $days (a DATE[]) and unit.
-- params: $scope_id, $level, $days
with days as (
    select unnest($days::date[]) as as_of
),
ranked as (
    select u.unit_id
    from unit_tree t
    join units u on u.unit_id = t.descendant_id
    where t.ancestor_id = $scope_id
      and (($level = 'self' and t.depth = 0) or ($level <> 'self' and u.kind = $level))
),
members as (
    select r.unit_id as rank_unit_id, t.descendant_id as member_id
    from ranked r
    join unit_tree t on t.ancestor_id = r.unit_id
),
attributed as (
    select m.rank_unit_id, p.point_id
    from members m
    join points p on p.unit_id = m.member_id
    union
    select m.rank_unit_id, p.point_id
    from members m
    join points p on p.dept_id = m.member_id
),
latest_static as (
    -- point_check_spans (derived.sql): the check in force at as_of, without a window
    select days.as_of, c.point_id, c.indicator_id, c.passed
    from point_check_spans c
    join days on c.checked_on <= days.as_of
      and (c.next_checked_on is null or c.next_checked_on > days.as_of)
    where c.is_static
),
static_per_point as (
    select as_of, point_id, count(*) as checked, count(*) filter (where passed) as passed
    from latest_static
    group by as_of, point_id
),
open_dynamic as (
    select distinct days.as_of, p.point_id
    from problems p
    join days on p.found_on <= days.as_of
      and not coalesce(p.rectified_on <= days.as_of, false)
    where p.is_dynamic and p.point_id is not null
)
select
    days.as_of,
    r.unit_id,
    count(a.point_id) as points,
    coalesce(sum(s.checked), 0)::bigint as static_checked,
    coalesce(sum(s.passed), 0)::bigint as static_passed,
    count(a.point_id) filter (where o.point_id is null) as dynamic_cleared
from days
cross join ranked r
left join attributed a on a.rank_unit_id = r.unit_id
left join static_per_point s on s.as_of = days.as_of and s.point_id = a.point_id
left join open_dynamic o on o.as_of = days.as_of and o.point_id = a.point_id
group by days.as_of, r.unit_id
order by days.as_of, r.unit_id
