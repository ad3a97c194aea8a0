-- served_slots: which (query, day, campaign, test) the snapshot's served_ tables hold
-- (dashboard/served.py); a request for anything else runs its query.
-- params: none
select query, as_of, campaign_id, assessment_id
from served_slots
order by query, as_of, campaign_id, assessment_id
