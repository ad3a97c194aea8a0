-- trend_rectification: for the problems of $scope_id (属地 unit OR 责任单位 in its subtree,
-- as in rectification_counts.sql), how many enter each count of metrics.rectification on
-- each day up to $as_of (the derived table problem_daily, one row per day with any). A
-- count as of a day is the running sum over the days up to it, so
-- trends.rectification_series sums these into the numbers rectification_counts gives with
-- $as_of = that day:
--   found        found_on <= day
--   rectified    found_on <= day and rectified_on <= day
--   due          found_on <= day and deadline <= day
--   on_time      due and rectified_on <= deadline
--   overdue      found_on <= day and deadline < day and not rectified_on <= day
--                (= past_deadline − past_deadline_rectified)
-- params: $scope_id, $as_of
select
    day,
    found::bigint as found,
    rectified::bigint as rectified,
    due::bigint as due,
    on_time::bigint as on_time,
    past_deadline::bigint as past_deadline,
    past_deadline_rectified::bigint as past_deadline_rectified
from problem_daily
where unit_id = $scope_id and day <= $as_of
order by day
