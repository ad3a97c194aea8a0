-- flag_rule_rectification_below: red-flag rule rectification_below (config/flags.toml)
-- for each day as_of of $days (a DATE[]): units of each level in $levels under
-- $scope_id ('self' = the scope unit) whose 整改率 (rectified ÷ found by as_of, running
-- sums of problem_daily as in rectification_counts.sql), judged at its displayed
-- precision ($threshold_digits digits of the rate, config/status.toml), is below
-- $threshold with at least $min_found problems found; deadline is the oldest deadline among the unit's
-- overdue problems (属地 unit or 责任单位 in its subtree). Rows level by level, units in
-- official order.
-- params: $scope_id, $days, $levels, $min_found, $threshold, $threshold_digits
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
sums as (
    select
        days.as_of,
        d.unit_id,
        sum(d.found) as found,
        sum(d.rectified) as rectified,
        sum(d.past_deadline) - sum(d.past_deadline_rectified) as overdue
    from problem_daily d
    join days on d.day <= days.as_of
    where d.unit_id in (select unit_id from ranked)
    group by days.as_of, d.unit_id
),
hit as (
    select s.as_of, r.level_pos, r.sort_order, r.unit_id, s.found, s.rectified, s.overdue,
        s.rectified / s.found as rate
    from ranked r
    join sums s on s.unit_id = r.unit_id
    -- judged at the displayed precision (config/status.toml), as the status of 整改率 is
    where s.found >= $min_found
      and round(s.rectified / s.found, $threshold_digits) < $threshold - 1e-9
),
oldest_overdue as (
    select h.as_of, h.unit_id, min(p.deadline) as deadline
    from (select distinct as_of, unit_id from hit) h
    join unit_tree t on t.ancestor_id = h.unit_id
    join problems p on p.unit_id = t.descendant_id or p.dept_id = t.descendant_id
    where p.found_on <= h.as_of
      and p.deadline < h.as_of
      and not coalesce(p.rectified_on <= h.as_of, false)
    group by all
)
select
    h.as_of,
    h.unit_id,
    h.unit_id as owner_id,
    '' as subject,
    h.rate,
    h.found::bigint as found,
    h.rectified::bigint as rectified,
    h.overdue::bigint as overdue,
    o.deadline
from hit h
left join oldest_overdue o on o.as_of = h.as_of and o.unit_id = h.unit_id
order by h.as_of, h.level_pos, h.sort_order, h.unit_id
