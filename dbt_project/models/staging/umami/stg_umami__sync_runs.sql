with

source as (

    select * from {{ umami_source('sync_runs') }}

),

renamed as (

    select
        -- ids
        cast(run_id as text) as sync_run_id,
        cast(website_id as text) as website_id,

        -- strings
        cast(api_url as text) as api_url,

        -- numerics
        cast(requests as bigint) as request_count,
        cast(events_loaded as bigint) as events_loaded,
        cast(sessions_loaded as bigint) as sessions_loaded,
        cast(rows_rejected as bigint) as rows_rejected,

        -- timestamps (UTC)
        cast(as_of as timestamptz) as loaded_until_at,
        cast(read_start_at as timestamptz) as read_start_at,
        cast(read_end_at as timestamptz) as read_end_at,
        cast(started_at as timestamptz) as started_at,
        cast(finished_at as timestamptz) as finished_at,

        -- dlt
        cast(_dlt_load_id as text) as dlt_load_id,
        cast(_dlt_id as text) as dlt_id

    from source

)

select * from renamed
