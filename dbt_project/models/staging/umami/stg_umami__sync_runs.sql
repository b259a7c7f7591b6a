with

source as (

    select * from {{ source('umami', 'sync_runs') }}

),

renamed as (

    select
        -- ids
        cast(run_id as {{ dbt.type_string() }}) as sync_run_id,
        cast(website_id as {{ dbt.type_string() }}) as website_id,

        -- strings
        cast(api_url as {{ dbt.type_string() }}) as api_url,

        -- timestamps (UTC)
        cast(as_of as {{ type_instant() }}) as loaded_until_at,
        cast(read_start_at as {{ type_instant() }}) as read_start_at,
        cast(read_end_at as {{ type_instant() }}) as read_end_at,
        cast(started_at as {{ type_instant() }}) as started_at,

        -- dlt
        cast(_dlt_load_id as {{ dbt.type_string() }}) as dlt_load_id,
        cast(_dlt_id as {{ dbt.type_string() }}) as dlt_id

    from source

)

select * from renamed
