-- A roll-up through analytics_date_dimension: facts and exact distinct users per ISO week and
-- event key (swap iso_week_key for month_key, quarter_key or year_key). Newest week first.
-- vars: analysis_event_key (default: every key)

{% set event_key = var('analysis_event_key', none) %}

select
    dates.iso_week_key,
    dates.iso_week_start_date,
    facts.event_key,
    count(*) as event_count,
    count(distinct facts.user_id) as distinct_users
from {{ ref('tracking_event') }} as facts
inner join {{ ref('analytics_date_dimension') }} as dates
    on facts.day_key = dates.day_key
{% if event_key is not none %}
    where facts.event_key = '{{ event_key | replace("'", "''") }}'
{% endif %}
group by 1, 2, 3
order by 2 desc, 3
