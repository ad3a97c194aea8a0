-- flag_rule_platform_entry_lagging: red-flag rule platform_entry_lagging
-- (config/flags.toml) for each day as_of of $days (a DATE[]): units of each level in
-- $levels under $scope_id ('self' = the scope unit) with at least $min_visits visits in
-- the campaign in force at as_of (the running one, else the latest started; as
-- metrics.campaign_at) and a 平台录入率 (entered ÷ visits, subject kinds with a target)
-- below $threshold. deadline is the campaign's next milestone. Rows level by level,
-- units in official order.
-- The rate is judged at its displayed precision ($threshold_digits, config/status.toml).
-- params: $scope_id, $days, $levels, $min_visits, $threshold, $threshold_digits
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
campaign_at as (
    select as_of, campaign_id
    from (
        select days.as_of, c.campaign_id,
            row_number() over (
                partition by days.as_of
                order by (c.end_date >= days.as_of) desc, c.start_date desc, c.campaign_id desc
            ) as pick
        from days
        join campaigns c on c.start_date <= days.as_of
    )
    where pick = 1
),
kinds as (
    select distinct campaign_id, subject_kind from visit_targets
),
progress as (
    select ca.as_of, vd.unit_id, sum(vd.visits) as visits, sum(vd.entered) as entered
    from campaign_at ca
    join unit_visit_daily vd on vd.campaign_id = ca.campaign_id and vd.day <= ca.as_of
    join kinds k on k.campaign_id = vd.campaign_id and k.subject_kind = vd.subject_kind
    where vd.unit_id in (select unit_id from ranked)
    group by all
),
next_milestone as (
    select ca.as_of, min(m.due_date) as due_date
    from campaign_at ca
    join campaign_milestones m on m.campaign_id = ca.campaign_id and m.due_date >= ca.as_of
    group by all
)
select
    p.as_of,
    r.unit_id,
    r.unit_id as owner_id,
    '' as subject,
    p.entered / p.visits as rate,
    p.visits::bigint as visits,
    p.entered::bigint as entered,
    n.due_date as deadline
from ranked r
join progress p on p.unit_id = r.unit_id
left join next_milestone n on n.as_of = p.as_of
where p.visits >= $min_visits and p.visits > 0
  and round(p.entered / p.visits, $threshold_digits) < $threshold - 1e-9
order by p.as_of, r.level_pos, r.sort_order, r.unit_id
