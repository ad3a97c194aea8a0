-- indicator_lead_units: every unit that leads (牵头, indicators.lead_unit_id) an indicator —
-- the only units unit_owned_items can list items for (served.compute_each runs it for
-- each of them at the default date; every other unit owns none).
-- params: none
select distinct lead_unit_id as unit_id
from indicators
where lead_unit_id is not null
order by unit_id
