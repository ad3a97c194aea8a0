-- unit_display_names: every unit's name as shown — with its parents in （） where the name
-- repeats (文苑社区（和平街道）) — computed when the snapshot is written (derived.sql).
-- params: none
select unit_id, display_name
from unit_display_names
order by unit_id
