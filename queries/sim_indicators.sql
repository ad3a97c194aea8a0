-- sim_indicators: the scored items of the 测评体系 for the 测算 engine — leaf indicators
-- (items without children) with their category, weight (points in a 100-point test),
-- target (score rate %), owning department and static/dynamic flag, in code order.
-- params: none
select i.indicator_id, i.code, i.name, i.category, i.weight, i.target, i.lead_unit_id,
    i.is_static
from indicators i
where i.parent_id is not null
  and not exists (select 1 from indicators c where c.parent_id = i.indicator_id)
order by i.category, i.code
