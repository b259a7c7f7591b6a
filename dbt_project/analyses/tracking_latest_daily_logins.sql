-- The latest daily_login facts (one per user and business day), newest first.
-- vars: analysis_limit (default 100)

select
    event_id,
    user_id,
    day_key,
    occurred_at,
    metadata_json
from {{ ref('tracking_event') }}
where event_key = 'daily_login'
order by 4 desc, 1 desc
limit {{ var('analysis_limit', 100) | int }}
