-- trend_visits: per day and subject kind, for the units under $scope_id in campaign
-- $campaign_id up to $as_of: new distinct subjects (their first visit that day, so a running
-- sum is the coverage numerator), visits and platform-entered visits (from unit_visit_daily,
-- which already holds the sums over each unit's subtree).
-- params: $scope_id, $as_of, $campaign_id
select
    vd.day,
    vd.subject_kind,
    sum(vd.new_subjects)::bigint as new_subjects,
    sum(vd.visits)::bigint as visits,
    sum(vd.entered)::bigint as entered
from unit_visit_daily vd
where vd.unit_id = $scope_id and vd.campaign_id = $campaign_id and vd.day <= $as_of
group by all
order by vd.day, vd.subject_kind
