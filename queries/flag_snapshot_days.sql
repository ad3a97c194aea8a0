-- flag_snapshot_days: the evaluations the snapshot holds in flag_snapshot (see
-- dashboard/derived.sql): each date with the fingerprint of the rules it was computed with.
-- params: none
select distinct as_of, rules
from flag_snapshot
order by as_of, rules
