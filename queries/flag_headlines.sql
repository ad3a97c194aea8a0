-- flag_headlines: the meeting board's headline flags of scope $scope_id from the flags
-- precomputed when the snapshot was written (derived table flag_snapshot) at one date, for
-- the rules with fingerprint $rules: the first $n issues, an issue being the flags of one
-- rule and one 责任单位 (owner_id; none is an owner of its own), each given by its
-- highest-priority flag (the lowest rank) with how many flags it stands for
-- (group_size), in priority order — what flags.headline_flags makes of the scope's
-- whole list, without reading the other flags.
-- evidence_count: as in flag_snapshot.sql.
-- params: $day, $rules, $scope_id, $n
with scoped as (
    select
        *,
        json_array_length(evidence) as evidence_count,
        min(rank) over (partition by rule_id, owner_id) as group_first,
        count(*) over (partition by rule_id, owner_id) as group_size
    from flag_snapshot
    where as_of = $day and rules = $rules and scope_id = $scope_id
)
select * exclude (group_first)
from scoped
where rank = group_first
order by rank
limit $n
