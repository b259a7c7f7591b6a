-- Daily counts of one event key from tracking_daily_stat: facts and distinct users per
-- business day (distinct users summed over scopes can count a user twice; see
-- tracking_event for exact distinct users over a day). Newest day first.
-- vars: analysis_event_key (default: every key)

{% set event_key = var('analysis_event_key', none) %}

select
    day_key,
    event_key,
    sum(event_count) as event_count,
    count(*) as scope_count,
    max(distinct_user_count) as max_distinct_users_in_one_scope
from {{ ref('tracking_daily_stat') }}
{% if event_key is not none %}
    where event_key = '{{ event_key | replace("'", "''") }}'
{% endif %}
group by 1, 2
order by 1 desc, 2
