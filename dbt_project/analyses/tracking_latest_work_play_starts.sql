-- The latest work_play_start facts, newest first: who played which work, in which play type.
-- vars: analysis_limit (default 100)

select
    event_id,
    scope_id as work_id,
    module_key as play_type,
    user_id as player_user_id,
    owner_user_id,
    profile_id,
    day_key,
    occurred_at,
    metadata_json
from {{ ref('tracking_event') }}
where event_key = 'work_play_start'
order by 8 desc, 1 desc
limit {{ var('analysis_limit', 100) | int }}
