-- campaigns: every visit campaign with its milestones in date order (one row per
-- milestone; a campaign without milestones has one row with a null due_date). Small:
-- metrics.campaign_at picks the campaign in force at a date from it.
-- params: none
select c.campaign_id, c.name, c.start_date, c.end_date, m.due_date, m.target_share
from campaigns c
left join campaign_milestones m using (campaign_id)
order by c.campaign_id, m.due_date
