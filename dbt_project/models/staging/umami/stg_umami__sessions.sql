with

source as (

    select * from {{ source('umami', 'sessions') }}

),

renamed as (

    select
        -- ids
        cast(session_id as text) as session_id,
        cast(website_id as text) as website_id,
        cast(distinct_id as text) as distinct_id,

        -- booleans
        cast(found as boolean) as is_found,

        -- timestamps (UTC)
        cast(first_at as timestamptz) as first_seen_at,
        cast(fetched_at as timestamptz) as fetched_at,

        -- dlt
        cast(_dlt_load_id as text) as dlt_load_id,
        cast(_dlt_id as text) as dlt_id

    from source

)

select * from renamed
