with

source as (

    select * from {{ latest_copies(
        source('umami', 'window_property_values'),
        ['window_type', 'window_end_date', 'event_name', 'property_name'],
        whole_load=true,
    ) }}

),

renamed as (

    select
        -- keys
        cast(window_type as {{ dbt.type_string() }}) as window_type,
        cast(event_name as {{ dbt.type_string() }}) as event_name,
        cast(property_name as {{ dbt.type_string() }}) as property_name,
        cast(value as {{ dbt.type_string() }}) as property_value,

        -- dates (UTC, inclusive)
        cast(window_start_date as date) as window_start_date,
        cast(window_end_date as date) as window_end_date,

        -- numerics
        cast(total as bigint) as umami_events,

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
