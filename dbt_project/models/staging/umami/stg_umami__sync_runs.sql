with

source as (

    select * from {{ source('umami', 'sync_runs') }}

),

renamed as (

    select
        -- ids
        cast(run_id as text) as sync_run_id,
        cast(website_id as text) as website_id,

        -- strings
        cast(api_url as text) as api_url,

        -- timestamps (UTC)
        cast(as_of as timestamptz) as loaded_until_at,
        cast(read_start_at as timestamptz) as read_start_at,
        cast(read_end_at as timestamptz) as read_end_at,
        cast(started_at as timestamptz) as started_at,

        -- dlt
        cast(_dlt_load_id as text) as dlt_load_id,
        cast(_dlt_id as text) as dlt_id

    from source

)

select * from renamed
