-- rectification_counts: the counts behind 整改率, 按期整改率, 逾期, 销号率 and 反弹 for each
-- unit ranked at $level under $scope_id ($level = 'self' means the scope unit itself).
-- A problem belongs to a unit when its 属地 unit or its 责任单位 lies in the unit's subtree.
-- params: $scope_id, $level, $as_of
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
attributed as (
    select m.rank_unit_id, p.problem_id
    from members m
    join problems p on p.unit_id = m.member_id
    where p.found_on <= $as_of
    union
    select m.rank_unit_id, p.problem_id
    from members m
    join problems p on p.dept_id = m.member_id
    where p.found_on <= $as_of
),
facts as (
    select
        a.rank_unit_id,
        p.problem_id,
        p.severity,
        coalesce(p.rectified_on <= $as_of, false) as is_rectified,
        p.deadline <= $as_of as is_due,
        coalesce(p.rectified_on <= p.deadline, false) as is_on_time,
        p.deadline < $as_of and not coalesce(p.rectified_on <= $as_of, false) as is_overdue,
        coalesce(p.closed_on <= $as_of, false) as is_closed,
        (q.problem_id is not null) as is_rebound
    from attributed a
    join problems p on p.problem_id = a.problem_id
    left join problems q
      on q.problem_id = p.rebound_of
     and q.point_id = p.point_id
     and p.found_on - q.found_on between 0 and 90
)
select
    r.unit_id,
    count(f.problem_id) as found,
    count(*) filter (where f.is_rectified) as rectified,
    count(*) filter (where f.is_due) as due,
    count(*) filter (where f.is_due and f.is_on_time) as rectified_on_time,
    count(*) filter (where f.is_overdue) as overdue,
    count(*) filter (where f.is_overdue and f.severity = 'severe') as overdue_severe,
    count(*) filter (where f.is_closed) as closed,
    count(*) filter (where f.is_rebound) as rebounds
from ranked r
left join facts f on f.rank_unit_id = r.unit_id
group by r.unit_id
order by r.unit_id
