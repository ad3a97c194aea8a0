-- coverage_counts: per unit ranked at $level under $scope_id and per subject kind, the
-- target, the distinct subjects covered by $as_of, new subjects in the 14 days ending
-- $as_of, visits and platform-entered visits (from the derived table visit_daily).
-- params: $scope_id, $level, $as_of, $campaign_id
with ranked as (
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
targets as (
    select m.rank_unit_id, vt.subject_kind, sum(vt.target) as target
    from members m
    join visit_targets vt on vt.unit_id = m.member_id and vt.campaign_id = $campaign_id
    group by all
),
progress as (
    select
        m.rank_unit_id,
        vd.subject_kind,
        sum(vd.new_subjects) as covered,
        sum(vd.new_subjects) filter (where vd.day > $as_of - interval 14 day) as new_last_14d,
        sum(vd.visits) as visits,
        sum(vd.entered) as entered
    from members m
    join visit_daily vd on vd.unit_id = m.member_id and vd.campaign_id = $campaign_id
    where vd.day <= $as_of
    group by all
)
select
    r.unit_id,
    k.subject_kind,
    coalesce(t.target, 0)::bigint as target,
    coalesce(p.covered, 0)::bigint as covered,
    coalesce(p.new_last_14d, 0)::bigint as new_last_14d,
    coalesce(p.visits, 0)::bigint as visits,
    coalesce(p.entered, 0)::bigint as entered
from ranked r
cross join (select distinct subject_kind from visit_targets where campaign_id = $campaign_id) k
left join targets t on t.rank_unit_id = r.unit_id and t.subject_kind = k.subject_kind
left join progress p on p.rank_unit_id = r.unit_id and p.subject_kind = k.subject_kind
order by r.unit_id, k.subject_kind
