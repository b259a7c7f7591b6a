-- The latest facts of one event key, newest first.
-- vars: analysis_event_key (default: every key), analysis_limit (default 100)

{% set event_key = var('analysis_event_key', none) %}

select
    event_id,
    event_key,
    scope_kind,
    scope_id,
    user_id,
    module_key,
    day_key,
    occurred_at,
    metadata_json
from {{ ref('tracking_event') }}
{% if event_key is not none %}
    where event_key = '{{ event_key | replace("'", "''") }}'
{% endif %}
order by 8 desc, 1 desc
limit {{ var('analysis_limit', 100) | int }}
