-- flag_rule_coverage_behind: red-flag rule coverage_behind (config/flags.toml) for each
-- day as_of of $days (a DATE[]): units of each level in $levels under $scope_id ('self' =
-- the scope unit) whose coverage, projected at the pace of the last 14 days (as
-- metrics.project_coverage: current + pace × days, capped at 100%, not projected with
-- under 7 days of history), misses the campaign's next milestone (the first due on or
-- after as_of) that they have not reached yet. Campaign as metrics.campaign_at.
-- Rows level by level, units by id.
-- params: $scope_id, $days, $levels
with days as (
    select unnest($days::date[]) as as_of
),
levels as (
    select unnest($levels::varchar[]) as level, generate_subscripts($levels::varchar[], 1) as level_pos
),
ranked as (
    select l.level_pos, u.unit_id
    from levels l
    join unit_tree t on t.ancestor_id = $scope_id
    join units u on u.unit_id = t.descendant_id
    where (l.level = 'self' and t.depth = 0) or (l.level <> 'self' and u.kind = l.level)
),
campaign_at as (
    select as_of, campaign_id, start_date,
        -- days of history behind the pace: the last 14, fewer in a younger campaign
        greatest(0, least(14, (as_of - start_date)::integer + 1)) as window_days
    from (
        select days.as_of, c.campaign_id, c.start_date,
            row_number() over (
                partition by days.as_of
                order by (c.end_date >= days.as_of) desc, c.start_date desc, c.campaign_id desc
            ) as pick
        from days
        join campaigns c on c.start_date <= days.as_of
    )
    where pick = 1
),
next_milestone as (
    select ca.as_of, arg_min(m.due_date, m.due_date) as due_date,
        arg_min(m.target_share, m.due_date) as target_share
    from campaign_at ca
    join campaign_milestones m on m.campaign_id = ca.campaign_id and m.due_date >= ca.as_of
    group by all
),
units_ as (
    select distinct unit_id from ranked
),
targets as (
    select ca.as_of, u.unit_id, sum(vt.target) as target
    from campaign_at ca
    cross join units_ u
    join unit_tree t on t.ancestor_id = u.unit_id
    join visit_targets vt on vt.unit_id = t.descendant_id and vt.campaign_id = ca.campaign_id
    group by all
),
kinds as (
    select distinct campaign_id, subject_kind from visit_targets
),
progress as (
    select
        ca.as_of,
        vd.unit_id,
        sum(vd.new_subjects) as covered,
        coalesce(sum(vd.new_subjects) filter (where vd.day > ca.as_of - interval 14 day), 0)
            as new_last_14d
    from campaign_at ca
    join unit_visit_daily vd on vd.campaign_id = ca.campaign_id and vd.day <= ca.as_of
    join kinds k on k.campaign_id = vd.campaign_id and k.subject_kind = vd.subject_kind
    where vd.unit_id in (select unit_id from units_)
    group by all
),
projected as (
    select
        ca.as_of,
        r.level_pos,
        r.unit_id,
        t.target,
        coalesce(p.covered, 0) as covered,
        n.due_date,
        n.target_share,
        (n.due_date - ca.as_of)::integer as days_left,
        least(
            1.0,
            (coalesce(p.covered, 0)
             + coalesce(p.new_last_14d, 0) / ca.window_days * (n.due_date - ca.as_of)::integer)
            / t.target
        ) as projected_rate
    from campaign_at ca
    join next_milestone n on n.as_of = ca.as_of
    cross join ranked r
    join targets t on t.as_of = ca.as_of and t.unit_id = r.unit_id
    left join progress p on p.as_of = ca.as_of and p.unit_id = r.unit_id
    where t.target > 0 and ca.window_days >= 7
)
select
    as_of,
    unit_id,
    unit_id as owner_id,
    '' as subject,
    projected_rate,
    target_share,
    due_date as deadline,
    case when days_left > 0
        then greatest(0.0, target_share * target - covered) / days_left end as daily_needed
from projected
where projected_rate < target_share - 1e-12
  and not (covered >= target_share * target - 1e-9)
order by as_of, level_pos, unit_id
