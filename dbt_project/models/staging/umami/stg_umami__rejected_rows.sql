with

source as (

    select * from {{ source('umami', 'rejected_rows') }}

),

renamed as (

    select
        -- ids
        cast(_dlt_id as {{ dbt.type_string() }}) as rejected_row_id,
        cast(run_id as {{ dbt.type_string() }}) as sync_run_id,

        -- strings
        cast(endpoint as {{ dbt.type_string() }}) as endpoint,
        cast(reason as {{ dbt.type_string() }}) as reason,

        -- json
        cast(payload as {{ type_json() }}) as payload,

        -- timestamps (UTC)
        cast(rejected_at as {{ type_instant() }}) as rejected_at,

        -- dlt
        cast(_dlt_load_id as {{ dbt.type_string() }}) as dlt_load_id

    from source

)

select * from renamed
