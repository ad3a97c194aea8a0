-- coverage_counts: per unit ranked at $level under $scope_id and per subject kind, the
-- target, the distinct subjects covered by as_of, new subjects in the 14 days ending
-- as_of, visits and platform-entered visits, for each day as_of of $days (a DATE[]) (from the derived table unit_visit_daily,
-- visit_daily rolled up to every unit's subtree).
-- params: $scope_id, $level, $days, $campaign_id
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
targets as (
    select r.unit_id as rank_unit_id, vt.subject_kind, sum(vt.target) as target
    from ranked r
    join unit_tree t on t.ancestor_id = r.unit_id
    join visit_targets vt on vt.unit_id = t.descendant_id and vt.campaign_id = $campaign_id
    group by all
),
progress as (
    select
        days.as_of,
        vd.unit_id as rank_unit_id,
        vd.subject_kind,
        sum(vd.new_subjects) as covered,
        sum(vd.new_subjects) filter (where vd.day > days.as_of - interval 14 day) as new_last_14d,
        sum(vd.visits) as visits,
        sum(vd.entered) as entered
    from unit_visit_daily vd
    join days on vd.day <= days.as_of
    where vd.unit_id in (select unit_id from ranked)
      and vd.campaign_id = $campaign_id
    group by all
)
select
    days.as_of,
    r.unit_id,
    k.subject_kind,
    coalesce(t.target, 0)::bigint as target,
    coalesce(p.covered, 0)::bigint as covered,
    coalesce(p.new_last_14d, 0)::bigint as new_last_14d,
    coalesce(p.visits, 0)::bigint as visits,
    coalesce(p.entered, 0)::bigint as entered
from days
cross join ranked r
cross join (select distinct subject_kind from visit_targets where campaign_id = $campaign_id) k
left join targets t on t.rank_unit_id = r.unit_id and t.subject_kind = k.subject_kind
left join progress p
    on p.as_of = days.as_of and p.rank_unit_id = r.unit_id and p.subject_kind = k.subject_kind
order by days.as_of, r.unit_id, k.subject_kind
