with

source as (

    select * from {{ latest_copies(source('umami', 'sessions'), ['session_id']) }}

),

renamed as (

    select
        -- ids
        cast(session_id as {{ dbt.type_string() }}) as session_id,
        cast(website_id as {{ dbt.type_string() }}) as website_id,
        cast(distinct_id as {{ dbt.type_string() }}) as distinct_id,

        -- booleans
        cast(found as boolean) as is_found,

        -- timestamps (UTC)
        cast(first_at as {{ type_instant() }}) as first_seen_at,
        cast(fetched_at as {{ type_instant() }}) as fetched_at,

        -- dlt
        cast(_dlt_load_id as {{ dbt.type_string() }}) as dlt_load_id,
        cast(_dlt_id as {{ dbt.type_string() }}) as dlt_id

    from source

)

select * from renamed
