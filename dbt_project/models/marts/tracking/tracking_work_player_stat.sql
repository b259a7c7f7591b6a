{#
    All-time plays (work_play_start facts) and exact distinct players per work, with the
    work's latest known play type and owner. "How many distinct users played this work" is
    player_count. Rebuilt in full every run from tracking_event (index on event_key).
#}

with

plays as (

    select * from {{ ref('tracking_event') }}
    where event_key = 'work_play_start'

),

works as (

    select
        scope_id as work_id,
        {{ last_non_null('module_key', ['occurred_at', 'event_id']) }} as play_type,
        {{ last_non_null('owner_user_id', ['occurred_at', 'event_id']) }} as owner_user_id,
        count(*) as play_count,
        count(distinct user_id) as player_count,
        count(*) filter (where user_id is null) as guest_play_count,
        min(occurred_at) as first_played_at,
        max(occurred_at) as last_played_at,
        min(day_key) as first_day_key,
        max(day_key) as last_day_key
    from plays
    group by 1

),

final as (

    select
        work_id,
        play_type,
        owner_user_id,
        cast(play_count as bigint) as play_count,
        cast(player_count as bigint) as player_count,
        cast(guest_play_count as bigint) as guest_play_count,
        first_played_at,
        last_played_at,
        first_day_key,
        last_day_key,
        {{ course_sync_time_ts() }} as synced_at
    from works

)

select * from final
