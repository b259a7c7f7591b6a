{{
    config(
        materialized=rebuild_materialization(),
        incremental_strategy='replace_rebuilt_range',
        rebuild_column='stat_date',
        on_schema_change='fail',
        indexes=[{'columns': ['stat_date']}],
    )
}}

{#
    Countable course visits per UTC day and course. Incremental: every run deletes and rebuilds
    the dates >= rebuild_from_date (rows that lost all visits disappear). Timestamps are the
    run's sync_time: created_at keeps the first write's, updated_at moves only when visit_count
    or visitor_count changed, synced_at is set on every rebuilt row.
#}

with

user_days as (

    select * from {{ ref('int_course_visits_aggregated_to_user_days') }}
    {% if is_incremental() %}
        where stat_date >= {{ course_rebuild_from_date_sql() }}
    {% endif %}

),

daily as (

    select
        stat_date,
        shifu_bid,
        sum(visit_count) as visit_count,
        count(*) as visitor_count
    from user_days
    group by 1, 2

),

{% if is_incremental() %}

    previous as (

        select * from {{ this }}
        where stat_date >= {{ course_rebuild_from_date_sql() }}

    ),

{% endif %}

final as (

    select
        {{ course_surrogate_key(['daily.stat_date', 'daily.shifu_bid', course_source_name()]) }} as id,
        daily.stat_date,
        daily.shifu_bid,
        cast(daily.visit_count as bigint) as visit_count,
        cast(daily.visitor_count as bigint) as visitor_count,
        {{ course_source_name() }} as source,
        {{ course_sync_time_ts() }} as synced_at,
        {% if is_incremental() %}
            coalesce(previous.created_at, {{ course_sync_time_ts() }}) as created_at,
            case
                when
                    previous.visit_count = daily.visit_count
                    and previous.visitor_count = daily.visitor_count
                    then previous.updated_at
                else {{ course_sync_time_ts() }}
            end as updated_at
        {% else %}
            {{ course_sync_time_ts() }} as created_at,
            {{ course_sync_time_ts() }} as updated_at
        {% endif %}
    from daily
    {% if is_incremental() %}
        left join previous
            on
                daily.stat_date = previous.stat_date
                and daily.shifu_bid = previous.shifu_bid
                and previous.source = {{ course_source_name() }}
    {% endif %}

)

select * from final
