with

source as (

    select * from {{ latest_copies(
        source('umami', 'window_stats'), ['window_type', 'event_name', 'window_end_date']
    ) }}

),

renamed as (

    select
        -- keys
        cast(window_type as {{ dbt.type_string() }}) as window_type,
        cast(event_name as {{ dbt.type_string() }}) as event_name,

        -- dates (UTC, inclusive)
        cast(window_start_date as date) as window_start_date,
        cast(window_end_date as date) as window_end_date,

        -- numerics
        cast(events as bigint) as umami_events,
        cast(visitors as bigint) as umami_visitors,
        cast(visits as bigint) as umami_visits,

        -- timestamps (UTC, inclusive)
        cast(start_at as {{ type_instant() }}) as start_at,
        cast(end_at as {{ type_instant() }}) as end_at,
        cast(synced_at as {{ type_instant() }}) as synced_at,

        -- dlt
        cast(_dlt_load_id as {{ dbt.type_string() }}) as dlt_load_id,
        cast(_dlt_id as {{ dbt.type_string() }}) as dlt_id

    from source

)

select * from renamed
