-- flag_snapshot: the red flags of scope $scope_id precomputed when the snapshot was
-- written (derived table flag_snapshot, see dashboard/derived.sql) at one date, for the
-- rules with fingerprint $rules, in priority order.
-- evidence_count: how many evidence rows each flag has (a table shows the count; the rows
-- are decoded only when opened).
-- params: $day, $rules, $scope_id
select *, json_array_length(evidence) as evidence_count
from flag_snapshot
where as_of = $day and rules = $rules and scope_id = $scope_id
order by rank
