{#
    The warehouse's own raw totals beside Umami's aggregates, for the newest window of each
    window_type whose window_end_date <= as_of_date:
      window_events    all raw course_visit events in [start_at, end_at] (guests, previews,
                       any properties) vs Umami's /events/stats `events`
      window_sessions  distinct raw session ids of those events vs Umami's `visitors`
      shifu_bid_events raw course_visit events per shifu_bid value, shown as Umami shows it
                       (numbers without ".0000", dates truncated to the hour), vs Umami's
                       /event-data/values `total`
                       (Umami lists the top 100 values only)
    is_closed: the loader has loaded past end_at (max sync_runs.as_of >= end_at).
#}

with

sync_runs as (

    select max(loaded_until_at) as loaded_until_at
    from {{ ref('stg_umami__sync_runs') }}

),

ranked_windows as (

    select
        *,
        row_number() over (
            partition by window_type, event_name
            order by window_end_date desc
        ) as recency_rank
    from {{ ref('stg_umami__window_stats') }}
    where
        event_name = 'course_visit'
        and window_end_date <= {{ course_as_of_date_sql() }}

),

windows as (

    select
        ranked_windows.*,
        sync_runs.loaded_until_at,
        coalesce(ranked_windows.end_at <= sync_runs.loaded_until_at, false) as is_closed
    from ranked_windows
    cross join sync_runs
    where ranked_windows.recency_rank = 1

),

-- the windows' span as constants for the planner: the events are then read by an index range
-- scan instead of a scan of the whole history
window_span as (

    select
        min(start_at) as first_at,
        max(end_at) as last_at
    from windows

),

window_events as (

    select
        windows.window_type,
        count(events.event_id) as warehouse_events,
        count(distinct events.session_id) as warehouse_sessions
    from windows
    left join {{ ref('stg_umami__events') }} as events
        on
            windows.event_name = events.event_name
            and events.event_at between windows.start_at and windows.end_at
            and events.event_at >= (select window_span.first_at from window_span)
            and events.event_at <= (select window_span.last_at from window_span)
    group by 1

),

umami_values as (

    select property_values.*
    from {{ ref('stg_umami__window_property_values') }} as property_values
    inner join windows
        on
            property_values.window_type = windows.window_type
            and property_values.window_end_date = windows.window_end_date
            and property_values.event_name = windows.event_name
    where property_values.property_name = 'shifu_bid'

),

umami_value_counts as (

    select
        window_type,
        count(*) as listed_values
    from umami_values
    group by 1

),

warehouse_values as (

    select
        windows.window_type,
        -- the value as /event-data/values shows it: numbers lose ".0000", dates are truncated
        -- to the hour and printed without milliseconds
        case
            when properties.data_type = 2 and right(properties.string_value, 5) = '.0000'
                then substring(properties.string_value, 1, length(properties.string_value) - 5)
            when properties.data_type = 4 and properties.date_value is not null
                then {{ utc_hour_text('properties.date_value') }}
            else properties.string_value
        end as property_value,
        count(*) as warehouse_events
    from windows
    -- only windows for which Umami's values were pulled: no rows there means "not asked"
    inner join umami_value_counts
        on windows.window_type = umami_value_counts.window_type
    inner join {{ ref('stg_umami__event_properties') }} as properties
        on
            windows.event_name = properties.event_name
            and properties.event_at between windows.start_at and windows.end_at
            and properties.event_at >= (select window_span.first_at from window_span)
            and properties.event_at <= (select window_span.last_at from window_span)
    where properties.property_key = 'shifu_bid'
    group by 1, 2

),

window_checks as (

    select
        'window_events' as check_name,
        windows.window_type,
        cast(null as {{ dbt.type_string() }}) as property_value,
        windows.umami_events as umami_count,
        window_events.warehouse_events as warehouse_count
    from windows
    inner join window_events on windows.window_type = window_events.window_type

    union all

    select
        'window_sessions' as check_name,
        windows.window_type,
        cast(null as {{ dbt.type_string() }}) as property_value,
        windows.umami_visitors as umami_count,
        window_events.warehouse_sessions as warehouse_count
    from windows
    inner join window_events on windows.window_type = window_events.window_type

),

value_checks as (

    select
        'shifu_bid_events' as check_name,
        coalesce(umami_values.window_type, warehouse_values.window_type) as window_type,
        coalesce(umami_values.property_value, warehouse_values.property_value) as property_value,
        umami_values.umami_events as umami_count,
        coalesce(warehouse_values.warehouse_events, 0) as warehouse_count
    from umami_values
    full outer join warehouse_values
        on
            umami_values.window_type = warehouse_values.window_type
            and umami_values.property_value = warehouse_values.property_value

),

checks as (

    select * from window_checks
    union all
    select * from value_checks

),

final as (

    select
        {{ course_surrogate_key([
            'checks.check_name', 'windows.window_type', 'windows.window_end_date', 'checks.property_value',
        ]) }} as reconciliation_id,
        checks.check_name,
        windows.window_type,
        windows.window_start_date,
        windows.window_end_date,
        windows.start_at,
        windows.end_at,
        checks.property_value,
        cast(checks.umami_count as bigint) as umami_count,
        cast(checks.warehouse_count as bigint) as warehouse_count,
        cast(checks.warehouse_count - checks.umami_count as bigint) as count_difference,
        windows.is_closed,
        case
            when checks.umami_count is null and coalesce(umami_value_counts.listed_values, 0) >= 100
                then 'not_in_umami_top_100'
            when coalesce(checks.umami_count, 0) = checks.warehouse_count then 'match'
            when checks.warehouse_count < coalesce(checks.umami_count, 0) then 'warehouse_fewer'
            else 'warehouse_more'
        end as status,
        windows.loaded_until_at,
        windows.synced_at as umami_synced_at
    from checks
    inner join windows on checks.window_type = windows.window_type
    left join umami_value_counts on checks.window_type = umami_value_counts.window_type

)

select * from final
