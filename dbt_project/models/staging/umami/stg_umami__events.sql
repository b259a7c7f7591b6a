with

source as (

    select * from {{ latest_copies(source('umami', 'events'), ['event_id']) }}

),

renamed as (

    select
        -- ids
        cast(event_id as {{ dbt.type_string() }}) as event_id,
        cast(website_id as {{ dbt.type_string() }}) as website_id,
        cast(session_id as {{ dbt.type_string() }}) as session_id,

        -- strings
        cast(event_name as {{ dbt.type_string() }}) as event_name,
        cast(url_path as {{ dbt.type_string() }}) as url_path,

        -- booleans
        cast(has_data as boolean) as has_data,

        -- properties, as Umami stores them (one row per key: stg_umami__event_properties)
        cast(properties as {{ type_json() }}) as properties,

        -- timestamps (UTC)
        cast(created_at as {{ type_instant() }}) as event_at,
        cast(loaded_at as {{ type_instant() }}) as loaded_at,

        -- dlt (events arrive as arrow tables: no _dlt_id)
        cast(_dlt_load_id as {{ dbt.type_string() }}) as dlt_load_id

    from source

)

select * from renamed
