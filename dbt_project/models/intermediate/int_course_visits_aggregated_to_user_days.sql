{{
    config(
        materialized=rebuild_materialization(),
        incremental_strategy='replace_rebuilt_range',
        rebuild_column='stat_date',
        on_schema_change='fail',
        indexes=[{'columns': ['stat_date', 'shifu_bid']}],
    )
}}

{#
    One row per (UTC stat_date, course, user) with at least one countable visit up to as_of.
    Incremental: each run deletes and rebuilds the dates >= rebuild_from_date, reading raw
    events through a created_at range predicate. Daily and window marts count from here:
    distinct users over any window = count(distinct user_id) over these rows.
#}

with

countable_visits as (

    select * from {{ ref('int_course_visits_classified') }}
    where
        visit_class = 'countable'
        and event_at <= {{ course_as_of_ts() }}
        {% if is_incremental() %}
            and event_at >= {{ course_rebuild_from_ts() }}
        {% endif %}

),

aggregated as (

    select
        stat_date,
        shifu_bid,
        user_id,
        count(*) as visit_count,
        min(event_at) as first_visit_at,
        max(event_at) as last_visit_at
    from countable_visits
    group by 1, 2, 3

),

final as (

    select
        {{ course_surrogate_key(['stat_date', 'shifu_bid', 'user_id']) }} as user_day_id,
        stat_date,
        shifu_bid,
        user_id,
        visit_count,
        first_visit_at,
        last_visit_at
    from aggregated

)

select * from final
