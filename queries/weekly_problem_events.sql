-- weekly_problem_events: every problem of $scope_id's subtree with an event in the week
-- $week_start..$week_end — found, rectified, or newly overdue (its first overdue day,
-- greatest(deadline + 1, found_on), falls in the week and it was not rectified by then) —
-- with its 属地 unit and 责任单位, and whether it is still open at $week_end.
-- params: $scope_id, $week_start, $week_end
with members as (
    select descendant_id as member_id
    from unit_tree
    where ancestor_id = $scope_id
),
scoped as (
    select p.*, greatest(p.deadline + 1, p.found_on) as overdue_from
    from problems p
    where p.found_on <= $week_end
      and (p.unit_id in (select member_id from members)
           or p.dept_id in (select member_id from members))
),
events as (
    select
        s.*,
        s.found_on between $week_start and $week_end as is_new,
        coalesce(s.rectified_on between $week_start and $week_end, false) as is_rectified,
        s.overdue_from between $week_start and $week_end
            and not coalesce(s.rectified_on <= s.overdue_from, false) as is_newly_overdue
    from scoped s
)
select
    e.problem_id,
    e.found_on,
    e.source,
    e.severity,
    e.category,
    e.description,
    e.deadline,
    e.rectified_on,
    e.is_new,
    e.is_rectified,
    e.is_newly_overdue,
    not coalesce(e.rectified_on <= $week_end, false) as open_at_week_end,
    e.unit_id,
    tu.name as unit_name,
    e.dept_id,
    du.name as dept_name
from events e
join units tu on tu.unit_id = e.unit_id
left join units du on du.unit_id = e.dept_id
where e.is_new or e.is_rectified or e.is_newly_overdue
order by e.deadline, e.problem_id
