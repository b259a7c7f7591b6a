{{
    config(
        materialized=rebuild_materialization(),
        incremental_strategy='replace_rebuilt_range',
        rebuild_days='business',
        rebuild_column='day_key',
        on_schema_change='fail',
        indexes=[
            {'columns': ['day_key']},
            {'columns': ['event_key', 'occurred_at']},
            {'columns': ['synced_at']},
        ],
    )
}}

{#
    One row per tracking fact: every loaded custom event up to as_of that no exclusion rule
    removed (those are in tracking_event_exclusion), with daily_login reduced to the first one
    per user and business day (id daily-login:{user_id}:{day_key}). Incremental: every run
    deletes and rebuilds the business days >= the first rebuilt day, reading raw events from
    that day's first instant (tracking_rebuild_from_ts).
#}

with

events as (

    {{ tracking_classified_events_to_build("exclusion_reason is null and event_key <> 'daily_login'") }}

),

daily_logins as (

    {{ tracking_classified_events_to_build("exclusion_reason is null and event_key = 'daily_login'") }}

),

ranked_daily_logins as (

    select
        *,
        row_number() over (
            partition by user_id, day_key
            order by occurred_at, source_event_id
        ) as login_rank
    from daily_logins

),

facts as (

    select
        source_event_id as event_id,
        event_key,
        scope_kind,
        scope_id,
        user_id,
        owner_user_id,
        profile_id,
        module_key,
        metadata_json,
        occurred_at,
        day_key,
        source_event_id
    from events

    union all

    select
        {{ tracking_daily_login_event_id('user_id', 'day_key') }} as event_id,
        event_key,
        scope_kind,
        scope_id,
        user_id,
        owner_user_id,
        profile_id,
        module_key,
        metadata_json,
        occurred_at,
        day_key,
        source_event_id
    from ranked_daily_logins
    where login_rank = 1

),

final as (

    select
        event_id,
        event_key,
        scope_kind,
        scope_id,
        user_id,
        owner_user_id,
        profile_id,
        module_key,
        metadata_json,
        occurred_at,
        day_key,
        source_event_id,
        {{ course_sync_time_ts() }} as synced_at
    from facts

)

select * from final
