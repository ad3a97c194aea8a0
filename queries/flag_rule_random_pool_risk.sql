-- flag_rule_random_pool_risk: red-flag rule random_pool_risk (config/flags.toml) for each
-- day as_of of $days (a DATE[]): per type of random-pool point (随机点位) of $scope_id
-- (属地 unit or 主管 department in its subtree) checked in the $lookback_days days up to
-- as_of — at least $min_points of them — the share that passed every indicator at its
-- latest check, and the chance that at least one of $draws drawn points fails,
-- 1 − pass rate ^ draws, when above $threshold. Flagged on the scope itself; the owner is
-- the department that runs most of the type's points (ties: the lower id).
-- params: $scope_id, $days, $lookback_days, $min_points, $draws, $threshold
with days as (
    select unnest($days::date[]) as as_of
),
members as (
    select descendant_id as unit_id
    from unit_tree
    where ancestor_id = $scope_id
),
pool as (
    select point_id, type, dept_id
    from points
    where not is_fixed
      and (unit_id in (select unit_id from members) or dept_id in (select unit_id from members))
),
checked as (
    -- per point: passed every indicator at its latest check within the look-back
    select days.as_of, p.point_id, p.type, p.dept_id, bool_and(c.passed) as passed_all
    from point_check_spans c
    join pool p using (point_id)
    join days on c.checked_on between days.as_of - $lookback_days::integer and days.as_of
      and (c.next_checked_on is null or c.next_checked_on > days.as_of)
    group by all
),
types as (
    select
        as_of,
        type,
        count(*) as points,
        count(*) filter (where passed_all) as passed
    from checked
    group by all
    having count(*) >= $min_points
),
dept_points as (
    select as_of, type, dept_id, count(*) as points
    from checked
    where dept_id is not null
    group by all
),
owners as (
    select as_of, type, dept_id,
        row_number() over (partition by as_of, type order by points desc, dept_id) as pick
    from dept_points
)
select
    t.as_of,
    $scope_id::integer as unit_id,
    o.dept_id as owner_id,
    t.type::varchar as subject,
    t.points,
    t.passed,
    t.passed / t.points as pass_rate,
    1.0 - pow(t.passed / t.points, $draws::integer) as risk
from types t
left join owners o on o.as_of = t.as_of and o.type = t.type and o.pick = 1
where 1.0 - pow(t.passed / t.points, $draws::integer) > $threshold
order by t.as_of, t.type
