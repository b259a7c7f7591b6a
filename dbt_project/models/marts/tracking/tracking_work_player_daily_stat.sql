{{
    config(
        materialized=rebuild_materialization(),
        incremental_strategy='replace_rebuilt_range',
        rebuild_days='business',
        rebuild_column='day_key',
        on_schema_change='fail',
        indexes=[{'columns': ['day_key']}],
    )
}}

{#
    Plays (work_play_start facts) and distinct players per work and business day.
    Incremental like tracking_daily_stat. Distinct players over longer periods are not sums of
    these rows: see tracking_work_player_stat, or count distinct user_id in tracking_event.
#}

with

plays as (

    select * from {{ ref('tracking_event') }}
    where
        event_key = 'work_play_start'
        {% if is_incremental() %}
            and day_key >= {{ tracking_rebuild_from_day_sql() }}
        {% endif %}

),

daily as (

    select
        day_key,
        scope_id as work_id,
        count(*) as play_count,
        count(distinct user_id) as player_count,
        count(*) filter (where user_id is null) as guest_play_count
    from plays
    group by 1, 2

),

final as (

    select
        {{ course_surrogate_key(['day_key', 'work_id']) }} as work_player_daily_stat_id,
        day_key,
        work_id,
        cast(play_count as bigint) as play_count,
        cast(player_count as bigint) as player_count,
        cast(guest_play_count as bigint) as guest_play_count,
        {{ course_sync_time_ts() }} as synced_at
    from daily

)

select * from final
