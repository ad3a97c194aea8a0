-- Derived tables: rebuilt from the base tables by dashboard/store.py every
-- time a snapshot is written (demo generation or import). Never edited by
-- hand, never imported. tests/test_derived.py checks each one against the
-- raw tables it summarises.
--
-- They exist for speed: a distinct count over all visits on every request is
-- over a second at province scale; these answer the same questions in
-- milliseconds at any as-of date.

-- unit_tree: the transitive closure of units.parent_id, including each unit
-- as its own descendant at depth 0. "Everything under X" is
--   select descendant_id from unit_tree where ancestor_id = X
create or replace table unit_tree as
with recursive walk(ancestor_id, descendant_id, depth) as (
    select unit_id, unit_id, 0 from units
    union all
    select w.ancestor_id, u.unit_id, w.depth + 1
    from walk w
    join units u on u.parent_id = w.descendant_id
)
select ancestor_id, descendant_id, depth from walk;

-- visit_daily: per campaign, unit, subject kind and day:
--   new_subjects  subjects whose FIRST visit in the campaign was that day
--                 (so a running sum is the distinct-subject coverage numerator)
--   visits        all visits that day (repeat visits included)
--   entered       of those, visits entered on the platform
create or replace table visit_daily as
with first_visit as (
    select campaign_id, unit_id, subject_kind, subject_id, min(visited_on) as first_on
    from visits
    group by all
),
new_per_day as (
    select campaign_id, unit_id, subject_kind, first_on as day, count(*) as new_subjects
    from first_visit
    group by all
),
visits_per_day as (
    select campaign_id, unit_id, subject_kind, visited_on as day,
           count(*) as visits,
           count(*) filter (where entered_on_platform) as entered
    from visits
    group by all
)
select
    coalesce(v.campaign_id, n.campaign_id) as campaign_id,
    coalesce(v.unit_id, n.unit_id) as unit_id,
    coalesce(v.subject_kind, n.subject_kind) as subject_kind,
    coalesce(v.day, n.day) as day,
    coalesce(n.new_subjects, 0)::bigint as new_subjects,
    coalesce(v.visits, 0)::bigint as visits,
    coalesce(v.entered, 0)::bigint as entered
from visits_per_day v
full join new_per_day n
  on n.campaign_id = v.campaign_id and n.unit_id = v.unit_id
 and n.subject_kind = v.subject_kind and n.day = v.day
order by campaign_id, unit_id, subject_kind, day;
