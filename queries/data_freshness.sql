-- data_freshness: per importable table (dashboard/import_specs.SPECS, in its order): row
-- count, latest business date (the column import_specs.DATE_COLUMN names; NULL for tables
-- without one) and the last successful import of it — or of a whole snapshot written at once
-- ('all', the demo generator). tests/test_importer.py checks the list against SPECS.
-- params: none
with tables as (
    select 'problems' as kind, 'problems' as table_name, count(*) as rows,
           max(found_on) as latest_date
    from problems
    union all
    select 'visits' as kind, 'visits' as table_name, count(*) as rows,
           max(visited_on) as latest_date
    from visits
    union all
    select 'visit_targets' as kind, 'visit_targets' as table_name, count(*) as rows,
           null::date as latest_date
    from visit_targets
    union all
    select 'scores' as kind, 'scores' as table_name, count(*) as rows,
           null::date as latest_date
    from scores
    union all
    select 'assessments' as kind, 'assessments' as table_name, count(*) as rows,
           max(start_date) as latest_date
    from assessments
    union all
    select 'materials' as kind, 'materials' as table_name, count(*) as rows,
           max(updated_on) as latest_date
    from materials
    union all
    select 'points' as kind, 'points' as table_name, count(*) as rows,
           null::date as latest_date
    from points
    union all
    select 'point_checks' as kind, 'point_checks' as table_name, count(*) as rows,
           max(checked_on) as latest_date
    from point_checks
    union all
    select 'units' as kind, 'units' as table_name, count(*) as rows,
           null::date as latest_date
    from units
)
select
    t.kind,
    t.table_name,
    t.rows,
    (
        select max(i."at")
        from imports i
        where i.table_name in (t.table_name, 'all') and i.result = 'ok'
    ) as last_import,
    t.latest_date
from tables t
