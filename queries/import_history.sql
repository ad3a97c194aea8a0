-- import_history: recorded imports, newest first (rejected attempts are kept outside the
-- snapshot, in the side log importer.rejected_log_path, and added by importer.import_history).
-- params: $n (how many)
select
    import_id,
    table_name,
    file_name,
    rows,
    rows_added,
    rows_updated,
    "at",
    by_user,
    checksum,
    result,
    0 as errors
from imports
order by "at" desc, import_id desc
limit $n
