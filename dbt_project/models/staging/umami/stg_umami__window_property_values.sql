with

source as (

    select * from {{ source('umami', 'window_property_values') }}

),

renamed as (

    select
        -- keys
        cast(window_type as text) as window_type,
        cast(event_name as text) as event_name,
        cast(property_name as text) as property_name,
        cast(value as text) as property_value,

        -- dates (UTC, inclusive)
        cast(window_start_date as date) as window_start_date,
        cast(window_end_date as date) as window_end_date,

        -- numerics
        cast(total as bigint) as umami_events,

        -- timestamps (UTC, inclusive)
        cast(start_at as timestamptz) as start_at,
        cast(end_at as timestamptz) as end_at,
        cast(synced_at as timestamptz) as synced_at,

        -- dlt
        cast(_dlt_load_id as text) as dlt_load_id,
        cast(_dlt_id as text) as dlt_id

    from source

)

select * from renamed
