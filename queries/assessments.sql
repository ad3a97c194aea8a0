-- assessments: every assessment with how many overall scores it has, newest first.
-- params: none
select
    a.*,
    (select count(*) from scores s where s.assessment_id = a.assessment_id and s.indicator_id is null)
        as overall_scores
from assessments a
order by a.start_date desc, a.assessment_id desc
