-- flag_snapshot_rows: the red flags of scope $scope_id precomputed when the snapshot was
-- written (derived table flag_snapshot, see dashboard/derived.sql) at one date, for the
-- rules with fingerprint $rules, in priority order — flag_snapshot.sql's rows without their
-- evidence text: read once per snapshot and process, so a unit's flags on 本单位 are a
-- filter of its scope's rows in memory (flags.stored_subtree_frame). evidence_count as in
-- flag_snapshot.sql; the evidence itself is read when a flag's evidence is opened
-- (flag_snapshot_evidence.sql).
-- params: $day, $rules, $scope_id
select * exclude (evidence), json_array_length(evidence) as evidence_count
from flag_snapshot
where as_of = $day and rules = $rules and scope_id = $scope_id
order by rank
