{#
    Every event key of the catalog and every key loaded, with its fact and exclusion counts:
    catalogued keys never seen show 0 (coverage of the plan), loaded keys missing from the
    catalog show is_catalogued = false (they stay in tracking_event; a warn-severity test lists
    them).
#}

with

catalog as (

    select * from {{ ref('tracking_event_catalog') }}

),

fact_counts as (

    select
        event_key,
        sum(event_count) as fact_count,
        min(day_key) as first_day_key,
        max(day_key) as last_day_key
    from {{ ref('tracking_daily_stat') }}
    group by 1

),

exclusion_counts as (

    select
        event_key,
        count(*) as exclusion_count
    from {{ ref('tracking_event_exclusion') }}
    group by 1

),

event_keys as (

    select event_key from catalog
    union
    select event_key from fact_counts
    union
    select event_key from exclusion_counts

),

final as (

    select
        event_keys.event_key,
        catalog.event_key is not null as is_catalogued,
        catalog.module as catalog_module,
        catalog.scope_kind as catalog_scope_kind,
        cast(coalesce(fact_counts.fact_count, 0) as bigint) as fact_count,
        cast(coalesce(exclusion_counts.exclusion_count, 0) as bigint) as exclusion_count,
        fact_counts.first_day_key,
        fact_counts.last_day_key,
        {{ course_sync_time_ts() }} as synced_at
    from event_keys
    left join catalog
        on event_keys.event_key = catalog.event_key
    left join fact_counts
        on event_keys.event_key = fact_counts.event_key
    left join exclusion_counts
        on event_keys.event_key = exclusion_counts.event_key

)

select * from final
