-- trend_indicators: the leaf indicators of the 测评体系 (items without children), with their
-- category, weight and target, in code order — the choices for a per-indicator trend.
-- params: none
select i.indicator_id, i.code, i.name, i.category, i.weight, i.target
from indicators i
where i.parent_id is not null
  and not exists (select 1 from indicators c where c.parent_id = i.indicator_id)
order by i.category, i.code
