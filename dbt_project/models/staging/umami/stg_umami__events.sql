with

source as (

    select * from {{ source('umami', 'events') }}

),

renamed as (

    select
        -- ids
        cast(event_id as text) as event_id,
        cast(website_id as text) as website_id,
        cast(session_id as text) as session_id,

        -- strings
        cast(event_name as text) as event_name,
        cast(url_path as text) as url_path,

        -- booleans
        cast(has_data as boolean) as has_data,

        -- properties, as Umami stores them (one row per key: stg_umami__event_properties)
        cast(properties as jsonb) as properties,

        -- timestamps (UTC)
        cast(created_at as timestamptz) as event_at,
        cast(loaded_at as timestamptz) as loaded_at,

        -- dlt (events arrive as arrow tables: no _dlt_id)
        cast(_dlt_load_id as text) as dlt_load_id

    from source

)

select * from renamed
