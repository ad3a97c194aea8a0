-- meta: every key/value fact about this database file (schema_version, reference_date …).
-- params: none
select key, value
from meta
order by key
