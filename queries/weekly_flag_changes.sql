-- weekly_flag_changes: every precomputed scope's red flags (flag_snapshot, rules
-- fingerprint $rules) at the week's end $week_end against the previous week's end
-- $prev_as_of, matched within the scope on the flag's key (rule, unit, owner, subject):
-- 'appeared' (only at the week's end), 'stayed' (at both) — these rows as the flag is at
-- the week's end — and 'cleared' (only at the previous week's end, as it was then). Each
-- flag's fields but its evidence, and its scope last. Scope by scope, rows at the week's
-- end first, then the cleared ones, each in priority order (rank); dashboard/weekly.py
-- reads it once per snapshot and week and orders a scope's rows for the page.
-- params: $rules, $week_end, $prev_as_of
with now as (
    select * from flag_snapshot
    where as_of = $week_end and rules = $rules
),
before as (
    select * from flag_snapshot
    where as_of = $prev_as_of and rules = $rules
),
changes as (
    select
        case when exists (
            select 1 from before b
            where b.scope_id = n.scope_id
              and b.rule_id = n.rule_id and b.unit_id = n.unit_id
              and b.owner_id is not distinct from n.owner_id and b.subject = n.subject
        ) then 'stayed' else 'appeared' end as status,
        0 as part,
        n.*
    from now n
    union all
    select 'cleared' as status, 1 as part, b.*
    from before b
    where not exists (
        select 1 from now n
        where n.scope_id = b.scope_id
          and n.rule_id = b.rule_id and n.unit_id = b.unit_id
          and n.owner_id is not distinct from b.owner_id and n.subject = b.subject
    )
)
select
    status, rule_id, rule_name, severity, unit_id, unit_name, owner_id, owner_name, metric,
    value_text, deadline, weeks_red, priority, subject, scope_id
from changes
order by scope_id, part, rank
