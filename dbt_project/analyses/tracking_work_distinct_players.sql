-- Distinct players of one work: count(distinct user_id) over its work_play_start facts (guests
-- are plays, not players). vars: analysis_work_id (the work's scope_id; default: every work,
-- most players first).

{% set work_id = var('analysis_work_id', none) %}
{% set work_filter = 'true' if work_id is none else "scope_id = '" ~ (work_id | replace("'", "''")) ~ "'" %}

select
    scope_id as work_id,
    count(distinct user_id) as distinct_players,
    count(*) as plays,
    min(occurred_at) as first_played_at,
    max(occurred_at) as last_played_at
from {{ ref('tracking_event') }}
where
    event_key = 'work_play_start'
    and {{ work_filter }}
group by 1
order by 2 desc, 1
