-- trend_visits: per day, for the units under $scope_id in campaign $campaign_id up to
-- $as_of, of subject kind $subject_kind (NULL: every kind, summed): new distinct subjects
-- (their first visit that day, so a running sum is the coverage numerator), visits and
-- platform-entered visits (from unit_visit_daily, which already holds the sums over each
-- unit's subtree).
-- $scope_id NULL: every unit's rows, by unit (trends._every_visit_day, read once per
-- snapshot at the default date; a unit's rows are its slice, in the same order).
-- params: $scope_id, $as_of, $campaign_id, $subject_kind
select
    vd.unit_id,
    vd.day,
    sum(vd.new_subjects)::bigint as new_subjects,
    sum(vd.visits)::bigint as visits,
    sum(vd.entered)::bigint as entered
from unit_visit_daily vd
where ($scope_id is null or vd.unit_id = $scope_id)
  and vd.campaign_id = $campaign_id
  and vd.day <= $as_of
  and ($subject_kind is null or vd.subject_kind = $subject_kind)
group by vd.unit_id, vd.day
order by vd.unit_id, vd.day
