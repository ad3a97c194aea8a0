-- all_units: the whole unit list with parents, for pickers and breadcrumbs.
-- params: none
select u.unit_id, u.name, u.kind, u.parent_id, u.sort_order, u.target_score,
       p.name as parent_name, p.kind as parent_kind
from units u
left join units p on p.unit_id = u.parent_id
order by u.sort_order, u.unit_id
