-- flag_rule_random_pool_risk: red-flag rule random_pool_risk (config/flags.toml) for each
-- scope of $scope_ids (an INTEGER[]) and each day as_of of $days (a DATE[]): per type of
-- random-pool point (随机点位) of the scope (属地 unit or 主管 department in its subtree)
-- checked in the $lookback_days days up to as_of — at least $min_points of them — the
-- share that passed every indicator at its latest check, and the chance that at least one
-- of $draws drawn points fails, 1 − pass rate ^ draws, when above $threshold. Flagged on
-- the scope itself; the owner is the department that runs most of the type's points (ties:
-- the lower id).
-- params: $scope_ids, $days, $lookback_days, $min_points, $draws, $threshold
with days as (
    select unnest($days::date[]) as as_of
),
members as (
    select scope_id, unit_id from scope_members($scope_ids)  -- derived.sql
),
random_checks as materialized (
    -- the checks of random points that can be in force within some as_of's look-back,
    -- picked before they are joined with the days
    select c.point_id, c.checked_on, c.next_checked_on, c.passed, p.type, p.unit_id, p.dept_id
    from point_check_spans c
    join points p on p.point_id = c.point_id and not p.is_fixed
    where c.checked_on <= (select max(as_of) from days)
      and c.checked_on >= (select min(as_of) from days) - $lookback_days::integer
),
checked as (
    -- per random point: passed every indicator at its latest check within the look-back
    select days.as_of, c.point_id, c.type, c.unit_id, c.dept_id, bool_and(c.passed) as passed_all
    from random_checks c
    join days on c.checked_on between days.as_of - $lookback_days::integer and days.as_of
      and (c.next_checked_on is null or c.next_checked_on > days.as_of)
    group by all
),
pool as (
    -- each checked point once for every scope it belongs to
    select m.scope_id, c.*
    from checked c join members m on m.unit_id = c.unit_id
    union
    select m.scope_id, c.*
    from checked c join members m on m.unit_id = c.dept_id
),
types as (
    select
        scope_id,
        as_of,
        type,
        count(*) as points,
        count(*) filter (where passed_all) as passed
    from pool
    group by all
    having count(*) >= $min_points
),
dept_points as (
    select scope_id, as_of, type, dept_id, count(*) as points
    from pool
    where dept_id is not null
    group by all
),
owners as (
    select scope_id, as_of, type, dept_id,
        row_number() over (
            partition by scope_id, as_of, type order by points desc, dept_id
        ) as pick
    from dept_points
)
select
    t.scope_id,
    t.as_of,
    t.scope_id as unit_id,
    o.dept_id as owner_id,
    t.type::varchar as subject,
    t.points,
    t.passed,
    t.passed / t.points as pass_rate,
    1.0 - pow(t.passed / t.points, $draws::integer) as risk
from types t
left join owners o
  on o.scope_id = t.scope_id and o.as_of = t.as_of and o.type = t.type and o.pick = 1
where 1.0 - pow(t.passed / t.points, $draws::integer) > $threshold
order by t.scope_id, t.as_of, t.type
