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
    One row per loaded custom event up to as_of that is not a tracking fact, with the reason:
    the first exclusion rule that applies (int_tracking__events_classified), or
    duplicate_daily_login for a daily_login that is not the one kept for its user and business
    day. No metadata and no route: only what is needed to count and trace the event. Together
    with tracking_event it accounts for every loaded event. Incremental like tracking_event.
#}

with

excluded_events as (

    {{ tracking_classified_events_to_build("exclusion_reason is not null") }}

),

daily_logins as (

    {{ tracking_classified_events_to_build("exclusion_reason is null and event_key = 'daily_login'") }}

),

kept_daily_logins as (

    select source_event_id from {{ ref('tracking_event') }}
    where
        event_key = 'daily_login'
        {% if is_incremental() %}
            and day_key >= {{ tracking_rebuild_from_day_sql() }}
        {% endif %}

),

exclusions as (

    select
        source_event_id,
        event_key,
        exclusion_reason,
        user_id,
        occurred_at,
        day_key,
        cast(null as {{ dbt.type_string() }}) as duplicate_of_event_id
    from excluded_events

    union all

    select
        daily_logins.source_event_id,
        daily_logins.event_key,
        'duplicate_daily_login' as exclusion_reason,
        daily_logins.user_id,
        daily_logins.occurred_at,
        daily_logins.day_key,
        {{ tracking_daily_login_event_id('daily_logins.user_id', 'daily_logins.day_key') }}
            as duplicate_of_event_id
    from daily_logins
    left join kept_daily_logins
        on daily_logins.source_event_id = kept_daily_logins.source_event_id
    where kept_daily_logins.source_event_id is null

),

final as (

    select
        source_event_id,
        event_key,
        exclusion_reason,
        user_id,
        occurred_at,
        day_key,
        duplicate_of_event_id,
        {{ course_sync_time_ts() }} as synced_at
    from exclusions

)

select * from final
