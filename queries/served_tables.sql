-- served_tables: which served_ tables (dashboard/served.py, derived.sql) this snapshot holds
-- (an older release's snapshot has none until it is refreshed).
-- params: none
select table_name
from duckdb_tables()
where database_name = current_database() and table_name like 'served\_%' escape '\'
order by table_name
