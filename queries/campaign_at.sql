-- campaign_at: the visit campaign in force at $as_of (running, else the latest started),
-- with its milestones in date order.
-- params: $as_of
with chosen as (
    select campaign_id
    from campaigns
    where start_date <= $as_of
    order by (end_date >= $as_of) desc, start_date desc, campaign_id desc
    limit 1
)
select c.campaign_id, c.name, c.start_date, c.end_date, m.due_date, m.target_share
from campaigns c
join chosen using (campaign_id)
left join campaign_milestones m using (campaign_id)
order by m.due_date
