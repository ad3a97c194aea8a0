-- flag_snapshot: the red flags precomputed when the snapshot was written (derived table
-- flag_snapshot, see dashboard/derived.sql) at one date, for the rules with fingerprint
-- $rules: every root unit's flags in priority order.
-- params: $day, $rules
select *
from flag_snapshot
where as_of = $day and rules = $rules
order by scope_id, rank
