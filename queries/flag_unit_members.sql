-- flag_unit_members: for every unit under $scope_id (itself included), each unit in its
-- own subtree — used to attribute evidence rows (problems, ledger lines) to the unit a
-- flag names.
-- params: $scope_id
select t.ancestor_id as unit_id, t.descendant_id as member_id
from unit_tree t
where t.ancestor_id in (select descendant_id from unit_tree where ancestor_id = $scope_id)
order by t.ancestor_id, t.descendant_id
