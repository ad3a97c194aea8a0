-- trend_rectification: for the problems of $scope_id (属地 unit OR 责任单位 in its subtree,
-- as in rectification_counts.sql), how many enter each count of metrics.rectification on
-- each day from $since to $as_of (the derived table problem_daily, one row per day with
-- any), and on the day before $since how many entered it on any day up to then (one row:
-- the days before the series shown, summed). A count as of a day on or after the day
-- before $since is the running sum over the rows up to it, so
-- trends.rectification_series sums these into the numbers rectification_counts gives with
-- $as_of = that day:
--   found        found_on <= day
--   rectified    found_on <= day and rectified_on <= day
--   due          found_on <= day and deadline <= day
--   on_time      due and rectified_on <= deadline
--   overdue      found_on <= day and deadline < day and not rectified_on <= day
--                (= past_deadline − past_deadline_rectified)
-- $scope_id NULL: every unit's rows, by unit (trends._every_rectification, read once per
-- snapshot at the default date; a unit's rows are its slice, in the same order).
-- params: $scope_id, $as_of, $since
select
    unit_id,
    greatest(day, $since - 1) as day,
    sum(found)::bigint as found,
    sum(rectified)::bigint as rectified,
    sum(due)::bigint as due,
    sum(on_time)::bigint as on_time,
    sum(past_deadline)::bigint as past_deadline,
    sum(past_deadline_rectified)::bigint as past_deadline_rectified
from problem_daily
where ($scope_id is null or unit_id = $scope_id) and day <= $as_of
group by all
order by unit_id, day
