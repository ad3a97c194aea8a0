-- sim_field_states: every (inspection point, indicator) of $scope_id observed as of each day
-- as_of of $days (a DATE[]) — its latest check on or before as_of was made within
-- $lookback_days days — and whether it fails as it stands: that check failed and the
-- problem it raised (if any) is not rectified by as_of, or a problem at that point on that
-- indicator found on or after the check is still open at as_of (found by as_of, not
-- rectified by it). With those open problems: how many, the overdue ones (deadline before
-- as_of) by id, the earliest deadline and its 责任单位. The 测算 page's field measure (its
-- counts per indicator, fixed / random and point type) and its field fixes (the failing
-- rows); queries/sim_backtest_field_counts.sql counts the same rule for many scopes
-- (tests/test_simulator.py checks they agree).
-- A point belongs to the scope when its 属地 unit or its 主管 department lies in the subtree.
-- params: $scope_id, $days, $lookback_days
with days as (
    select unnest($days::date[]) as as_of
),
members as (
    select descendant_id as unit_id
    from unit_tree
    where ancestor_id = $scope_id
),
pts as (
    select point_id, name, type, unit_id, dept_id, is_fixed
    from points
    where unit_id in (select unit_id from members) or dept_id in (select unit_id from members)
),
latest as (
    -- point_check_spans (derived.sql): the check in force at as_of, without a window
    select days.as_of, c.point_id, c.indicator_id, c.checked_on, c.passed, c.problem_id
    from point_check_spans c
    join pts using (point_id)
    join days on c.checked_on between days.as_of - $lookback_days::integer and days.as_of
      and (c.next_checked_on is null or c.next_checked_on > days.as_of)
),
open_since as (
    select
        l.as_of,
        l.point_id,
        l.indicator_id,
        count(*) as open_problems,
        count(*) filter (where p.deadline < l.as_of) as overdue_problems,
        string_agg(p.problem_id, '、' order by p.deadline, p.problem_id)
            filter (where p.deadline < l.as_of) as overdue_ids,
        min(p.deadline) as earliest_deadline,
        arg_min(p.dept_id, p.deadline) as earliest_dept_id
    from latest l
    join problems p on p.point_id = l.point_id
      and p.indicator_id = l.indicator_id
      and p.found_on >= l.checked_on
      and p.found_on <= l.as_of
      and not coalesce(p.rectified_on <= l.as_of, false)
    group by all
),
judged as (
    select
        l.*,
        (not l.passed and not coalesce(raised.rectified_on <= l.as_of, false))
            or o.open_problems is not null as failing,
        o.open_problems,
        o.overdue_problems,
        o.overdue_ids,
        o.earliest_deadline,
        o.earliest_dept_id
    from latest l
    left join problems raised on raised.problem_id = l.problem_id
    left join open_since o on o.as_of = l.as_of
      and o.point_id = l.point_id
      and o.indicator_id = l.indicator_id
)
select
    j.as_of,
    j.point_id,
    -- the point's name only where a fix is listed: most pairs pass, and a province has many
    case when j.failing then pt.name end as point_name,
    pt.type as point_type,
    pt.is_fixed,
    pt.unit_id,
    pt.dept_id,
    j.indicator_id,
    j.checked_on,
    j.passed,
    j.failing,
    coalesce(j.open_problems, 0) as open_problems,
    coalesce(j.overdue_problems, 0) as overdue_problems,
    j.overdue_ids,
    j.earliest_deadline,
    j.earliest_dept_id
from judged j
join pts pt on pt.point_id = j.point_id
order by j.as_of, j.indicator_id, j.point_id
