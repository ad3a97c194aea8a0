-- trend_rectification: the counts behind metrics.rectification (整改率, 按期整改率, 逾期)
-- evaluated at the end of every day from $start_date (or the day before the first problem,
-- if later) to $as_of, for the problems of
-- $scope_id (属地 unit OR 责任单位 in its subtree, as in rectification_counts.sql).
-- Each count is a running sum of the day a problem first enters it (the derived table
-- problem_daily), so one pass gives every day and the numbers equal rectification_counts
-- run with $as_of = that day:
--   found        found_on <= day
--   rectified    found_on <= day and rectified_on <= day
--   due          found_on <= day and deadline <= day
--   on_time      due and rectified_on <= deadline
--   overdue      found_on <= day and deadline < day and not rectified_on <= day
--                (= past_deadline − past_deadline_rectified)
-- params: $scope_id, $start_date, $as_of
with per_day as (
    -- problem_daily (derived.sql) holds, per unit and day, the problems entering each count
    select
        day,
        found,
        rectified,
        due,
        on_time,
        past_deadline,
        past_deadline_rectified
    from problem_daily
    where unit_id = $scope_id and day <= $as_of
),
first_found as (
    select min(day) filter (where found > 0) as day from problem_daily where unit_id = $scope_id
),
spine as (
    -- no earlier than the day before the first problem: all counts are zero before it
    select unnest(generate_series(
        greatest(
            $start_date::date,
            coalesce((select day from first_found where day <= $as_of), $as_of::date) - 1
        ),
        $as_of::date,
        interval 1 day
    ))::date as day
),
timeline as (
    select
        coalesce(s.day, d.day) as day,
        s.day is not null as on_spine,
        coalesce(d.found, 0) as found,
        coalesce(d.rectified, 0) as rectified,
        coalesce(d.due, 0) as due,
        coalesce(d.on_time, 0) as on_time,
        coalesce(d.past_deadline, 0) as past_deadline,
        coalesce(d.past_deadline_rectified, 0) as past_deadline_rectified
    from spine s
    full join per_day d on d.day = s.day
),
running as (
    select
        day,
        on_spine,
        sum(found) over w as found,
        sum(rectified) over w as rectified,
        sum(due) over w as due,
        sum(on_time) over w as rectified_on_time,
        sum(past_deadline) over w - sum(past_deadline_rectified) over w as overdue
    from timeline
    window w as (order by day rows between unbounded preceding and current row)
)
select
    day,
    found::bigint as found,
    rectified::bigint as rectified,
    due::bigint as due,
    rectified_on_time::bigint as rectified_on_time,
    overdue::bigint as overdue
from running
where on_spine
order by day
