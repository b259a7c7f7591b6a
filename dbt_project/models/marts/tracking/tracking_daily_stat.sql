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
    tracking_event counted per business day, event key and scope. Incremental: every run
    deletes and rebuilds the business days >= the first rebuilt day from the facts of those
    days (tracking_event has just rebuilt them), so the counts reconcile exactly with the facts.
#}

with

facts as (

    select * from {{ ref('tracking_event') }}
    {% if is_incremental() %}
        where day_key >= {{ tracking_rebuild_from_day_sql() }}
    {% endif %}

),

daily as (

    select
        day_key,
        event_key,
        scope_kind,
        scope_id,
        count(*) as event_count,
        count(distinct user_id) as distinct_user_count
    from facts
    group by 1, 2, 3, 4

),

final as (

    select
        {{ course_surrogate_key(['day_key', 'event_key', 'scope_kind', 'scope_id']) }} as daily_stat_id,
        day_key,
        event_key,
        scope_kind,
        scope_id,
        cast(event_count as bigint) as event_count,
        cast(distinct_user_count as bigint) as distinct_user_count,
        {{ course_sync_time_ts() }} as synced_at
    from daily

)

select * from final
