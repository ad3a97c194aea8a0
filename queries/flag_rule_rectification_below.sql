-- flag_rule_rectification_below: red-flag rule rectification_below (config/flags.toml)
-- for each day as_of of $days (a DATE[]): units of each level in $levels under
-- $scope_id ('self' = the scope unit) whose 整改率 (rectified ÷ found by as_of, running
-- sums of problem_daily as in rectification_counts.sql: each row summed once, into the
-- first as_of on or after its day, then accumulated over the days), judged at its displayed
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
buckets as (
    -- each day's rows of problem_daily are counted in the first as_of on or after it
    select as_of, lag(as_of) over (order by as_of) as after
    from (select distinct as_of from days)
),
calendar as (
    -- every day of problem_daily up to the last as_of with its bucket (the days × buckets
    -- compared here, a few hundred rows, so problem_daily itself is joined on equality)
    select c.day, b.as_of
    from (
        select unnest(range(min(day), max(b.as_of) + 1, interval 1 day))::date as day
        from problem_daily, (select max(as_of) as as_of from buckets) b
        group by b.as_of
    ) c
    join buckets b on c.day <= b.as_of and (b.after is null or c.day > b.after)
),
per_bucket as (
    select k.as_of, d.unit_id,
        sum(d.found) as found,
        sum(d.rectified) as rectified,
        sum(d.past_deadline) - sum(d.past_deadline_rectified) as overdue
    from problem_daily d
    join calendar k on k.day = d.day
    where d.unit_id in (select unit_id from ranked)
    group by all
),
sums as (
    -- running sums over the buckets: the counts by as_of
    select
        k.as_of,
        k.unit_id,
        sum(coalesce(b.found, 0)) over w as found,
        sum(coalesce(b.rectified, 0)) over w as rectified,
        sum(coalesce(b.overdue, 0)) over w as overdue
    from (
        select b.as_of, r.unit_id
        from buckets b
        cross join (select distinct unit_id from ranked) r
    ) k
    left join per_bucket b on b.as_of = k.as_of and b.unit_id = k.unit_id
    window w as (partition by k.unit_id order by k.as_of rows unbounded preceding)
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
hit_members as (
    select distinct h.as_of, h.unit_id, t.descendant_id as member_id
    from hit h
    join unit_tree t on t.ancestor_id = h.unit_id
),
oldest_overdue as (
    -- a problem is the unit's when its 属地 unit or its 责任单位 is in the unit's subtree:
    -- the two paths joined apart (hash joins, not one join on an OR), min() takes each once
    select m.as_of, m.unit_id, min(p.deadline) as deadline
    from hit_members m
    join (
        select unit_id as member_id, found_on, deadline, rectified_on from problems
        union all
        select dept_id, found_on, deadline, rectified_on from problems where dept_id is not null
    ) p on p.member_id = m.member_id
    where p.found_on <= m.as_of
      and p.deadline < m.as_of
      and not coalesce(p.rectified_on <= m.as_of, false)
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
