-- flag_snapshot_evidence: the evidence (JSON text) of each of scope $scope_id's stored red
-- flags at one date, by the flag's rank in the scope (flag_snapshot.sql's rank): read when
-- one of the scope's flags served without it (flag_snapshot_rows.sql) is opened.
-- params: $day, $rules, $scope_id
select rank, evidence
from flag_snapshot
where as_of = $day and rules = $rules and scope_id = $scope_id
order by rank
