-- units_in_scope: every unit under $scope_id (itself included), with its depth below it.
-- params: $scope_id
select u.unit_id, u.name, u.kind, u.parent_id, u.sort_order, u.target_score, t.depth
from unit_tree t
join units u on u.unit_id = t.descendant_id
where t.ancestor_id = $scope_id
order by t.depth, u.sort_order, u.unit_id
